#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_backup_info
short_description: List the backups of a DigitalOcean managed database cluster
version_added: 0.6.0
description:
  - Lists the backups DigitalOcean keeps of the cluster O(cluster) (MongoDB's daily backups, kept seven days),
    oldest first, and the latest one, to restore from with M(oxy.infra.database_cluster)'s
    O(oxy.infra.database_cluster#module:backup_restore).
  - Valkey and Caching clusters have no backups; asking for theirs fails.
  - In check mode a cluster that does not exist yet has no backups; otherwise it is an error.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
options:
  cluster:
    description: Name of the database cluster.
    type: str
    required: true
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The backups of db-oxy
  oxy.infra.database_backup_info:
    cluster: db-oxy
  register: db_oxy_backups

- name: A new cluster from the latest of them
  oxy.infra.database_cluster:
    name: db-oxy-restore
    engine: mongodb
    size: db-s-1vcpu-2gb
    num_nodes: 3
    region: ams3
    backup_restore:
      database_name: db-oxy
      backup_created_at: "{{ db_oxy_backups.latest }}"
"""

RETURN = r"""
backups:
  description: The cluster's backups still kept, oldest first, as the API lists them (C(created_at), C(size_gigabytes)).
  returned: always
  type: list
  elements: dict
  sample: [{created_at: "2026-12-01T02:00:00Z", size_gigabytes: 0.05}]
latest:
  description: When the latest backup was taken (its C(created_at)); empty when there is none.
  returned: always
  type: str
  sample: "2026-12-03T02:00:00Z"
scheduled_backup_time:
  description: When DigitalOcean takes the cluster's daily backup (C(backup_hour), C(backup_minute), UTC, and
    C(backup_interval_hours)), as the API says.
  returned: when the API says it
  type: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

WITHOUT_BACKUPS = ("valkey", "redis", "kafka", "opensearch")


class BackupsReader(ResourceManager):
    result_key = "backups"

    def run(self):
        name = self.params["cluster"]
        cluster = self.cluster(name)
        if cluster is None:  # check mode: still to be created
            return dict(changed=False, backups=[], latest="")
        if cluster["engine"] in WITHOUT_BACKUPS:
            self.do.fail("cluster: %r runs %s, which has no backups" % (name, cluster["engine"]))
        body = self.api.call("databases.list_backups", cluster["id"])
        backups = sorted(body.get("backups") or [], key=lambda b: b.get("created_at") or "")
        out = dict(changed=False, backups=backups, latest=backups[-1]["created_at"] if backups else "")
        if body.get("scheduled_backup_time"):
            out["scheduled_backup_time"] = body["scheduled_backup_time"]
        return out


def main():
    do = DigitalOceanModule(dict(cluster=dict(type="str", required=True)), supports_check_mode=True)
    do.run(BackupsReader)


if __name__ == "__main__":
    main()
