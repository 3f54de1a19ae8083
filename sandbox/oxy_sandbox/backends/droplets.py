"""Droplets, their actions, and the machines behind them.

The store stays the source of truth. A machine-backed droplet carries ``_addresses`` (its public
and private IPv4, fixed at creation) and ``_machine: true``; its status moves to ``active`` (and
its actions to ``completed``) only once the machine did the work, never before the configured
delay. Every change that can alter who may reach a machine ends in the networking backend's
``sync_firewalls``.
"""

from __future__ import annotations

import ipaddress
import logging
import time

from .. import catalog
from ..errors import APIError, unprocessable
from ..store import Frozen, public
from ..util import now_iso
from .base import Backend
from .images import next_window, policy
from .networking import check_region

log = logging.getLogger("oxy_sandbox.droplets")

POWER = {
    "power_off": dict(on=False),
    "shutdown": dict(on=False),
    "power_on": dict(on=True),
    "reboot": dict(on=True, restart=True),
    "power_cycle": dict(on=True, restart=True),
}
MACHINE_ACTIONS = {*POWER, "resize"}
TAG_ACTIONS = {
    "power_cycle",
    "power_on",
    "power_off",
    "shutdown",
    "enable_ipv6",
    "enable_backups",
    "disable_backups",
    "snapshot",
}


def _ipv6_networks(droplet_id: int) -> list[dict]:
    """A droplet's public IPv6, from the documentation range (machines have IPv4 only)."""
    # The id in the interface identifier's low 64 bits (one hex group holds at most four digits).
    address = ipaddress.IPv6Address((0x20010DB8 << 96) | droplet_id)
    return [{"ip_address": str(address), "netmask": 64, "gateway": "2001:db8::1", "type": "public"}]


def _remaining(started: float, delay: float) -> float:
    return max(0.0, started + delay - time.time())


class DropletsBackend(Backend):
    def machines_on(self) -> bool:
        return self.sb.machines is not None and self.settings.machines

    # -- reading ------------------------------------------------------------------------
    def list(self, tag_name: str | None = None, name: str | None = None, kind: str | None = None) -> list[Frozen]:
        if tag_name and (name or kind):
            raise unprocessable("tag_name cannot be combined with name or type")
        if kind not in (None, "droplets", "gpus"):
            raise unprocessable("type: must be droplets or gpus")
        rows = sorted(self.store.all("droplets"), key=lambda d: d["id"])
        if tag_name:
            rows = [d for d in rows if tag_name in d["tags"]]
        if name:
            rows = [d for d in rows if d["name"].lower() == name.lower()]
        if kind == "gpus":
            rows = []
        return rows

    def get(self, droplet_id: int) -> Frozen:
        return self.must("droplets", droplet_id)

    def snapshots(self, droplet_id: int) -> list[dict]:
        """The snapshots the droplet's ``snapshot`` actions took (once each action completed)."""
        self.get(droplet_id)
        return self.sb.images.of_droplet(droplet_id, "snapshot")

    def backups(self, droplet_id: int) -> list[dict]:
        """The droplet's backups: the ones the sandbox took (``POST /_sandbox/droplets/{id}/backup``)."""
        self.get(droplet_id)
        return self.sb.images.of_droplet(droplet_id, "backup")

    def backup_policy(self, droplet_id: int) -> dict:
        """``GET /v2/droplets/{id}/backups/policy``: whether backups are on, the policy and the next window."""
        droplet = self.get(droplet_id)
        enabled = "backups" in droplet["features"]
        record: dict = {"droplet_id": droplet_id, "backup_enabled": enabled}
        if enabled and droplet.get("_backup_policy"):
            record["backup_policy"] = droplet["_backup_policy"]
            record["next_backup_window"] = next_window(droplet["_backup_policy"])
        return record

    def backup_policies(self) -> dict[str, dict]:
        """``GET /v2/droplets/backups/policies``: every droplet's policy record, by droplet id."""
        return {str(d["id"]): self.backup_policy(d["id"]) for d in self.list()}

    @staticmethod
    def supported_backup_policies() -> list[dict]:
        return [
            {
                "name": "weekly",
                "possible_window_starts": [0, 4, 8, 12, 16, 20],
                "window_length_hours": 4,
                "retention_period_days": 28,
                "possible_days": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            },
            {
                "name": "daily",
                "possible_window_starts": [0, 4, 8, 12, 16, 20],
                "window_length_hours": 4,
                "retention_period_days": 7,
                "possible_days": [],
            },
        ]

    def kernels(self, droplet_id: int) -> list[dict]:
        """Kernels the droplet could switch to: none, its kernel is managed inside it (``kernel`` is null)."""
        self.get(droplet_id)
        return []

    def neighbors(self, droplet_id: int) -> list[Frozen]:
        """The account's droplets on the same physical host: DigitalOcean spreads them, so none."""
        self.get(droplet_id)
        return []

    # -- creating -----------------------------------------------------------------------
    def create(self, body) -> list[tuple[Frozen, Frozen]]:
        """Droplets for a ``DropletCreate`` (``name`` or ``names``), each with its create action."""
        region = check_region(body.region or "nyc3")
        self.sb.regions.refuse(region)
        if body.size not in catalog.size_slugs():
            raise unprocessable(f"size: {body.size!r} is not a valid size for Droplet creation")
        image = catalog.image(body.image)
        if image is None:
            own = self.sb.images.usable(body.image, region, catalog.size(body.size)["disk"])
            if own is None:
                raise unprocessable(f"image: {body.image!r} is not a valid image for Droplet creation")
            # A machine boots the image's disk when it has one (an image taken without machines has none).
            image = {**public(own), "_id": own["id"] if own.get("_disk") else None}
        if body.backup_policy is not None and not body.backups:
            raise unprocessable("backup_policy: backups must be enabled to set a backup policy")
        backup_policy = policy(body.backup_policy.model_dump(exclude_none=True) if body.backup_policy else None)
        for key in body.ssh_keys or []:
            if self.sb.account.find_key(key) is None:
                raise unprocessable(f"ssh_keys: {key!r} is not an SSH key id or fingerprint on this account")
        vpc = self.sb.networking.resolve_vpc(body.vpc_uuid, region, "vpc_uuid", f"region {region}")
        names = [body.name] if body.name is not None else body.names
        return [self._create_one(name, body, region, image, vpc, backup_policy) for name in names]

    def _create_one(
        self, name: str, body, region: str, image: dict, vpc: Frozen, backup_policy: dict
    ) -> tuple[Frozen, Frozen]:
        did = self.store.next_id("droplet", 500000001)
        size = catalog.size(body.size)
        machine = self.machines_on()
        features = ["droplet_agent", "private_networking"]
        features += [
            f for f, on in (("backups", body.backups), ("ipv6", body.ipv6), ("monitoring", body.monitoring)) if on
        ]
        private_ip = self.sb.networking.allocate_private_ip(vpc["id"])
        vpc_net = ipaddress.ip_network(vpc["ip_range"])
        v4 = [{"ip_address": private_ip, "netmask": str(vpc_net.netmask), "gateway": "nil", "type": "private"}]
        public_ip = None
        if body.public_networking:
            public_ip, netmask, gateway = self.sb.networking.public_ip(machine)
            v4.append({"ip_address": public_ip, "netmask": netmask, "gateway": gateway, "type": "public"})
        v6 = _ipv6_networks(did) if body.ipv6 else []
        self.sb.account.ensure_tags(body.tags)
        keys = [self.sb.account.find_key(k)["public_key"] for k in body.ssh_keys or []]
        active = {"status": "active", "networks": {"v4": v4, "v6": v6}}
        droplet = {
            "id": did,
            "name": name,
            "memory": size["memory"],
            "vcpus": size["vcpus"],
            "disk": size["disk"],
            "disk_info": size["disk_info"],
            "locked": False,
            "status": "new",
            "kernel": None,
            "created_at": now_iso(),
            "features": features,
            "backup_ids": [],
            "snapshot_ids": [],
            "next_backup_window": next_window(backup_policy) if body.backups else None,
            "image": {k: v for k, v in image.items() if not k.startswith("_")},
            "volume_ids": list(body.volumes or []),
            "size": size,
            "size_slug": size["slug"],
            "networks": {"v4": [], "v6": []},
            "region": catalog.region(region),
            "tags": list(dict.fromkeys(body.tags or [])),
            "vpc_uuid": vpc["id"],
            "_user_data": body.user_data,
            "_ssh_keys": body.ssh_keys or [],
            "_authorized_keys": keys,
            "_addresses": {"public": public_ip, "private": private_ip},
            "_machine": machine and public_ip is not None,
            "_on_active": active,
            "_backup_policy": backup_policy if body.backups else None,
            "_from_image": image.get("_id"),
        }
        if droplet["_machine"]:
            action = self.sb.account.new_action("create", did, region, None)
        else:
            self.store.schedule(droplet, self.settings.droplet_delay, active)
            action = self.sb.account.new_action("create", did, region, self.settings.droplet_delay)
        droplet["_create_action"] = action["id"]
        stored = self.store.create("droplets", did, droplet)
        self.sb.projects.assign(f"do:droplet:{did}")
        if stored["_machine"]:
            self._create_machine(stored, self.store.get("vpcs", vpc["id"]), keys, action["id"], active)
        return stored, action

    # -- destroying ---------------------------------------------------------------------
    def _destroy(self, droplet: Frozen) -> None:
        self.store.delete("droplets", droplet["id"])
        self.sb.projects.forget(f"do:droplet:{droplet['id']}")
        self.sb.networking.forget_droplet(droplet["id"])
        self.sb.images.forget_droplet(droplet["id"])
        if droplet.get("_machine") and self.sb.machines is not None:
            self.sb.machines.submit(droplet["id"], self.sb.machines.destroy, droplet["id"])

    def destroy(self, droplet_id: int) -> None:
        self._destroy(self.get(droplet_id))

    def destroy_by_tag(self, tag_name: str) -> None:
        for droplet in [d for d in self.store.all("droplets") if tag_name in d["tags"]]:
            self._destroy(droplet)

    def destroy_dangerously(self, droplet_id: int, confirmed: bool) -> None:
        droplet = self.get(droplet_id)
        if not confirmed:
            raise APIError(412, "X-Dangerous: true is required to destroy a droplet with its associated resources")
        self._destroy(droplet)

    # -- actions ------------------------------------------------------------------------
    def actions(self, droplet_id: int) -> list[Frozen]:
        self.get(droplet_id)
        return self.sb.account.actions(resource_id=droplet_id)

    def action(self, droplet_id: int, action_id: int) -> Frozen:
        return self.sb.account.action(action_id, resource_id=droplet_id)

    def act(self, droplet_id: int, body) -> Frozen:
        return self._act(self.get(droplet_id), body)

    def act_by_tag(self, tag_name: str, body) -> list[Frozen]:
        if body.type not in TAG_ACTIONS:
            raise unprocessable(f"type: {body.type} cannot be applied by tag")
        droplets = [d for d in self.store.all("droplets") if tag_name in d["tags"]]
        return [self._act(d, body) for d in droplets]

    def _act(self, droplet: Frozen, body) -> Frozen:
        kind = body.type
        region = droplet["region"]["slug"]
        if droplet["status"] == "new" or self.sb.account.busy(droplet["id"]):
            raise unprocessable("Droplet already has a pending event.")
        changes: dict = {}
        if kind in ("power_off", "shutdown"):
            changes = {"status": "off"}
        elif kind in ("power_on", "reboot", "power_cycle"):
            changes = {"status": "active"}
        elif kind == "resize":
            if body.size not in catalog.size_slugs():
                raise unprocessable(f"size: {body.size!r} is not a valid size")
            if droplet["status"] != "off":
                raise unprocessable("Droplet is currently on. Please power it off to run this event.")
            size = catalog.size(body.size)
            if size["disk"] < droplet["disk"] and body.disk:
                raise unprocessable("size: a droplet's disk cannot shrink")
            changes = {"size": size, "size_slug": size["slug"], "memory": size["memory"], "vcpus": size["vcpus"]}
            if body.disk:
                changes["disk"] = size["disk"]
        elif kind == "rename":
            if not body.name:
                raise unprocessable("name: is required for rename")
            changes = {"name": body.name}
        elif kind in ("rebuild", "restore"):
            changes = self._reimage(droplet, kind, body.image)
            if droplet.get("_machine") and self.sb.machines is not None:
                action = self.sb.account.new_action(kind, droplet["id"], region, None)
                self._machine_reimage(droplet, action, changes)
                return action
        elif kind == "snapshot":
            return self.sb.images.take(droplet, "snapshot", body.name)[1]
        elif kind == "enable_ipv6":
            changes = {
                "networks": {**droplet["networks"], "v6": _ipv6_networks(droplet["id"])},
                "features": sorted({*droplet["features"], "ipv6"}),
            }
        elif kind in ("enable_backups", "change_backup_policy"):
            if kind == "change_backup_policy" and "backups" not in droplet["features"]:
                raise unprocessable("Backups are not enabled for this Droplet.")
            if kind == "change_backup_policy" and body.backup_policy is None:
                raise unprocessable("backup_policy: is required for change_backup_policy")
            asked = body.backup_policy.model_dump(exclude_none=True) if body.backup_policy else None
            chosen = policy(asked, droplet.get("_backup_policy"))
            changes = {
                "features": sorted({*droplet["features"], "backups"}),
                "next_backup_window": next_window(chosen),
                "_backup_policy": chosen,
            }
        elif kind == "disable_backups":
            changes = {
                "features": [f for f in droplet["features"] if f != "backups"],
                "next_backup_window": None,
                "_backup_policy": None,
            }
        if droplet.get("_machine") and self.sb.machines is not None and kind in MACHINE_ACTIONS:
            action = self.sb.account.new_action(kind, droplet["id"], region, None)
            self._machine_action(droplet, action, changes, catalog.size(body.size) if kind == "resize" else None)
            return action
        action = self.sb.account.new_action(kind, droplet["id"], region, self.settings.action_delay)
        if changes:
            with self.store.editing("droplets", droplet["id"]) as changing:
                self.store.schedule(changing, self.settings.action_delay, changes)
        return action

    def _reimage(self, droplet: Frozen, kind: str, ref) -> dict:
        """The changes of a ``rebuild`` (from a public image, or a snapshot or backup of the account in the
        droplet's region) or a ``restore`` (from one of the droplet's own snapshots or backups): its disk
        becomes the image's, its id and addresses stay."""
        if ref is None and kind == "restore":
            raise unprocessable("image: a backup or snapshot id is required to restore a droplet")
        ref = droplet["image"]["id"] if ref is None else ref
        image = catalog.image(ref) if kind == "rebuild" else None
        own = None
        if image is None:
            own = self.sb.images.usable(ref, droplet["region"]["slug"], droplet["disk"])
            if own is None or (kind == "restore" and own["_droplet_id"] != droplet["id"]):
                what = "a backup or snapshot of this droplet" if kind == "restore" else "a valid image"
                raise unprocessable(f"image: {ref!r} is not {what} to {kind} from")
            image = public(own)
        changes: dict = {"_from_image": own["id"] if own is not None and own.get("_disk") else None}
        if kind == "rebuild":
            changes["image"] = image
        return changes

    # -- machines -----------------------------------------------------------------------
    def _machine_reimage(self, droplet: Frozen, action: Frozen, changes: dict) -> None:
        """A new machine for the droplet (same name, addresses, keys) booted from the image's disk (or
        the base image), its old machine and disk gone; the action completes once SSH answers."""
        sb = self.sb
        started = time.time()
        delay = self.settings.action_delay

        def job() -> None:
            try:
                sb.machines.destroy(droplet["id"])
                vpc = self.store.get("vpcs", droplet["vpc_uuid"])
                keys = droplet.get("_authorized_keys") or []
                sb.machines.create(droplet, vpc, keys, droplet.get("_user_data"), changes["_from_image"])
            except Exception:
                self._finish(droplet["id"], action["id"], 0, {}, ok=False)
                raise
            self._finish(droplet["id"], action["id"], _remaining(started, delay), changes, ok=True)
            sb.networking.sync_firewalls()

        sb.machines.submit(droplet["id"], job)

    def _finish(self, droplet_id: int, action_id: int | None, delay: float, changes: dict, ok: bool) -> None:
        """Record the machine's work: the droplet's changes and its action's end."""
        with self.store.lock:
            if action_id:
                self.sb.account.finish_action(action_id, delay, ok)
            if ok and changes and self.store.get("droplets", droplet_id) is not None:
                with self.store.editing("droplets", droplet_id) as droplet:
                    self.store.schedule(droplet, delay, changes)

    def _create_machine(self, droplet: Frozen, vpc: Frozen, keys: list[str], action_id: int, active: dict) -> None:
        """Boot ``droplet``'s machine; the droplet becomes ``active`` (with ``active`` applied) once SSH answers."""
        sb = self.sb
        started = time.time()
        delay = self.settings.droplet_delay

        def job() -> None:
            try:
                sb.machines.create(droplet, vpc, keys, droplet.get("_user_data"), droplet.get("_from_image"))
            except Exception:
                self._finish(droplet["id"], action_id, 0, {}, ok=False)
                raise
            if self.store.get("droplets", droplet["id"]) is None:  # deleted while it booted
                sb.machines.destroy(droplet["id"])
                return
            self._finish(droplet["id"], action_id, _remaining(started, delay), active, ok=True)
            sb.networking.sync_firewalls()

        sb.machines.submit(droplet["id"], job)

    def _machine_action(self, droplet: Frozen, action: Frozen, changes: dict, size: dict | None) -> None:
        """Do ``action`` (a power action or resize) on the droplet's machine."""
        sb = self.sb
        kind = action["type"]
        started = time.time()
        delay = self.settings.action_delay

        def job() -> None:
            try:
                if kind == "resize":
                    sb.machines.resize(droplet, size)
                else:
                    sb.machines.power(droplet, **POWER[kind])
            except Exception:
                self._finish(droplet["id"], action["id"], 0, {}, ok=False)
                raise
            self._finish(droplet["id"], action["id"], _remaining(started, delay), changes, ok=True)

        sb.machines.submit(droplet["id"], job)

    def reconcile(self) -> None:
        """After a restart: machines follow the store; machines of droplets that are gone are removed."""
        machines = self.sb.machines
        if machines is None:
            return
        owned = machines.owned()
        droplets = {d["id"]: d for d in self.store.all("droplets") if d.get("_machine")}
        for droplet_id in set(owned) - set(droplets):
            log.info("removing the machine of deleted droplet %s", droplet_id)
            machines.submit(droplet_id, machines.destroy, droplet_id)
        for droplet_id, droplet in droplets.items():
            container = owned.get(droplet_id)
            status = droplet["status"]
            if status == "new":  # its boot was cut short: finish it
                machines.submit(droplet_id, self._finish_boot, droplet, container is None)
            elif container is None:
                log.warning("droplet %s lost its machine; booting a new one", droplet_id)
                machines.submit(droplet_id, self._boot, droplet)
                if status == "off":
                    machines.submit(droplet_id, machines.power, droplet, False)
            elif status == "active" and container.status != "running":
                machines.submit(droplet_id, machines.power, droplet, True)
            elif status == "off" and container.status == "running":
                machines.submit(droplet_id, machines.power, droplet, False)
        self.sb.networking.sync_firewalls()

    def _boot(self, droplet: Frozen) -> None:
        vpc = self.store.get("vpcs", droplet["vpc_uuid"])
        image = self.store.get("images", str(droplet.get("_from_image")))  # its snapshot's disk, while it exists
        image_id = image["id"] if image is not None and image.get("_disk") else None
        keys = droplet.get("_authorized_keys") or []
        self.sb.machines.create(droplet, vpc, keys, droplet.get("_user_data"), image_id)

    def _finish_boot(self, droplet: Frozen, missing: bool) -> None:
        if missing:
            self._boot(droplet)
        else:
            self.sb.machines.power(droplet, on=True)
        self._finish(droplet["id"], droplet.get("_create_action"), 0, droplet.get("_on_active") or {}, ok=True)
        self.sb.networking.sync_firewalls()

    def reset(self) -> None:
        """Every machine, network and firewall rule of this sandbox goes (``/_sandbox/reset``)."""
        if self.sb.machines is not None:
            self.sb.machines.remove_all()
        if self.sb.netfilter is not None:
            self.sb.netfilter.remove()
