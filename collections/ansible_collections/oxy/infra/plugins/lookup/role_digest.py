# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: role_digest
short_description: A digest of roles' own code and of the collections and Ansible that run it
version_added: 0.4.0
description:
  - Returns one SHA-256 over every file of the given roles of this collection (their relative paths and contents),
    the version of ansible-core and of the collections in O(collections), so that a digest of a converge's inputs
    changes when the code that converges changes, not only its variables (M(oxy.infra.converge_stamp)).
options:
  _terms:
    description: Role names of this collection.
    type: list
    elements: str
    required: true
  collections:
    description: Collections whose modules the roles use (their installed version is part of the digest).
    type: list
    elements: str
    default: []
  modules:
    description: Modules of this collection the roles use, by name (their source is part of the digest).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: The digest of docker_host's code
  ansible.builtin.debug:
    msg: "{{ lookup('oxy.infra.role_digest', 'api_stack', collections=['community.docker']) }}"
"""

RETURN = r"""
_raw:
  description: One hexadecimal SHA-256.
  type: list
  elements: str
"""

import hashlib
import importlib
import json
import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.lookup import LookupBase
from ansible.release import __version__ as ansible_version

ROLES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "roles"))
MODULES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "modules"))


def collection_version(name):
    """The version in an installed collection's MANIFEST.json, or '' when it is not installed."""
    if "." not in name:
        return ""
    namespace, collection = name.split(".", 1)
    try:
        package = importlib.import_module(f"ansible_collections.{namespace}.{collection}")
    except ImportError:
        return ""
    for folder in getattr(package, "__path__", []):
        manifest = os.path.join(folder, "MANIFEST.json")
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8") as handle:
                return json.load(handle).get("collection_info", {}).get("version", "")
    return ""


def role_digest(names, collections=(), modules=()):
    sha = hashlib.sha256(to_bytes(f"ansible-core {ansible_version}\n"))
    for name in names:
        root = os.path.join(ROLES, name)
        if not os.path.isdir(root):
            raise AnsibleLookupError(f"role_digest: no role {name!r} in {ROLES}")
        for top, dirs, files in os.walk(root):
            dirs.sort()
            for file_name in sorted(files):
                path = os.path.join(top, file_name)
                with open(path, "rb") as handle:
                    content = handle.read()
                sha.update(to_bytes(f"{os.path.relpath(path, ROLES)}\n{len(content)}\n") + content)
    for module in sorted(modules):
        path = os.path.join(MODULES, f"{module}.py")
        if not os.path.isfile(path):
            raise AnsibleLookupError(f"role_digest: no module {module!r} in {MODULES}")
        with open(path, "rb") as handle:
            content = handle.read()
        sha.update(to_bytes(f"module {module}\n{len(content)}\n") + content)
    for collection in sorted(collections):
        sha.update(to_bytes(f"collection {collection} {collection_version(collection)}\n"))
    return sha.hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            raise AnsibleLookupError("role_digest: name at least one role")
        return [role_digest([str(term) for term in terms], self.get_option("collections"), self.get_option("modules"))]
