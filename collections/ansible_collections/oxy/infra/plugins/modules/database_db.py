#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_db
short_description: Manage the logical databases of a DigitalOcean managed database cluster
version_added: 0.1.0
description:
  - Create or delete one logical database (C(mention-production), C(oxy-prod)) in a managed cluster.
  - Valkey and Redis clusters have no logical databases; such a cluster is refused before any change.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  cluster:
    description: Name of the database cluster.
    type: str
    required: true
  name:
    description: Name of the database.
    type: str
    required: true
  state:
    description:
      - Whether the database should exist. Deleting a database deletes its data.
      - V(absent) needs O(allow_delete=true). A database is protected by listing in O(protected_names) its name,
        alone (V(oxy-prod), in any cluster) or with its cluster (V(db-oxy/oxy-prod)).
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The oxy API's database
  oxy.infra.database_db:
    cluster: db-oxy
    name: oxy-prod
"""

RETURN = r"""
db:
  description: The database (its name); empty when absent.
  returned: always
  type: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

DB_ENGINES = ("mongodb", "pg", "mysql")


class DbManager(ResourceManager):
    result_key = "db"
    kind = "database"

    def canonical_name(self, name):
        """``cluster/name``: a database name alone is one of this task's cluster."""
        return name if "/" in name else "%s/%s" % (self.params["cluster"], name)

    def describe(self, current):
        return "%s %r in cluster %r" % (self.kind, self.params["name"], self.params["cluster"])

    def resource(self):
        return dict(kind=self.kind, name=self.canonical_name(self.params["name"]))

    def run(self):
        p = self.params
        cluster = self.cluster(p["cluster"], DB_ENGINES)
        names = [d["name"] for d in self.api.call("databases.list", cluster["id"]).get("dbs") or []] if cluster else []
        exists = p["name"] in names
        want = p["state"] == "present"
        if not want:
            self.guard_delete(dict(name=p["name"]) if exists else None)
        before = dict(name=p["name"]) if exists else {}
        after = dict(name=p["name"]) if want else {}
        changed = exists != want
        if changed and not self.do.check_mode:
            if want:
                self.api.create(
                    lambda: self.api.call("databases.add", cluster["id"], {"name": p["name"]})["db"],
                    lambda: (self.api.call("databases.get", cluster["id"], p["name"], missing_ok=True) or {}).get("db"),
                )
            else:
                self.api.call("databases.delete", cluster["id"], p["name"], missing_ok=True)
        return dict(changed=changed, db=after, diff=dict(before=before, after=after))


def main():
    do = DigitalOceanModule(
        dict(
            cluster=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(DbManager)


if __name__ == "__main__":
    main()
