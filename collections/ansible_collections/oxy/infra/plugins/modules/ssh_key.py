#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ssh_key
short_description: Manage SSH keys of a DigitalOcean account
version_added: 0.1.0
description:
  - Adds a public key to the account, identified by its MD5 fingerprint, or removes it.
  - A key already on the account under another name is renamed in place.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: Name of the key on the account.
    type: str
    required: true
  public_key:
    description: The public key, as in C(~/.ssh/id_ed25519.pub). Required when present.
    type: str
  fingerprint:
    description: Fingerprint of the key to remove, when O(public_key) is not at hand.
    type: str
  state:
    description:
      - Whether the key should be on the account. Droplets created with the key keep it; new ones cannot get it.
      - V(absent) needs O(allow_delete=true). A key is protected by listing in O(protected_names) its O(name),
        its name on the account or its fingerprint.
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The operators' deploy key
  oxy.infra.ssh_key:
    name: ops-deploy
    public_key: "{{ lookup('ansible.builtin.file', 'files/ops-deploy.pub') }}"
"""

RETURN = r"""
ssh_key:
  description: The key (id, fingerprint, name, public_key); empty when absent.
  returned: always
  type: dict
fingerprint:
  description: The key's MD5 fingerprint, the form Droplets accept in C(ssh_keys).
  returned: when known
  type: str
"""

import base64
import binascii
import hashlib

from ansible_collections.oxy.infra.plugins.module_utils._diff import Change
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import DeleteRefused, ResourceManager


def fingerprint_of(public_key):
    parts = (public_key or "").strip().split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key (type, base64 blob, comment)")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the key's blob is not base64") from exc
    digest = hashlib.md5(blob).hexdigest()  # nosec - DigitalOcean names keys by their MD5 fingerprint
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


class SshKeyManager(ResourceManager):
    result_key = "ssh_key"
    kind = "SSH key"
    fingerprint = None

    def describe(self, current):
        """The key as a refusal names it: the task's name, and the key's own name, id and fingerprint."""
        name = self.params["name"]
        if current is None:
            return "%s %r%s" % (self.kind, name, " (fingerprint %s)" % self.fingerprint if self.fingerprint else "")
        facts = ["id %s" % current["id"], "fingerprint %s" % current["fingerprint"]]
        if current["name"] != name:
            facts.insert(0, "named %r on the account" % current["name"])
        return "%s %r (%s)" % (self.kind, name, "; ".join(facts))

    def guard_delete(self, current):
        """The shared guard; a key found by its fingerprint is also protected by its name on the account."""
        super().guard_delete(current)
        if current is None:
            return
        protected = set(self.params["protected_names"] or [])
        if protected & {current["name"], current["fingerprint"]}:
            raise DeleteRefused(
                "refusing to delete %s: its name or fingerprint is listed in protected_names; remove it from that "
                "list first" % self.describe(current)
            )

    def run(self):
        p = self.params
        fingerprint = p["fingerprint"]
        if p["public_key"]:
            try:
                fingerprint = fingerprint_of(p["public_key"])
            except ValueError as exc:
                self.do.fail("public_key: %s" % exc)
        if p["state"] == "present" and not p["public_key"]:
            self.do.fail("public_key is required to add a key")
        self.fingerprint = fingerprint
        keys = self.api.list("ssh_keys.list", "ssh_keys")
        if fingerprint:
            current = self.api.find_one(
                [k for k in keys if k["fingerprint"] == fingerprint], "SSH key %s" % fingerprint
            )
        else:
            current = self.named(keys, p["name"], "SSH key name")
        before = dict(name=current["name"], fingerprint=current["fingerprint"]) if current else {}
        if p["state"] == "absent":
            self.guard_delete(current)
            if current and not self.do.check_mode:
                self.api.call("ssh_keys.delete", current["id"], missing_ok=True)
            return dict(changed=bool(current), ssh_key={}, diff=dict(before=before, after={}))
        change = Change(before)
        change.update(dict(name=p["name"], fingerprint=fingerprint))
        key = current or change.after
        if change.changed and not self.do.check_mode:
            if current:
                key = self.api.call("ssh_keys.update", current["id"], {"name": p["name"]})["ssh_key"]
            else:
                body = dict(name=p["name"], public_key=p["public_key"].strip())
                key = self.api.create(
                    lambda: self.api.call("ssh_keys.create", body)["ssh_key"],
                    lambda: (self.api.call("ssh_keys.get", fingerprint, missing_ok=True) or {}).get("ssh_key"),
                )
        return dict(changed=change.changed, ssh_key=key, fingerprint=fingerprint, diff=change.diff())


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            public_key=dict(type="str", no_log=False),
            fingerprint=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(SshKeyManager)


if __name__ == "__main__":
    main()
