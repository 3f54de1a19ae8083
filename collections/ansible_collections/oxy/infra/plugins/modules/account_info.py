#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: account_info
short_description: What a DigitalOcean account offers, read once
version_added: 0.1.0
description:
  - Reads the account's regions, Droplet sizes and managed database options (engines, versions, regions and
    node layouts), one request each, so that a play can check a whole environment definition against them
    before it writes anything (the M(oxy.infra.account_info) result feeds the
    P(oxy.infra.environment_problems#filter) filter).
  - Register the result once and use it for the rest of the run; nothing here changes during a run.
  - It reads only, so it runs the same in check mode, and a plan checks the definition too.
  - With O(clusters) it also reads the database clusters (one more request) and says, of those so named, what
    they run and whether the token sees their credentials.
  - A read the token may not make (DigitalOcean answers 403 without the C(<resource>:read) scope) fails the
    module naming each missing scope, after trying every read; nothing is written either way.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
options:
  clusters:
    description:
      - Names of database clusters to report in RV(database_clusters), when they exist.
      - A client cannot list its token's scopes, but a cluster's connection comes without its password when the
        token lacks C(database:view_credentials), so RV(database_clusters[].credentials_visible) tells it
        before anything is written.
    type: list
    elements: str
    default: []
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Read what the account offers
  oxy.infra.account_info:
  register: account

- name: Read it, with what the environment's clusters run and whether the token may see their credentials
  oxy.infra.account_info:
    clusters: [db-oxy, db-valkey-ams3-04785]
  register: account

- name: Refuse a region the account does not have
  ansible.builtin.assert:
    that: "'ams3' in account.regions | map(attribute='slug')"
"""

RETURN = r"""
regions:
  description: The account's regions, as C(GET /v2/regions) returns them (C(slug), C(available), C(sizes), ...).
  returned: success
  type: list
  elements: dict
sizes:
  description: The Droplet sizes, as C(GET /v2/sizes) returns them (C(slug), C(available), C(regions), ...).
  returned: success
  type: list
  elements: dict
database_options:
  description: C(GET /v2/databases/options), with C(options) per engine (C(versions), C(regions), C(layouts)).
  returned: success
  type: dict
  sample:
    options:
      mongodb:
        versions: ["8.0", "7.0"]
        regions: [ams3, nyc3]
        layouts: [{num_nodes: 3, sizes: [db-s-1vcpu-2gb]}]
database_clusters:
  description:
    - The clusters named in O(clusters) that exist, in that order; no connection details, no secrets.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The cluster's id.
      type: str
    name:
      description: The cluster's name.
      type: str
    engine:
      description: Its engine, such as C(mongodb) or C(valkey).
      type: str
    version:
      description: The engine version it runs.
      type: str
    status:
      description: Its status, such as C(creating), C(online) or C(resizing).
      type: str
    credentials_visible:
      description: Whether its connection came with a password (the token has C(database:view_credentials)).
      type: bool
  sample: [{id: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30, name: db-oxy, engine: mongodb, version: "8.0",
            status: online, credentials_visible: true}]
"""

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

# The scope each read needs; DigitalOcean answers 403 without it.
READ_SCOPES = {
    "regions.list": "regions:read",
    "sizes.list": "sizes:read",
    "databases.list_options": "database:read",
    "databases.list_clusters": "database:read",
}


class AccountReader(ResourceManager):
    result_key = "account"

    def __init__(self, do):
        super().__init__(do)
        self.refused = []  # (scope, operation) of each read answered 403

    def run(self):
        """The account's catalog: lookups, which every task of a run may share (plugin_utils/_read_cache.py).

        The cluster list is a lookup too: it only tells what the clusters run and whether their passwords
        show; every module that manages a cluster reads it afresh.
        """
        with self.api.lookups():
            result = dict(
                changed=False,
                regions=self.read(lambda: self.api.list("regions.list", "regions"), "regions.list"),
                sizes=self.read(lambda: self.api.list("sizes.list", "sizes"), "sizes.list"),
                database_options=self.read(lambda: self.api.call("databases.list_options"), "databases.list_options"),
            )
            if self.params["clusters"]:
                clusters = self.read(
                    lambda: self.api.call("databases.list_clusters").get("databases") or [],
                    "databases.list_clusters",
                )
                result["database_clusters"] = self.named_clusters(clusters or [])
        if self.refused:
            scopes = sorted(set(scope for scope, _operation in self.refused))
            self.do.fail(
                "the token lacks %s: DigitalOcean answered 403 to %s; give the token %s, nothing was changed"
                % (
                    ", ".join(scopes),
                    ", ".join(operation for _scope, operation in self.refused),
                    "this scope" if len(scopes) == 1 else "these scopes",
                ),
                missing_scopes=scopes,
            )
        return result

    def read(self, reading, operation):
        """``reading()``, or None when the token may not make it (its missing scope is noted)."""
        try:
            return reading()
        except DigitalOceanError as exc:
            if exc.status != 403:
                raise
            self.refused.append((READ_SCOPES[operation], operation))
            return None

    def named_clusters(self, clusters):
        by_name = {}
        for cluster in clusters:
            by_name.setdefault(cluster.get("name"), []).append(cluster)
        out = []
        for name in self.params["clusters"]:
            found = self.api.find_one(by_name.get(name, []), "database cluster name %r" % name)
            if found is None:
                continue
            out.append(
                dict(
                    id=found.get("id"),
                    name=found.get("name"),
                    engine=found.get("engine"),
                    version=found.get("version"),
                    status=found.get("status"),
                    credentials_visible=bool((found.get("connection") or {}).get("password")),
                )
            )
        return out


def main():
    do = DigitalOceanModule(dict(clusters=dict(type="list", elements="str", default=[])), supports_check_mode=True)
    do.run(AccountReader)


if __name__ == "__main__":
    main()
