# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared body of the ``*_info`` modules. Private to this collection."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

INFO_ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    tag=dict(type="str"),
)


def run_info(operation, key, name_of=None, transform=None, paginated=True, tagged=None):
    """List ``operation``'s ``key`` items, optionally one by name or those with a tag, and exit.

    ``tagged`` says how an item's tags are read (None: the item's ``tags``).
    """
    do = DigitalOceanModule(dict(INFO_ARGUMENT_SPEC), supports_check_mode=True)

    class InfoManager(ResourceManager):
        result_key = key

        def run(self):
            p = self.params
            items = self.api.list(operation, key) if paginated else (self.api.call(operation).get(key) or [])
            if p["name"]:
                items = [i for i in items if (name_of or (lambda i: i["name"]))(i) == p["name"]]
            if p["tag"]:
                items = [i for i in items if p["tag"] in ((tagged or (lambda i: i.get("tags")))(i) or [])]
            return {"changed": False, key: [transform(i) for i in items] if transform else items}

    do.run(InfoManager)
