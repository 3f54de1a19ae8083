#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_config
short_description: Manage the engine settings of a DigitalOcean managed database (Valkey eviction policy and more)
version_added: 0.1.0
description:
  - Sets a managed cluster's eviction policy (Valkey and Redis) and engine configuration.
  - Only the keys given in O(config) are compared and patched; the others keep their values.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
options:
  cluster:
    description: Name of the database cluster.
    type: str
    required: true
  eviction_policy:
    description: What Valkey or Redis evicts when memory is full.
    type: str
    choices: [noeviction, allkeys_lru, allkeys_random, volatile_lru, volatile_random, volatile_ttl]
  config:
    description:
      - Engine settings by name, for example C(valkey_timeout) or C(default_write_concern).
      - Unknown names are an error before anything is written.
    type: dict
    default: {}
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Valkey for rate limiting and the Socket.IO adapter
  oxy.infra.database_config:
    cluster: db-valkey-ams3-04785
    eviction_policy: volatile_lru
    config:
      valkey_notify_keyspace_events: Ex
"""

RETURN = r"""
config:
  description: The cluster's configuration after the run.
  returned: always
  type: dict
eviction_policy:
  description: The eviction policy after the run (Valkey and Redis).
  returned: when the cluster is Valkey or Redis
  type: str
"""

from ansible_collections.oxy.infra.plugins.module_utils._diff import Change
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

CACHING = ("valkey", "redis")


class ConfigManager(ResourceManager):
    result_key = "config"
    kind = "database settings"

    def resource(self):
        return dict(kind=self.kind, name=self.params["cluster"])

    def run(self):
        p = self.params
        cluster = self.cluster(p["cluster"])
        if cluster is None:  # check mode: the cluster is still to be created
            after = dict(config=p["config"], eviction_policy=p["eviction_policy"])
            return dict(changed=True, config=p["config"], diff=dict(before={}, after=after))
        if p["eviction_policy"] and cluster["engine"] not in CACHING:
            self.do.fail(
                "eviction_policy: cluster %r runs %s; only Valkey and Redis evict" % (p["cluster"], cluster["engine"])
            )
        config = self.api.call("databases.get_config", cluster["id"]).get("config") or {}
        unknown = sorted(set(p["config"]) - set(config))
        if unknown:
            self.do.fail(
                "config: %s not settings of %s clusters (known: %s)"
                % (", ".join(unknown), cluster["engine"], ", ".join(sorted(config)))
            )
        before = dict((k, config.get(k)) for k in p["config"])
        policy = None
        if cluster["engine"] in CACHING:
            policy = self.api.call("databases.get_eviction_policy", cluster["id"]).get("eviction_policy")
            before["eviction_policy"] = policy
        change = Change(before)
        change.update(p["config"])
        if p["eviction_policy"]:
            change.set("eviction_policy", p["eviction_policy"])
        if change.changed and not self.do.check_mode:
            patch = dict((k, change.after[k]) for k in change.changed_keys() if k != "eviction_policy")
            if patch:
                self.api.call("databases.patch_config", cluster["id"], {"config": patch})
            if "eviction_policy" in change.changed_keys():
                self.api.call(
                    "databases.update_eviction_policy",
                    cluster["id"],
                    {"eviction_policy": change.after["eviction_policy"]},
                )
            config = self.api.call("databases.get_config", cluster["id"]).get("config") or {}
            if cluster["engine"] in CACHING:
                policy = self.api.call("databases.get_eviction_policy", cluster["id"]).get("eviction_policy")
        elif change.changed:
            config = dict(config, **p["config"])
            policy = change.after.get("eviction_policy", policy)
        result = dict(changed=change.changed, config=config, diff=change.diff())
        if cluster["engine"] in CACHING:
            result["eviction_policy"] = policy
        return result


def main():
    do = DigitalOceanModule(
        dict(
            cluster=dict(type="str", required=True),
            eviction_policy=dict(
                type="str",
                choices=[
                    "noeviction",
                    "allkeys_lru",
                    "allkeys_random",
                    "volatile_lru",
                    "volatile_random",
                    "volatile_ttl",
                ],
            ),
            config=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    do.run(ConfigManager)


if __name__ == "__main__":
    main()
