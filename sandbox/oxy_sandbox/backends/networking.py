"""Networking: VPCs (Docker networks when droplets are machines) and cloud firewalls (iptables rules)."""

from __future__ import annotations

import ipaddress

from .. import catalog
from ..errors import APIError, unprocessable
from ..store import Frozen
from ..util import new_uuid, now_iso
from .base import Backend
from .machines import PUBLIC_RANGE, PublicNetwork

_MEMBER_PREFIX = {"droplet": "do:droplet:", "database": "do:dbaas:", "app": "do:app:"}


def check_region(slug: str | None, field: str = "region") -> str:
    if slug not in dict(catalog.REGIONS):
        raise unprocessable(f"{field}: {slug!r} is not a valid region")
    return slug


class NetworkingBackend(Backend):
    # -- VPCs -------------------------------------------------------------------------
    def _free_range(self) -> str:
        taken = [ipaddress.ip_network(v["ip_range"]) for v in self.store.all("vpcs")]
        if self.sb.machines is not None:  # VPCs become Docker networks: keep clear of every network here
            taken += self.sb.machines.used_subnets()
        for second in range(100, 256):
            candidate = ipaddress.ip_network(f"10.{second}.0.0/20")
            if not any(candidate.overlaps(t) for t in taken):
                return str(candidate)
        raise APIError(422, "ip_range: no free /20 left in 10.0.0.0/8")

    def vpcs(self) -> list[Frozen]:
        return sorted(self.store.all("vpcs"), key=lambda v: v["created_at"])

    def vpc(self, vpc_id: str) -> Frozen:
        return self.must("vpcs", vpc_id)

    def create_vpc(self, name: str, region: str, description: str = "", ip_range: str | None = None) -> Frozen:
        self.sb.regions.refuse(check_region(region))  # a region outage (sandbox fault)
        return self._new_vpc(name, check_region(region), description, ip_range)

    def _new_vpc(self, name: str, region: str, description: str = "", ip_range: str | None = None) -> Frozen:
        if next(self.store.find("vpcs", name=name), None):
            raise unprocessable(f"name: a VPC named {name!r} already exists")
        if ip_range:
            net = ipaddress.ip_network(ip_range)
            for other in self.store.all("vpcs"):
                if net.overlaps(ipaddress.ip_network(other["ip_range"])):
                    raise unprocessable(f"ip_range: {ip_range} overlaps VPC {other['name']} ({other['ip_range']})")
        vid = new_uuid()
        is_default = not any(v["region"] == region for v in self.store.all("vpcs"))
        vpc = {
            "id": vid,
            "urn": f"do:vpc:{vid}",
            "name": name,
            "description": description,
            "region": region,
            "ip_range": ip_range or self._free_range(),
            "default": is_default,
            "created_at": now_iso(),
            "_next_host": 2,
        }
        return self.store.create("vpcs", vid, vpc)

    def region_default_vpc(self, region: str) -> Frozen:
        for vpc in self.store.all("vpcs"):
            if vpc["region"] == region and vpc["default"]:
                return vpc
        return self._new_vpc(f"default-{region}", region)

    def resolve_vpc(self, vpc_id: str | None, region: str, field: str, in_region: str) -> Frozen:
        """The VPC a new resource in ``region`` joins: the one named (which must be there) or the region's default."""
        if not vpc_id:
            return self.region_default_vpc(region)
        vpc = self.store.get("vpcs", vpc_id)
        if vpc is None:
            raise unprocessable(f"{field}: VPC {vpc_id} does not exist")
        if vpc["region"] != region:
            raise unprocessable(f"{field}: VPC {vpc['name']} is in {vpc['region']}, not in {in_region}")
        return vpc

    def allocate_private_ip(self, vpc_id: str) -> str:
        with self.store.editing("vpcs", vpc_id) as vpc:
            host = vpc["_next_host"]
            vpc["_next_host"] = host + 1
        net = ipaddress.ip_network(vpc["ip_range"])
        return str(net.network_address + (host % (net.num_addresses - 2)) + 1)

    def public_ip(self, machine: bool) -> tuple[str, str, str]:
        """(address, netmask, gateway) on the public network: the lowest one no droplet or cluster server holds.

        Public addresses come from the sandbox's public network (PUBLIC_RANGE unless configured otherwise).
        Machine-less droplets take them too, and may share one once the range is used up; a droplet with a
        machine, or a cluster's server, never does.
        """
        machines = self.sb.machines
        public = machines.public if machines else PublicNetwork(ipaddress.ip_network(PUBLIC_RANGE))
        net, pool = public.subnet, public.pool()
        taken = {(d.get("_addresses") or {}).get("public") for d in self.store.all("droplets")}
        taken |= {(d.get("_addresses") or {}).get("public") for d in self.store.all("databases")}
        if machine:
            taken |= machines.used_public_addresses()
        free = [a for a in pool if a not in taken]
        if not free:
            if machine:
                raise unprocessable("the sandbox's public network has no address left for another machine")
            free = [pool[self.store.next_id("public_ip_wrap", 0) % len(pool)]]
        return free[0], str(net.netmask), str(net.network_address + 1)

    def members(self, vpc_id: str, resource_type: str | None = None) -> list[dict]:
        self.vpc(vpc_id)
        rows = []
        for d in self.store.all("droplets"):
            if d.get("vpc_uuid") == vpc_id:
                rows.append({"urn": f"do:droplet:{d['id']}", "name": d["name"], "created_at": d["created_at"]})
        for db in self.store.all("databases"):
            if db.get("private_network_uuid") == vpc_id:
                rows.append({"urn": f"do:dbaas:{db['id']}", "name": db["name"], "created_at": db["created_at"]})
        for app in self.store.all("apps"):
            if (app.get("vpc") or {}).get("id") == vpc_id:
                rows.append(
                    {"urn": f"do:app:{app['id']}", "name": app["spec"]["name"], "created_at": app["created_at"]}
                )
        if resource_type:
            prefix = _MEMBER_PREFIX.get(resource_type, f"do:{resource_type}:")
            rows = [r for r in rows if r["urn"].startswith(prefix)]
        return rows

    def change_vpc(self, vpc_id: str, changes: dict) -> Frozen:
        vpc = self.vpc(vpc_id)
        if (
            "name" in changes
            and changes["name"] != vpc["name"]
            and next(self.store.find("vpcs", name=changes["name"]), None)
        ):
            raise unprocessable(f"name: a VPC named {changes['name']!r} already exists")
        if changes.get("default") is False and vpc["default"]:
            raise unprocessable("default: a default VPC cannot be unset; make another VPC the default instead")
        with self.store.lock:
            if changes.get("default"):
                for other in self.store.all("vpcs"):
                    if other["region"] == vpc["region"] and other["default"] and other["id"] != vpc["id"]:
                        self.store.patch("vpcs", other["id"], default=False)
            return self.store.patch("vpcs", vpc_id, **{k: v for k, v in changes.items() if v is not None})

    def delete_vpc(self, vpc_id: str) -> None:
        vpc = self.vpc(vpc_id)
        if vpc["default"]:
            raise APIError(403, "Cannot delete the default VPC for a region.")
        if self.members(vpc_id):
            raise APIError(403, "Cannot delete a VPC with members.")
        self.store.delete("vpcs", vpc_id)
        if self.sb.machines is not None:
            self.sb.machines.remove_vpc_network(vpc_id)

    # -- Firewalls --------------------------------------------------------------------
    def _check_refs(self, droplet_ids: list[int] | None, tags: list[str] | None, rules: list[dict]) -> None:
        ids = set(droplet_ids or [])
        tag_names = set(tags or [])
        for rule in rules:
            targets = rule.get("sources") or rule.get("destinations") or {}
            ids |= set(targets.get("droplet_ids") or [])
            tag_names |= set(targets.get("tags") or [])
        for did in sorted(ids):
            if self.store.get("droplets", did) is None:
                raise APIError(400, f"droplet_ids: droplet {did} does not exist")
        for tag in sorted(tag_names):
            if self.store.get("tags", tag) is None:
                raise APIError(
                    400, f"tags: tag {tag!r} does not exist; tags must exist before a firewall references them"
                )

    def _pending(self, fw: dict, droplet_ids: list[int], removing: bool = False) -> None:
        fw["status"] = "waiting"
        fw["pending_changes"] = [{"droplet_id": d, "removing": removing, "status": "waiting"} for d in droplet_ids]
        self.store.schedule(fw, self.settings.firewall_delay, {"status": "succeeded", "pending_changes": []})

    def firewalls(self, droplet_id: int | None = None) -> list[Frozen]:
        rows = sorted(self.store.all("firewalls"), key=lambda f: f["created_at"])
        if droplet_id is not None:
            self.must("droplets", droplet_id)
            rows = [f for f in rows if droplet_id in f["droplet_ids"]]
        return rows

    def firewall(self, firewall_id: str) -> Frozen:
        return self.must("firewalls", firewall_id)

    def create_firewall(
        self, name: str, inbound: list[dict], outbound: list[dict], droplet_ids: list[int], tags: list[str]
    ) -> Frozen:
        self._check_refs(droplet_ids, tags, inbound + outbound)
        fw = {
            "id": new_uuid(),
            "name": name,
            "status": "waiting",
            "created_at": now_iso(),
            "pending_changes": [],
            "inbound_rules": inbound,
            "outbound_rules": outbound,
            "droplet_ids": list(droplet_ids),
            "tags": list(tags),
        }
        self._pending(fw, fw["droplet_ids"])
        return self.store.create("firewalls", fw["id"], fw)

    def replace_firewall(
        self,
        firewall_id: str,
        name: str,
        inbound: list[dict],
        outbound: list[dict],
        droplet_ids: list[int],
        tags: list[str],
    ) -> Frozen:
        """PUT is a full replacement: whatever is omitted goes back to its empty default."""
        self.firewall(firewall_id)
        self._check_refs(droplet_ids, tags, inbound + outbound)
        with self.store.editing("firewalls", firewall_id) as fw:
            fw.update(
                name=name,
                inbound_rules=inbound,
                outbound_rules=outbound,
                droplet_ids=list(droplet_ids),
                tags=list(tags),
            )
            self._pending(fw, fw["droplet_ids"])
        return self.store.get("firewalls", firewall_id)

    def delete_firewall(self, firewall_id: str) -> None:
        self.firewall(firewall_id)
        self.store.delete("firewalls", firewall_id)

    def _edit_members(self, firewall_id: str, field: str, values: list, add: bool) -> None:
        self.firewall(firewall_id)
        if add:
            self._check_refs(values if field == "droplet_ids" else None, values if field == "tags" else None, [])
        with self.store.editing("firewalls", firewall_id) as fw:
            if add:
                fw[field] = list(dict.fromkeys([*fw[field], *values]))
            else:
                fw[field] = [v for v in fw[field] if v not in values]
            if field == "droplet_ids":
                self._pending(fw, values, removing=not add)

    def add_droplets(self, firewall_id: str, droplet_ids: list[int]) -> None:
        self._edit_members(firewall_id, "droplet_ids", droplet_ids, add=True)

    def remove_droplets(self, firewall_id: str, droplet_ids: list[int]) -> None:
        self._edit_members(firewall_id, "droplet_ids", droplet_ids, add=False)

    def add_tags(self, firewall_id: str, tags: list[str]) -> None:
        self._edit_members(firewall_id, "tags", tags, add=True)

    def remove_tags(self, firewall_id: str, tags: list[str]) -> None:
        self._edit_members(firewall_id, "tags", tags, add=False)

    def add_rules(self, firewall_id: str, inbound: list[dict], outbound: list[dict]) -> None:
        self.firewall(firewall_id)
        self._check_refs(None, None, inbound + outbound)
        with self.store.editing("firewalls", firewall_id) as fw:
            fw["inbound_rules"] += [r for r in inbound if r not in fw["inbound_rules"]]
            fw["outbound_rules"] += [r for r in outbound if r not in fw["outbound_rules"]]

    def remove_rules(self, firewall_id: str, inbound: list[dict], outbound: list[dict]) -> None:
        self.firewall(firewall_id)
        with self.store.editing("firewalls", firewall_id) as fw:
            fw["inbound_rules"] = [r for r in fw["inbound_rules"] if r not in inbound]
            fw["outbound_rules"] = [r for r in fw["outbound_rules"] if r not in outbound]

    def forget_droplet(self, droplet_id: int) -> None:
        """A droplet is gone: no firewall names it any more."""
        with self.store.lock:
            for fw in self.store.all("firewalls"):
                if droplet_id in fw["droplet_ids"]:
                    with self.store.editing("firewalls", fw["id"]) as changing:
                        changing["droplet_ids"].remove(droplet_id)

    def sync_firewalls(self) -> None:
        """The host's iptables rules follow the firewalls, the machines' addresses and their tags (and the
        setting ``smtp_outbound_blocked``)."""
        if self.sb.netfilter is None:
            return
        with self.store.lock:
            firewalls = self.store.all("firewalls")
            droplets = [d for d in self.store.all("droplets") if d.get("_machine")]
            vpc_ranges = {v["id"]: v["ip_range"] for v in self.store.all("vpcs")}
        self.sb.netfilter.sync(
            firewalls, droplets, smtp_blocked=self.settings.smtp_outbound_blocked, vpc_ranges=vpc_ranges
        )
