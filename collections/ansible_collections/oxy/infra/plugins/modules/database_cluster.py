#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_cluster
short_description: Manage DigitalOcean managed database clusters (MongoDB, Valkey and others)
version_added: 0.1.0
description:
  - Create, resize, retag or delete a managed database cluster, identified by its O(name) and O(engine).
  - An existing cluster is adopted. A new O(size) or O(num_nodes) resizes it in place; tags are updated in place.
  - Region, VPC and engine are fixed; a difference is an error rather than a silent re-creation.
  - A O(version) other than the one the cluster runs is a major version upgrade, which DigitalOcean cannot undo
    (the cluster goes through maintenance). It is done only when O(confirm_major_upgrade) names the cluster;
    without that a real run refuses it before any write, and check mode reports it as a change with
    C(plan_action=upgrade) and a C(plan_note) that says how to confirm. A lower O(version) (a downgrade) is
    refused always, in check mode too.
  - With O(backup_restore) a new cluster is created from a backup of another cluster, or from a point in time
    between its backups (DigitalOcean keeps MongoDB's daily backups for seven days). It starts with the source's
    databases and users, passwords included, as they were at that time. The source, its engine and the time are
    checked before any write, in check mode too. A cluster named O(name) that already exists is adopted as it is
    and never created again, so a run that was stopped after the create can be run again.
  - Credentials never appear in the result; use the database user modules to hand them out.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.WAIT
  - oxy.infra.digitalocean.DELETE
  - oxy.infra.digitalocean.DELETE_TAGGED
options:
  name:
    description: Name of the cluster.
    type: str
    required: true
  engine:
    description: Database engine.
    type: str
    choices: [mongodb, valkey, pg, mysql, redis, kafka, opensearch]
    required: true
  version:
    description:
      - Engine version (V(8.0) for MongoDB 8, V(8) for Valkey 8). The engine's default when omitted.
      - On an existing cluster a different version is a major upgrade; see O(confirm_major_upgrade).
    type: str
  confirm_major_upgrade:
    description:
      - The cluster's O(name), to confirm that this run may upgrade it to O(version), for good.
      - Only the cluster's own name confirms, so a value shared by several tasks or loop items cannot upgrade
        another cluster by accident; anything else confirms nothing.
    type: str
  confirm_major_upgrade_hint:
    description:
      - How an operator gives the confirmation, as the refusal and the plan's note say it. A playbook that sets
        O(confirm_major_upgrade) from a variable of its own names that variable here.
      - V(confirm_major_upgrade=<name>) when omitted.
    type: str
  size:
    description: Node size slug, for example V(db-s-1vcpu-1gb). Required to create.
    type: str
  num_nodes:
    description: Number of nodes. Required to create.
    type: int
  region:
    description: Region slug. Required to create.
    type: str
  vpc:
    description: Name of the VPC for private networking; the region's default VPC when omitted.
    type: str
  private_network_uuid:
    description: Id of the VPC for private networking.
    type: str
  tags:
    description: The cluster's tags, exactly.
    type: list
    elements: str
  storage_size_mib:
    description: Storage to provision, in MiB, where the engine allows choosing it.
    type: int
  backup_restore:
    description:
      - Create the cluster from a backup of another cluster of the same engine (a fork), rather than empty.
      - Used only to create; an existing cluster named O(name) is adopted whatever it was created from.
      - Valkey and Caching clusters have no backups.
    type: dict
    suboptions:
      database_name:
        description: Name of the cluster whose backup is restored; it must exist.
        type: str
        required: true
      backup_created_at:
        description:
          - The point in time to restore to, an ISO 8601 date-time (V(2026-12-01T09:30:00Z); without a zone it
            is UTC). A backup's C(created_at) restores that backup; a time between backups restores the
            cluster as it was then.
          - It must lie between the oldest backup still kept (seven days) and now.
          - The latest backup when omitted. When the source's region is down (its backups cannot be listed, the
            API answers 503), the request names no time and DigitalOcean restores the latest backup it has.
        type: str
  state:
    description:
      - Whether the cluster should exist.
      - V(absent) destroys the cluster with all its databases and users; it needs O(allow_delete=true) and is
        refused for a cluster tagged O(protected_tag) or named in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
notes:
  - O(wait_timeout) defaults to 1800 seconds; a managed database takes minutes to come online. With
    O(wait=false) a play can start several clusters and wait with a later task.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: MongoDB 8 shared by every Oxy app
  oxy.infra.database_cluster:
    name: db-oxy
    engine: mongodb
    version: "8.0"
    size: db-s-1vcpu-2gb
    num_nodes: 3
    region: ams3
    vpc: default-ams3

- name: Upgrade db-oxy to MongoDB 8.0 (irreversible), only when the run says so by name
  oxy.infra.database_cluster:
    name: db-oxy
    engine: mongodb
    version: "8.0"
    confirm_major_upgrade: "{{ 'db-oxy' if 'db-oxy' in confirm_upgrade | default([]) else omit }}"
    confirm_major_upgrade_hint: "-e '{\"confirm_upgrade\": [\"db-oxy\"]}'"

- name: db-oxy as it was at 09:30 UTC, as a new cluster beside it
  oxy.infra.database_cluster:
    name: db-oxy-restore-20261201093000
    engine: mongodb
    version: "8.0"
    size: db-s-1vcpu-2gb
    num_nodes: 3
    region: ams3
    vpc: default-ams3
    backup_restore:
      database_name: db-oxy
      backup_created_at: "2026-12-01T09:30:00Z"

- name: Keep the production cluster from ever being deleted by a task
  oxy.infra.database_cluster:
    name: db-oxy
    engine: mongodb
    tags: [oxy, protected]
"""

RETURN = r"""
database:
  description: The cluster as the API returns it, with passwords removed; empty when absent.
  returned: always
  type: dict
plan_action:
  description: V(upgrade) when this run upgrades the cluster's major version, or would (check mode).
  returned: when O(version) differs from the version the cluster runs
  type: str
  sample: upgrade
plan_note:
  description:
    - What the upgrade is and whether it is confirmed, for the plan.
    - For a restore whose source's backups cannot be read (its region is down), that the latest is restored.
  returned: when O(version) differs from the version the cluster runs, or a restore cannot read the backups
  type: str
  sample: "major upgrade of MongoDB 7.0 -> 8.0, irreversible; needs confirmation: confirm_major_upgrade=db-oxy"
restored_from:
  description:
    - What this run created the cluster from, or would (check mode); the time as sent to DigitalOcean (UTC).
  returned: when this run creates the cluster with O(backup_restore)
  type: dict
  sample: {database_name: db-oxy, backup_created_at: "2026-12-01T09:30:00Z"}
"""

import datetime
import re

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, desired_from, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager, pending, redact
from ansible_collections.oxy.infra.plugins.module_utils._waiter import database_online

DEFAULT_WAIT = 1800
ENGINE_NAMES = dict(
    mongodb="MongoDB",
    valkey="Valkey",
    pg="PostgreSQL",
    mysql="MySQL",
    redis="Redis",
    kafka="Kafka",
    opensearch="OpenSearch",
)
MANAGED = ("name", "engine", "version", "size", "num_nodes", "region", "private_network_uuid", "tags")
WITHOUT_BACKUPS = ("valkey", "redis", "kafka", "opensearch")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def state_of(cluster):
    if not cluster:
        return {}
    out = dict((k, cluster.get(k)) for k in MANAGED)
    out["tags"] = normalize_set(cluster.get("tags"))
    return out


class ClusterManager(ResourceManager):
    result_key = "database"
    delete_operation = "databases.destroy_cluster"
    default_wait = DEFAULT_WAIT
    kind = "database cluster"
    desired_options = (
        "version",
        "size",
        "num_nodes",
        "region",
        "vpc",
        "private_network_uuid",
        "tags",
        "storage_size_mib",
        "backup_restore",
    )

    def find(self):
        p = self.params
        clusters = self.api.call("databases.list_clusters").get("databases") or []
        self.clusters = clusters
        found = self.named(clusters, p["name"], "database cluster name")
        if found and found["engine"] != p["engine"]:
            self.do.fail("engine: cluster %r runs %s, not %s" % (p["name"], found["engine"], p["engine"]))
        return found

    def fetch(self, cluster_id):
        body = self.api.call("databases.get_cluster", cluster_id, missing_ok=True)  # 404 just after create is normal
        return body["database"] if body else None

    def resolve_vpc(self):
        p = self.params
        if p["private_network_uuid"] or not p["vpc"]:
            return p["private_network_uuid"]
        vpc = self.vpc(p["vpc"])
        return vpc["id"] if vpc else pending("vpc", p["vpc"])

    def validate(self, current):
        p = self.params
        options = self.api.call("databases.list_options", lookup=True)
        engine = (options.get("options") or {}).get(p["engine"])
        if engine is None:
            self.do.fail("engine: %s clusters are not offered" % p["engine"])
        if p["version"] and p["version"] not in engine["versions"]:
            self.do.fail(
                "version: %s is not an available %s version (%s)"
                % (p["version"], p["engine"], ", ".join(engine["versions"]))
            )
        if p["region"] and p["region"] not in engine["regions"]:
            self.do.fail("region: %s does not offer %s clusters" % (p["region"], p["engine"]))
        nodes = p["num_nodes"] or (current or {}).get("num_nodes")
        size = p["size"] or (current or {}).get("size")
        if nodes and size:
            layouts = dict((layout["num_nodes"], layout["sizes"]) for layout in engine["layouts"])
            if nodes not in layouts:
                self.do.fail("num_nodes: %s takes %s nodes, not %s" % (p["engine"], sorted(layouts), nodes))
            if size not in layouts[nodes]:
                self.do.fail("size: %s is not offered with %s nodes for %s" % (size, nodes, p["engine"]))
        if current is None:
            missing = [k for k in ("size", "num_nodes", "region") if not p[k]]
            if missing:
                self.do.fail("%s required to create cluster %r" % (" and ".join(missing), p["name"]))

    def restore_point(self):
        """The ``backup_restore`` body for a new cluster, checked before any write: the source exists, runs
        this engine and has backups, and the time lies within them (the oldest kept, seven days, up to now)."""
        p = self.params
        ask = p["backup_restore"]
        source = self.named(self.clusters, ask["database_name"], "backup_restore.database_name")
        if source is None:
            self.do.fail(
                "backup_restore.database_name: no database cluster named %r to restore cluster %r from"
                % (ask["database_name"], p["name"])
            )
        if source["engine"] != p["engine"]:
            self.do.fail(
                "backup_restore.database_name: cluster %r runs %s; its backups restore into a %s cluster only, not %s"
                % (source["name"], source["engine"], source["engine"], p["engine"])
            )
        if p["engine"] in WITHOUT_BACKUPS:
            self.do.fail("backup_restore: %s clusters have no backups" % ENGINE_NAMES[p["engine"]])
        # Read afresh, not a lookup: the latest backup decides what is created.
        try:
            kept = self.api.call("databases.list_backups", source["id"]).get("backups") or []
        except DigitalOceanError as exc:
            if exc.status != 503 or ask["backup_created_at"] is not None:
                raise
            # The source's region is down (a failover): its backups cannot be listed, and DigitalOcean restores
            # the latest one when no time is given.
            self.restore_unread = "%s's backups cannot be read (%s): its latest backup is restored" % (
                source["name"],
                exc.message,
            )
            return dict(database_name=source["name"])
        times = sorted(t for t in (_parse_time(b.get("created_at")) for b in kept) if t is not None)
        if not times:
            self.do.fail("backup_restore.database_name: cluster %r has no backup yet" % source["name"])
        body = dict(database_name=source["name"])
        if ask["backup_created_at"] is None:
            body["backup_created_at"] = _iso(times[-1])
            return body
        when = _parse_time(ask["backup_created_at"])
        if when is None:
            self.do.fail(
                "backup_restore.backup_created_at: %r is not an ISO 8601 date-time (such as 2026-12-01T09:30:00Z)"
                % ask["backup_created_at"]
            )
        if when < times[0]:
            self.do.fail(
                "backup_restore.backup_created_at: %s is before the oldest backup of %r still kept (%s; "
                "DigitalOcean keeps them seven days); it cannot be restored to that time"
                % (_iso(when), source["name"], _iso(times[0]))
            )
        if when > datetime.datetime.now(datetime.timezone.utc):
            self.do.fail(
                "backup_restore.backup_created_at: %s is in the future; a cluster is restored to a past time only"
                % _iso(when)
            )
        body["backup_created_at"] = _iso(when)
        return body

    def run(self):
        current = self.find()
        if self.params["state"] == "absent":
            return self.absent(current)
        self.validate(current)
        p = self.params
        want = desired_from(p, ("name", "engine", "version", "size", "num_nodes", "region"))
        vpc = self.resolve_vpc()
        if vpc:
            want["private_network_uuid"] = vpc
        if p["tags"] is not None:
            want["tags"] = normalize_set(p["tags"])
        if current is None:
            return self.create(want)
        return self.update(current, want)

    def create(self, want):
        restored = self.restore_point() if self.params["backup_restore"] else None
        change = Change({})
        change.update(want)
        extra = {}
        if restored:
            change.update(dict(backup_restore=restored))
            extra["restored_from"] = restored
            if getattr(self, "restore_unread", None):
                extra.update(plan_note=self.restore_unread)
        if self.do.check_mode:
            return dict(changed=True, database=change.after, diff=change.diff(), **extra)
        body = dict(want)
        if self.params["storage_size_mib"]:
            body["storage_size_mib"] = self.params["storage_size_mib"]
        if restored:
            body["backup_restore"] = restored
        # Never blindly replayed: after an ambiguous failure the cluster is looked up by name first.
        cluster = self.api.create(lambda: self.api.call("databases.create_cluster", body)["database"], self.find)
        return dict(changed=True, database=redact(self.wait(cluster)), diff=change.diff(), **extra)

    def update(self, current, want):
        before = state_of(current)
        fixed = [k for k in ("region", "private_network_uuid") if k in want and want[k] != before.get(k)]
        if fixed:
            details = ", ".join("%s %r -> %r" % (k, before.get(k), want[k]) for k in fixed)
            self.do.fail("cluster %r cannot change %s in place" % (self.params["name"], details))
        upgrade = {}
        if "version" in want and want["version"] != before["version"]:
            upgrade = self.major_upgrade(before["version"], want["version"])
        change = Change(before)
        change.update(want)
        cluster = current
        if not self.do.check_mode:
            cluster = self.wait(current, seen=True)
            if change.changed:
                self.apply(cluster, before, change.after)
                cluster = self.wait(self.fetch(cluster["id"]))
        return dict(changed=change.changed, database=redact(cluster), diff=change.diff(), **upgrade)

    def major_upgrade(self, running, wanted):
        """The plan's entry for an upgrade from ``running`` to ``wanted``; refused unconfirmed (a real run) or down.

        Both refusals come before any write. Check mode reports an unconfirmed upgrade instead of refusing it,
        so that a plan shows every pending change.
        """
        p = self.params
        engine = ENGINE_NAMES.get(p["engine"], p["engine"])
        if _version(wanted) < _version(running):
            self.do.fail(
                "version: cluster %r runs %s %s; %s would be a downgrade, which DigitalOcean cannot do (a major "
                "upgrade is irreversible); keep version %s" % (p["name"], engine, running, wanted, running),
                refused=True,
            )
        what = "major upgrade of %s %s -> %s, irreversible" % (engine, running, wanted)
        if p["confirm_major_upgrade"] == p["name"]:
            return dict(plan_action="upgrade", plan_note="%s; confirmed" % what)
        how = p["confirm_major_upgrade_hint"] or "confirm_major_upgrade=%s" % p["name"]
        if not self.do.check_mode:
            self.do.fail(
                "version: refusing to upgrade cluster %r from %s %s to %s without a confirmation: a major upgrade "
                "cannot be undone and the cluster goes through maintenance; nothing was changed. To upgrade it, "
                "confirm with %s" % (p["name"], engine, running, wanted, how),
                refused=True,
            )
        return dict(plan_action="upgrade", plan_note="%s; needs confirmation: %s" % (what, how))

    def apply(self, cluster, before, after):
        # The upgrade first: a resize leaves the cluster resizing, and an upgrade wants it online (one at a time).
        if after["version"] != before["version"]:
            self.api.call("databases.update_major_version", cluster["id"], {"version": after["version"]})
        if (after["size"], after["num_nodes"]) != (before["size"], before["num_nodes"]):
            body = dict(size=after["size"], num_nodes=after["num_nodes"])
            self.api.call("databases.update_cluster_size", cluster["id"], body)
        if after["tags"] != before["tags"]:
            ref = [dict(resource_id=cluster["id"], resource_type="database")]
            for tag in sorted(set(after["tags"]) - set(before["tags"])):
                self.api.call("tags.create", {"name": tag}, idempotent=True)
                self.api.call("tags.assign_resources", tag, {"resources": ref}, idempotent=True)
            for tag in sorted(set(before["tags"]) - set(after["tags"])):
                self.api.call("tags.unassign_resources", tag, {"resources": ref})

    def wait(self, cluster, seen=False):
        """Wait for ``cluster`` to be online; ``seen``: it was just read, so it is the first look."""
        return self.waiter.until(
            lambda: self.fetch(cluster["id"]),
            database_online,
            "cluster %s to be online" % cluster["name"],
            results=lambda last: dict(database=redact(last or cluster)),
            current=cluster if seen else None,
        )

    def absent(self, current):
        return self.delete(current, state_of(current))


def _version(text):
    return tuple(int(x) for x in re.findall(r"\d+", text or "0"))


def _parse_time(text):
    """An ISO 8601 date-time as an aware UTC datetime (none given: UTC); None when it is not one."""
    value = (text or "").strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def _iso(when):
    return when.strftime(ISO_UTC)


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            engine=dict(
                type="str", required=True, choices=["mongodb", "valkey", "pg", "mysql", "redis", "kafka", "opensearch"]
            ),
            version=dict(type="str"),
            confirm_major_upgrade=dict(type="str"),
            confirm_major_upgrade_hint=dict(type="str"),
            size=dict(type="str"),
            num_nodes=dict(type="int"),
            region=dict(type="str"),
            vpc=dict(type="str"),
            private_network_uuid=dict(type="str"),
            tags=dict(type="list", elements="str"),
            storage_size_mib=dict(type="int"),
            backup_restore=dict(
                type="dict",
                options=dict(database_name=dict(type="str", required=True), backup_created_at=dict(type="str")),
            ),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        wait=True,
        guard_delete=True,
        protected_tag=True,
        supports_check_mode=True,
        mutually_exclusive=[("vpc", "private_network_uuid")],
    )
    do.run(ClusterManager)


if __name__ == "__main__":
    main()
