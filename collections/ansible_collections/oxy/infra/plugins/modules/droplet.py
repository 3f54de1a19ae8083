#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: droplet
short_description: Manage DigitalOcean Droplets
version_added: 0.1.0
description:
  - Create, update or delete a Droplet, identified by its O(name), or by its O(id) when that is given.
  - Given O(id), the Droplet with that id is this one whatever it is called now; when its name differs from
    O(name) it is renamed in place (the C(rename) Droplet action, waited on), and the machine keeps running with
    its id, addresses, disk and firewall membership. Check mode shows the rename as an update of C(name).
  - Droplet names need not be unique in DigitalOcean; this module insists. When several Droplets carry the
    name it fails and names their ids rather than guess.
  - An existing Droplet is adopted. Its tags are updated in place; a new O(size) resizes it in place
    (power off, resize, power on; the Droplet is down for the resize). A Droplet found powered off (a run killed
    in the middle of a resize, or one powered off by hand) is powered on, unless the task only looks it up (no
    option to converge). It never rebuilds a Droplet; a different O(image) is refused like every attribute fixed
    at creation.
  - With O(snapshot_before_resize=true), a resize takes a snapshot of the powered-off Droplet first (the Droplet
    action C(snapshot), waited on), named C(<name>-before-resize-<from>-to-<to>-<yyyymmddThhmmZ>) (UTC), and only
    then resizes. A run killed after the snapshot was started or taken takes no second one; when the Droplet is
    found powered off with a snapshot as its latest action, that snapshot (waited on while in progress) is used
    if it is this module's for the same resize.
  - O(snapshot_keep) keeps the newest snapshots this module took of the Droplet (recognised by that name, among
    the Droplet's own snapshots; never other snapshots, never backups) and deletes the older ones, through the
    delete guard (see O(snapshot_keep)). Check mode and the diff show the snapshot to take and the ones to delete.
  - O(backups) and O(backup_policy) converge in place through the Droplet actions C(enable_backups),
    C(disable_backups) and C(change_backup_policy), each waited on. The policy is read (one request) only when
    O(backup_policy) is set and the Droplet has backups on.
  - Attributes fixed at creation (region, image, VPC, SSH keys, user data, monitoring, IPv6) are compared and a
    difference is an error, never a silent re-creation.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.WAIT
  - oxy.infra.digitalocean.DELETE
  - oxy.infra.digitalocean.DELETE_TAGGED
options:
  name:
    description: Hostname of the Droplet.
    type: str
    required: true
  id:
    description:
      - Id of the Droplet, which makes it this one, under whatever name it has now (see
        M(oxy.infra.owned_resources)'s C(droplet_rename)). A different name renames it to O(name).
      - The module fails when no Droplet has this id, or when another Droplet already has O(name).
    type: str
  region:
    description: Region slug. Required to create.
    type: str
  size:
    description: Size slug. Required to create; a different size on an existing Droplet resizes it.
    type: str
  image:
    description: Image slug or id. Required to create, unless O(image_of) is set.
    type: str
  image_of:
    description:
      - Name of a Droplet whose latest snapshot or backup is the image of a new Droplet (a failover to another
        region, C(playbooks/failover.yml)). It is found through lists (that Droplet's C(snapshot_ids) and
        C(backup_ids), the account's images), which answer also while that Droplet's region is down, and
        transferred to O(region) first when it is not there (the transfer is waited on).
      - Used only to create; an existing Droplet named O(name) is adopted and nothing is read for it.
        Mutually exclusive with O(image).
    type: str
  vpc:
    description:
      - Name of the VPC to place the Droplet in.
      - The region's default VPC when neither this nor O(vpc_uuid) is set.
    type: str
  vpc_uuid:
    description: Id of the VPC to place the Droplet in.
    type: str
  ssh_keys:
    description: SSH key ids or fingerprints installed at creation.
    type: list
    elements: str
  tags:
    description: The Droplet's tags, exactly; tags are created when missing.
    type: list
    elements: str
  monitoring:
    description: Install the metrics agent at creation.
    type: bool
  ipv6:
    description: Enable IPv6 at creation.
    type: bool
  backups:
    description:
      - Whether the Droplet has backups, at creation and on an existing Droplet (enabled or disabled in place).
      - V(false) on a Droplet with backups disables them; DigitalOcean then takes no new backup.
    type: bool
  backup_policy:
    description:
      - When backups are taken; needs O(backups=true). Only the fields given are compared.
      - Set at creation, with C(enable_backups), or changed with C(change_backup_policy).
    type: dict
    suboptions:
      plan:
        description: V(daily) (kept 7 days) or V(weekly) (kept 4 weeks).
        type: str
        required: true
        choices: [daily, weekly]
      weekday:
        description: Day of a V(weekly) plan's backup; refused with a V(daily) plan.
        type: str
        choices: [SUN, MON, TUE, WED, THU, FRI, SAT]
      hour:
        description: UTC hour at which the four-hour backup window starts.
        type: int
        choices: [0, 4, 8, 12, 16, 20]
  user_data:
    description: Cloud-init user data, at creation only.
    type: str
  resize_disk:
    description: Also grow the disk when resizing. Irreversible; the Droplet can then never shrink back.
    type: bool
    default: false
  snapshot_before_resize:
    description:
      - Take a snapshot of the Droplet after it is powered off and before it is resized (see the description for its
        name, and how a killed run's snapshot is used again). The resize waits for it.
      - Has no effect on a run that does not resize.
    type: bool
    default: false
  snapshot_keep:
    description:
      - How many of the snapshots this module took before a resize (its own, by name, of this Droplet) to keep; the
        older ones are deleted, on every run, also one without a resize. At least 1. Unset, none is deleted.
      - Deleting goes through the delete guard, also with O(state=present) - only with O(allow_delete=true), and never
        a snapshot named in O(protected_names) or tagged O(protected_tag). A snapshot the guard keeps is not deleted
        and the run does not fail on it - it is listed in RV(snapshots_over_keep), with why, and warned about (as the
        orphans of C(playbooks/teardown.yml) are listed and left without their confirmation).
    type: int
  state:
    description:
      - Whether the Droplet should exist.
      - V(absent) destroys the Droplet and its disk; it needs O(allow_delete=true) and is refused for a Droplet
        tagged O(protected_tag) or named in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
notes:
  - O(wait_timeout) defaults to 300 seconds. With O(wait=true) the module returns once the Droplet is
    C(active) with its IPv4 addresses, also on a run that finds it still being created.
  - O(wait_timeout) also bounds each action of a resize (power off, snapshot, resize, power on), of a rename and of
    a change of backups. A wait that times out or an action that errors fails the task with RV(droplet) and the
    action (id, type, status).
  - For this module O(allow_delete) and O(protected_names) also guard what O(snapshot_keep) deletes, with
    O(state=present); the snapshots a run keeps over the limit are reported, not refused.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The API backend in the Amsterdam VPC
  oxy.infra.droplet:
    name: oxy-api-backend
    region: ams3
    size: s-2vcpu-4gb
    image: ubuntu-24-04-x64
    vpc: default-ams3
    ssh_keys: ["43:d3:b5:b9:7d:40:00:39:4f:54:45:3d:a4:2f:4a:ab"]
    tags: [oxy, api]
    monitoring: true
    backups: true
    backup_policy:
      plan: weekly
      weekday: SUN
      hour: 4

- name: Resize it, with a snapshot first; keep the newest three such snapshots
  oxy.infra.droplet:
    name: oxy-api-backend
    size: s-4vcpu-8gb
    snapshot_before_resize: true
    snapshot_keep: 3
    allow_delete: true  # confirms deleting the older snapshots; the Droplet itself has state present

- name: The API backend was renamed in the definition; rename the Droplet in place
  oxy.infra.droplet:
    name: oxy-api-backend-2
    id: "{{ owned.droplet_rename.id }}"
    wait: false

- name: Destroy a scratch Droplet, deliberately
  oxy.infra.droplet:
    name: scratch-1
    state: absent
    allow_delete: true
"""

RETURN = r"""
droplet:
  description: The Droplet as the API returns it; empty when absent.
  returned: always
  type: dict
public_ipv4:
  description: The Droplet's public IPv4 address, once it has one.
  returned: when present
  type: str
private_ipv4:
  description: The Droplet's address inside its VPC, once it has one.
  returned: when present
  type: str
backup_policy:
  description:
    - The Droplet's backup policy as DigitalOcean reports it (C(plan), C(weekday) for a weekly plan, C(hour),
      C(window_length_hours), C(retention_period_days)), after any change (in check mode, as it is now).
    - Read only when O(backup_policy) is set; empty when the Droplet has no backups.
  returned: when O(backup_policy) is set and the Droplet exists
  type: dict
  sample: {"plan": "weekly", "weekday": "SUN", "hour": 4, "window_length_hours": 4, "retention_period_days": 28}
action:
  description: The Droplet action (id, type, status) whose wait timed out or errored.
  returned: when a resize's, a rename's or a backups change's action did not complete
  type: dict
plan_action:
  description: C(rename) when the Droplet is renamed in place (for the oxy.infra.plan callback).
  returned: when renamed
  type: str
plan_from:
  description: The Droplet's name before the rename.
  returned: when renamed
  type: str
plan_note:
  description:
    - What a rename keeps; for a Droplet created with O(image_of), the image it is made from; the snapshot a resize
      takes first (C(snapshot <name> first)) or uses again; the snapshots O(snapshot_keep) deletes or keeps.
  returned: when renamed, created with O(image_of), resized with a snapshot, or snapshots are deleted or kept
  type: str
snapshot:
  description:
    - The snapshot taken before the resize (C(name); C(id) when it was taken by an earlier run), or that would be
      (check mode), and C(reused), true when an earlier, killed run had taken or started it.
  returned: when this run resizes with O(snapshot_before_resize=true)
  type: dict
  sample: {"name": "oxy-api-backend-before-resize-s-1vcpu-1gb-to-s-2vcpu-4gb-20261203T2015Z", "reused": false}
snapshots_deleted:
  description:
    - The snapshots O(snapshot_keep) deleted (or would delete, in check mode), each C(id), C(name), C(created_at).
  returned: when O(snapshot_keep) is set
  type: list
  elements: dict
snapshots_over_keep:
  description:
    - The module's snapshots beyond O(snapshot_keep) that the delete guard kept, each C(id), C(name), C(created_at)
      and C(why) (O(allow_delete) is false, listed in O(protected_names), tagged O(protected_tag)).
  returned: when O(snapshot_keep) is set
  type: list
  elements: dict
image_from:
  description:
    - The image a Droplet created with O(image_of) is made from (C(id), C(name), C(type) snapshot or backup,
      C(created_at), C(regions) before any transfer, C(droplet)), or would be (check mode).
  returned: when this run creates the Droplet with O(image_of)
  type: dict
"""

import re
import time

from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, desired_from, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager, pending
from ansible_collections.oxy.infra.plugins.module_utils._waiter import WaitFailed, droplet_active, waiter_for

DEFAULT_WAIT = 300
POLICY_FIELDS = ("plan", "weekday", "hour")
SNAPSHOT_STAMP = "%Y%m%dT%H%MZ"  # UTC, to the minute


def snapshot_name(droplet, size_from, size_to, now=None):
    """The name of the snapshot taken before resizing Droplet ``droplet`` from ``size_from`` to ``size_to``."""
    stamp = time.strftime(SNAPSHOT_STAMP, time.gmtime(now))
    return "%s-before-resize-%s-to-%s-%s" % (droplet, size_from, size_to, stamp)


def resize_of_snapshot(name, droplets):
    """``(from, to)`` of a snapshot this module took of a Droplet called one of ``droplets``; None for any other."""
    for droplet in droplets:
        match = re.match(r"%s-before-resize-(.+?)-to-(.+)-\d{8}T\d{4}Z\Z" % re.escape(droplet), name or "")
        if match:
            return match.group(1), match.group(2)
    return None


def state_of(droplet):
    """The managed part of a Droplet as the API shows it."""
    if not droplet:
        return {}
    image = droplet.get("image") or {}
    return dict(
        name=droplet["name"],
        region=(droplet.get("region") or {}).get("slug"),
        size=droplet.get("size_slug"),
        image=image.get("slug") or str(image.get("id")),
        vpc_uuid=droplet.get("vpc_uuid"),
        tags=normalize_set(droplet.get("tags")),
        monitoring="monitoring" in (droplet.get("features") or []),
        ipv6="ipv6" in (droplet.get("features") or []),
        backups="backups" in (droplet.get("features") or []),
    )


def policy_state(record):
    """The managed part of a backup policy (``GET /v2/droplets/{id}/backups/policy``'s ``backup_policy``)."""
    if not record:
        return None
    state = dict((k, record.get(k)) for k in POLICY_FIELDS if record.get(k) is not None)
    if state.get("plan") != "weekly":
        state.pop("weekday", None)
    return state


def wanted_policy(before, asked):
    """The policy ``asked`` (the fields set) laid over ``before``: what the Droplet should have after."""
    after = dict(before or {})
    after.update((k, v) for k, v in (asked or {}).items() if v is not None)
    if after.get("plan") != "weekly":
        after.pop("weekday", None)
    return after


def address(droplet, kind):
    for net in ((droplet or {}).get("networks") or {}).get("v4") or []:
        if net.get("type") == kind:
            return net.get("ip_address")
    return None


class DropletManager(ResourceManager):
    result_key = "droplet"
    delete_operation = "droplets.destroy"
    default_wait = DEFAULT_WAIT
    kind = "Droplet"
    desired_options = (
        "region",
        "size",
        "image",
        "image_of",
        "vpc",
        "vpc_uuid",
        "ssh_keys",
        "tags",
        "monitoring",
        "ipv6",
        "backups",
        "backup_policy",
        "snapshot_keep",
    )

    def __init__(self, do):
        super().__init__(do)
        # An action (resize, rename) is always waited on, also with wait=false: the next action, or the
        # next task that finds the Droplet by its new name, needs it done.
        self.action_waiter = waiter_for(dict(self.params, wait=True), do.check_mode, DEFAULT_WAIT, self.api)

    def writes_nothing(self):
        # With an id, a name alone renames the Droplet: that is a write.
        return not self.params.get("id") and super().writes_nothing()

    def find(self):
        name = self.params["name"]
        if self.params["id"]:
            droplet = self.fetch(self.params["id"])
            if droplet is None and self.params["state"] == "present":
                self.do.fail("id: no Droplet has id %s (to be named %r)" % (self.params["id"], name))
            return droplet
        return self.named(self.api.list("droplets.list", "droplets", name=name), name, "Droplet name")

    def name_is_free(self, current):
        """Renaming ``current`` to ``name`` must not make two Droplets of one name."""
        name = self.params["name"]
        others = [d for d in self.api.list("droplets.list", "droplets", name=name) if d["name"] == name]
        others = [d for d in others if str(d["id"]) != str(current["id"])]
        if others:
            self.do.fail(
                "name: cannot rename Droplet %s (id %s) to %r: Droplet id %s already has that name"
                % (current["name"], current["id"], name, ", ".join(str(d["id"]) for d in others))
            )

    def fetch(self, droplet_id):
        body = self.api.call("droplets.get", droplet_id, missing_ok=True)
        return body["droplet"] if body else None

    def resolve_vpc(self):
        p = self.params
        if p["vpc_uuid"] or not p["vpc"]:
            return p["vpc_uuid"]
        vpc = self.vpc(p["vpc"])
        if vpc is None:
            return pending("vpc", p["vpc"])
        if p["region"] and vpc["region"] != p["region"]:
            self.do.fail("vpc: VPC %r is in %s, not in region %s" % (p["vpc"], vpc["region"], p["region"]))
        return vpc["id"]

    def desired(self, vpc_uuid):
        p = self.params
        want = desired_from(p, ("name", "region", "size", "image", "monitoring", "ipv6", "backups"))
        if p["tags"] is not None:
            want["tags"] = normalize_set(p["tags"])
        if vpc_uuid:
            want["vpc_uuid"] = vpc_uuid
        return want

    def check_backup_policy(self):
        """Refuse a policy the API would refuse, before any request: nothing is written on bad input."""
        p = self.params
        asked = p["backup_policy"]
        if asked is None or p["state"] == "absent":
            return
        if p["backups"] is not True:
            self.do.fail("backup_policy: a backup policy needs backups=true (backups is %s)" % p["backups"])
        if asked.get("weekday") and asked["plan"] != "weekly":
            self.do.fail(
                "backup_policy.weekday: only a weekly plan has a weekday (plan is %s, weekday %s)"
                % (asked["plan"], asked["weekday"])
            )

    def check_snapshot_keep(self):
        keep = self.params["snapshot_keep"]
        if keep is not None and keep < 1 and self.params["state"] == "present":
            self.do.fail(
                "snapshot_keep: %s keeps no snapshot; it must be at least 1 (the newest is the one a resize takes)"
                % keep
            )

    def current_policy(self, droplet):
        """The Droplet's backup policy (one read, of its own state: it decides a write); None without backups."""
        if "backups" not in (droplet.get("features") or []):
            return None
        body = self.api.call("droplets.get_backup_policy", droplet["id"])
        record = body.get("policy") or {}
        if not record.get("backup_enabled", True):
            return None
        return record.get("backup_policy") or {}

    def run(self):
        self.check_backup_policy()
        self.check_snapshot_keep()
        current = self.find()
        if self.params["state"] == "absent":
            return self.absent(current)
        vpc_uuid = self.resolve_vpc()
        want = self.desired(vpc_uuid)
        if current is None:
            return self.create(want)
        return self.update(current, want)

    def image_of(self):
        """The latest snapshot or backup of the Droplet ``image_of`` names, read through lists only (they
        answer while its region is down); fails, before any write, when there is none."""
        p = self.params
        source = self.named(self.api.list("droplets.list", "droplets", name=p["image_of"]), p["image_of"], "image_of")
        if source is None:
            self.do.fail("image_of: no Droplet named %r to create Droplet %r from" % (p["image_of"], p["name"]))
        ids = set(str(i) for i in (source.get("snapshot_ids") or []) + (source.get("backup_ids") or []))
        images = [i for i in self.api.list("images.list", "images", private=True) if str(i["id"]) in ids]
        if not images:
            self.do.fail(
                "image_of: Droplet %r has no snapshot or backup to create Droplet %r from" % (p["image_of"], p["name"])
            )
        image = max(images, key=lambda i: (i.get("created_at") or "", int(i["id"])))
        keys = ("id", "name", "type", "created_at", "regions")
        return dict(dict((k, image.get(k)) for k in keys), droplet=source["name"])

    def transfer(self, image):
        """Make ``image`` available in the Droplet's region: a transfer (or the one a killed run started), waited on."""
        region = self.params["region"]
        pending_transfer = [
            a
            for a in self.api.call("image_actions.list", image["id"]).get("actions") or []
            if a.get("type") == "transfer" and a.get("status") == "in-progress"
        ]
        action = (
            pending_transfer[0]
            if pending_transfer
            else self.api.call("image_actions.post", image["id"], {"type": "transfer", "region": region})["action"]
        )
        self.action_waiter.until(
            lambda: self.api.call("actions.get", action["id"])["action"],
            lambda a: _action_done(a, "transfer"),
            "transfer action %s of image %s to %s" % (action["id"], image["id"], region),
            results=lambda last: dict(image_from=image, action=_action_facts(last or action)),
            current=action,
        )

    def create(self, want):
        p = self.params
        image = None
        if p["image_of"]:
            image = self.image_of()
            p["image"] = want["image"] = str(image["id"])
        missing = [k for k in ("region", "size", "image") if not p[k]]
        if missing:
            self.do.fail("%s required to create Droplet %r" % (" and ".join(missing), p["name"]))
        change = Change({})
        change.update(want)
        extra = {}
        if image:
            extra = dict(
                image_from=image,
                plan_note="from %s %s (%s) of Droplet %s, taken %s%s"
                % (
                    image["type"],
                    image["name"],
                    image["id"],
                    image["droplet"],
                    image["created_at"],
                    "" if p["region"] in (image["regions"] or []) else ", transferred to %s first" % p["region"],
                ),
            )
            if not self.do.check_mode and p["region"] not in (image["regions"] or []):
                self.transfer(image)
        if p["backup_policy"]:
            change.set("backup_policy", wanted_policy(None, p["backup_policy"]))
        if self.do.check_mode:
            return dict(changed=True, droplet=change.after, diff=change.diff(), **extra)
        body = dict(name=p["name"], region=p["region"], size=p["size"], image=p["image"])
        if image:
            body["image"] = int(image["id"])
        for key in ("vpc_uuid", "ssh_keys", "tags", "monitoring", "ipv6", "backups", "user_data"):
            if want.get(key) is not None or p.get(key) is not None:
                body[key] = want.get(key, p.get(key))
        if p["backup_policy"]:
            body["backup_policy"] = change.after["backup_policy"]
        droplet = self.api.create(lambda: self.api.call("droplets.create", body)["droplet"], self.find)
        droplet = self.wait(droplet)
        result = self.result(True, droplet, change)
        result.update(extra)
        if p["backup_policy"]:
            result["backup_policy"] = self.current_policy(droplet) or {}
        return result

    def update(self, current, want):
        before = state_of(current)
        immutable = [
            k for k in ("region", "image", "vpc_uuid", "monitoring", "ipv6") if k in want and want[k] != before.get(k)
        ]
        if immutable:
            details = ", ".join("%s %r -> %r" % (k, before.get(k), want[k]) for k in immutable)
            self.do.fail(
                "Droplet %r cannot change %s in place; destroy and recreate it deliberately"
                % (self.params["name"], details)
            )
        asked_policy = self.params["backup_policy"]
        policy = None
        if asked_policy:
            policy = self.current_policy(current)
            before["backup_policy"] = policy_state(policy)
        snapshots = self.plan_snapshots(current, before, want)
        if snapshots:
            before["snapshots"] = snapshots["before"]
        # A Droplet found off (a run killed in the middle of a resize, or powered off by hand) is powered on: the
        # definition's Droplet serves. Not by a lookup (a name and nothing to converge), which writes nothing.
        found_off = current.get("status") == "off" and not self.writes_nothing()
        if found_off:
            before["power"] = "off"
        change = Change(before)
        change.update(want)
        if asked_policy:
            change.set("backup_policy", wanted_policy(before["backup_policy"], asked_policy))
        if snapshots:
            change.set("snapshots", snapshots["after"])
        if found_off:
            change.set("power", "on")
        renamed = before["name"] != want["name"]
        if renamed:
            self.name_is_free(current)
        droplet = current
        if change.changed and not self.do.check_mode:
            # A Droplet found off (a resize's run killed after its power off) is changed as it is: the resize
            # powers it on again.
            droplet = self.wait(current, seen=True, off_too=True)
            if renamed:
                self.action(droplet, {"type": "rename", "name": want["name"]})
            if change.after.get("tags") != before["tags"]:
                self.retag(droplet, before["tags"], change.after["tags"])
            if change.after.get("size") != before["size"]:
                self.resize(droplet, change.after["size"], snapshots.get("take"))
            elif droplet.get("status") == "off":
                self.action(droplet, {"type": "power_on"})
            backups_changed = self.converge_backups(droplet, change)
            for image in snapshots.get("delete", []):
                self.api.call("snapshots.delete", str(image["id"]), missing_ok=True)
            droplet = self.fetch(droplet["id"])
            if backups_changed and asked_policy:
                policy = self.current_policy(droplet)
        elif not self.do.check_mode:
            droplet = self.wait(current, seen=True)
        result = self.result(change.changed, droplet, change)
        if asked_policy:
            result["backup_policy"] = policy or {}
        notes = []
        if renamed:
            notes.append("in place: id %s keeps its addresses, disk and firewalls" % current["id"])
            result.update(plan_action="rename", plan_from=before["name"])
        if found_off:
            notes.append("power on (found off)")
        if snapshots:
            notes += snapshots["notes"]
            result.update(
                (k, snapshots[k]) for k in ("snapshot", "snapshots_deleted", "snapshots_over_keep") if k in snapshots
            )
            for kept in snapshots.get("snapshots_over_keep", []):
                self.do.module.warn(
                    "snapshot %s (id %s) of Droplet %s is beyond snapshot_keep=%s and kept: %s"
                    % (kept["name"], kept["id"], want["name"], self.params["snapshot_keep"], kept["why"])
                )
        if notes:
            result["plan_note"] = "; ".join(notes)
        return result

    # -- snapshots before a resize, and their retention -------------------------------------------
    def plan_snapshots(self, current, before, want):
        """What this run does with the Droplet's snapshots, decided before any write; {} when nothing is asked.

        ``before``/``after``: the Droplet's own snapshots by name with their creation time, for the diff (a
        snapshot to take shows as new, one to delete as null); ``take``: the snapshot to take before the resize
        (its name, or the one a killed run took or started); ``delete``: the images to delete; ``notes``.
        """
        p = self.params
        resize_to = want.get("size") if want.get("size") != before["size"] else None
        take_one = bool(resize_to and p["snapshot_before_resize"])
        if not take_one and p["snapshot_keep"] is None:
            return {}
        names = sorted(set([before["name"], want["name"]]))
        taken = self.snapshots_of(current)
        own = [i for i in taken if resize_of_snapshot(i["name"], names)]
        plan = dict(before=dict((i["name"], i.get("created_at")) for i in own), notes=[])
        plan["after"] = dict(plan["before"])
        newest_first = list(own)
        if take_one:
            take = self.snapshot_to_take(current, taken, names, before["size"], resize_to)
            take["name"] = take.get("name") or snapshot_name(want["name"], before["size"], resize_to)
            plan["snapshot"] = dict(name=take["name"], reused=bool(take.get("image") or take.get("action")))
            plan["take"] = dict(take, names=names, result=plan["snapshot"])
            if take.get("image"):
                plan["snapshot"]["id"] = take["image"]["id"]
                plan["notes"].append("snapshot %s of an earlier run used, not taken again" % take["name"])
            elif take.get("action"):
                plan["snapshot"]["name"] = None
                plan["notes"].append(
                    "snapshot action %s of an earlier run waited for and used, not taken again" % take["action"]["id"]
                )
                newest_first.insert(0, None)
            else:
                plan["after"][take["name"]] = "(taken before the resize to %s)" % resize_to
                plan["notes"].append("snapshot %s first" % take["name"])
                newest_first.insert(0, None)
        keep = p["snapshot_keep"]
        if keep is not None:
            plan["snapshots_deleted"], plan["snapshots_over_keep"] = [], []
            for image in [i for i in newest_first[keep:] if i is not None]:
                facts = dict((k, image.get(k)) for k in ("id", "name", "created_at"))
                why = self.snapshot_kept_why(image)
                if why:
                    plan["snapshots_over_keep"].append(dict(facts, why=why))
                else:
                    plan["snapshots_deleted"].append(facts)
                    plan["after"][image["name"]] = None
            plan["delete"] = plan["snapshots_deleted"]
            if plan["snapshots_deleted"]:
                plan["notes"].append(
                    "delete snapshot(s) %s beyond snapshot_keep=%s"
                    % (", ".join(i["name"] for i in plan["snapshots_deleted"]), keep)
                )
            if plan["snapshots_over_keep"]:
                plan["notes"].append(
                    "keep snapshot(s) %s beyond snapshot_keep=%s (%s)"
                    % (
                        ", ".join(i["name"] for i in plan["snapshots_over_keep"]),
                        keep,
                        "; ".join(sorted(set(i["why"] for i in plan["snapshots_over_keep"]))),
                    )
                )
        return plan

    def snapshots_of(self, droplet):
        """The Droplet's snapshots (its ``snapshot_ids``, read in the account's images: they carry tags), newest
        first; no read when it has none. Backups are never among them."""
        ids = set(str(i) for i in droplet.get("snapshot_ids") or [])
        if not ids:
            return []
        images = self.api.list("images.list", "images", private=True)
        mine = [i for i in images if str(i["id"]) in ids and i.get("type") == "snapshot"]
        return sorted(mine, key=lambda i: (i.get("created_at") or "", int(i["id"])), reverse=True)

    def snapshot_to_take(self, droplet, taken, names, size_from, size_to):
        """The snapshot before this resize: ``image`` (taken by a killed run), ``action`` (started by one, still in
        progress), or neither (take one).

        A killed run left the Droplet off with the snapshot as its latest action; a Droplet that is on, or that did
        anything since, gets a new snapshot (the disk may have changed).
        """
        if droplet["status"] != "off":
            return {}
        actions = self.api.call("droplet_actions.list", droplet["id"], per_page=20, page=1).get("actions") or []
        if not actions:
            return {}
        latest = max(actions, key=lambda a: (a.get("started_at") or "", int(a["id"])))
        if latest.get("type") != "snapshot" or latest.get("status") == "errored":
            return {}
        if latest.get("status") == "in-progress":
            return dict(action=latest)
        return self.same_resize(taken, names, size_from, size_to)

    @staticmethod
    def same_resize(taken, names, size_from, size_to):
        """``image``: the Droplet's newest snapshot, when this module took it for the resize from ``size_from`` to
        ``size_to``."""
        if taken and resize_of_snapshot(taken[0]["name"], names) == (size_from, size_to):
            return dict(image=taken[0], name=taken[0]["name"])
        return {}

    def snapshot_kept_why(self, image):
        """Why the delete guard keeps ``image``; None when it may be deleted."""
        p = self.params
        if not p["allow_delete"]:
            return "allow_delete is false"
        if image["name"] in (p["protected_names"] or []):
            return "listed in protected_names"
        if p.get("protected_tag") and p["protected_tag"] in (image.get("tags") or []):
            return "tagged %s" % p["protected_tag"]
        return None

    def take_snapshot(self, droplet, take, size_from, size_to):
        """Take the snapshot of ``take`` (the powered-off ``droplet``), or wait for the one a killed run started;
        its name and id go to the result (``take["result"]``)."""
        if take.get("image"):
            return
        if take.get("action"):
            action = take["action"]
            self.action_waiter.until(
                lambda: self.api.call("actions.get", action["id"])["action"],
                lambda a: _action_done(a, "snapshot"),
                "snapshot action %s of Droplet %s" % (action["id"], droplet["name"]),
                results=lambda last: dict(droplet=droplet, action=_action_facts(last or action)),
            )
            started = self.same_resize(self.snapshots_of(self.fetch(droplet["id"])), take["names"], size_from, size_to)
            if started:
                take["result"].update(name=started["name"], id=started["image"]["id"])
                return
            # Someone else's snapshot: this resize still takes its own.
            take["result"].update(name=take["name"], reused=False)
        self.action(droplet, {"type": "snapshot", "name": take["name"]})

    def converge_backups(self, droplet, change):
        """Enable, disable or re-plan the Droplet's backups as ``change`` says; whether an action was taken."""
        before, after = change.before, change.after
        if after["backups"] != before["backups"]:
            if not after["backups"]:
                self.action(droplet, {"type": "disable_backups"})
                return True
            body = {"type": "enable_backups"}
            if after.get("backup_policy"):
                body["backup_policy"] = after["backup_policy"]
            self.action(droplet, body)
            return True
        if after["backups"] and after.get("backup_policy") != before.get("backup_policy"):
            self.action(droplet, {"type": "change_backup_policy", "backup_policy": after["backup_policy"]})
            return True
        return False

    def retag(self, droplet, old, new):
        ref = [dict(resource_id=str(droplet["id"]), resource_type="droplet")]
        for tag in sorted(set(new) - set(old)):
            self.api.call("tags.create", {"name": tag}, idempotent=True)
            self.api.call("tags.assign_resources", tag, {"resources": ref}, idempotent=True)
        for tag in sorted(set(old) - set(new)):
            self.api.call("tags.unassign_resources", tag, {"resources": ref})

    def action(self, droplet, body):
        action = self.api.call("droplet_actions.post", droplet["id"], body)["action"]
        self.action_waiter.until(
            lambda: self.api.call("actions.get", action["id"])["action"],
            lambda a: _action_done(a, body["type"]),
            "%s action %s of Droplet %s" % (body["type"], action["id"], droplet["name"]),
            results=lambda last: dict(droplet=droplet, action=_action_facts(last or action)),
        )

    def resize(self, droplet, size, snapshot=None):
        if droplet["status"] != "off":
            self.action(droplet, {"type": "power_off"})
        if snapshot is not None:
            self.take_snapshot(droplet, snapshot, droplet["size_slug"], size)
        self.action(droplet, {"type": "resize", "size": size, "disk": self.params["resize_disk"]})
        self.action(droplet, {"type": "power_on"})

    def wait(self, droplet, seen=False, off_too=False):
        """Wait for ``droplet`` to be active (``off_too``: or off, not being created nor in a transition);
        ``seen``: it was just read, so it is the first look."""
        return self.waiter.until(
            lambda: self.fetch(droplet["id"]),
            (lambda d: d.get("status") == "off" or droplet_active(d)) if off_too else droplet_active,
            "Droplet %s to become active%s" % (droplet["name"], " or off" if off_too else ""),
            results=lambda last: dict(droplet=last or droplet),
            current=droplet if seen else None,
        )

    def result(self, changed, droplet, change):
        return dict(
            changed=changed,
            droplet=droplet,
            diff=change.diff(),
            public_ipv4=address(droplet, "public"),
            private_ipv4=address(droplet, "private"),
        )

    def absent(self, current):
        return self.delete(current, state_of(current))


def _action_done(action, kind):
    if action["status"] == "errored":
        raise WaitFailed("%s action %s errored" % (kind, action["id"]))
    return action["status"] == "completed"


def _action_facts(action):
    return dict((k, action.get(k)) for k in ("id", "type", "status", "started_at", "completed_at"))


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            id=dict(type="str"),
            region=dict(type="str"),
            size=dict(type="str"),
            image=dict(type="str"),
            image_of=dict(type="str"),
            vpc=dict(type="str"),
            vpc_uuid=dict(type="str"),
            ssh_keys=dict(type="list", elements="str", no_log=False),
            tags=dict(type="list", elements="str"),
            monitoring=dict(type="bool"),
            ipv6=dict(type="bool"),
            backups=dict(type="bool"),
            backup_policy=dict(
                type="dict",
                options=dict(
                    plan=dict(type="str", required=True, choices=["daily", "weekly"]),
                    weekday=dict(type="str", choices=["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
                    hour=dict(type="int", choices=[0, 4, 8, 12, 16, 20]),
                ),
            ),
            user_data=dict(type="str"),
            resize_disk=dict(type="bool", default=False),
            snapshot_before_resize=dict(type="bool", default=False),
            snapshot_keep=dict(type="int"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        wait=True,
        guard_delete=True,
        protected_tag=True,
        supports_check_mode=True,
        mutually_exclusive=[("vpc", "vpc_uuid"), ("image", "image_of")],
    )
    do.run(DropletManager)


if __name__ == "__main__":
    main()
