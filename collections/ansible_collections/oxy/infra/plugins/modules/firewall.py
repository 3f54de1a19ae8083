#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: firewall
short_description: Manage DigitalOcean cloud firewalls
version_added: 0.1.0
description:
  - Create, update or delete a cloud firewall, identified by its O(name), or by its O(id). A firewall found by its id
    under another name is renamed in place to O(name), in the same one call as its rules. Check mode shows the rename
    as an update of C(name).
  - Rules are compared as a set (order and duplicate addresses do not matter, C(all) equals C(0)); the
    firewall is rewritten in place, in one call, only when rules, Droplets or tags differ.
  - Droplets may be named; names are resolved to ids, and a name matching several Droplets is an error.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.WAIT
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: Name of the firewall.
    type: str
    required: true
  id:
    description:
      - Id of the firewall, which makes it this one, under whatever name it has now (see
        M(oxy.infra.owned_resources)'s C(firewall_rename)). A different name renames it to O(name).
      - The module fails, before any write, when no firewall has this id, or when another firewall already has
        O(name).
    type: str
  inbound_rules:
    description: The inbound rules, exactly. At least one rule (inbound or outbound) is needed to create.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp, icmp]
        required: true
      ports:
        description: A port (V(22)), a range (V(8000-9000)) or V(0)/V(all) for every port. Always V(0) for icmp.
        type: str
        default: "0"
      sources:
        description: Where traffic may come from; at least one target.
        type: dict
        required: true
  outbound_rules:
    description: The outbound rules, exactly.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp, icmp]
        required: true
      ports:
        description: A port (V(22)), a range (V(8000-9000)) or V(0)/V(all) for every port. Always V(0) for icmp.
        type: str
        default: "0"
      destinations:
        description: Where traffic may go; at least one target.
        type: dict
        required: true
  droplet_ids:
    description: Ids of the Droplets the firewall applies to.
    type: list
    elements: int
  droplets:
    description: Names of the Droplets the firewall applies to; joined with O(droplet_ids).
    type: list
    elements: str
  tags:
    description: Tags whose Droplets the firewall applies to. The tags must exist.
    type: list
    elements: str
  state:
    description:
      - Whether the firewall should exist. Deleting it lifts its rules from every Droplet it applied to.
      - V(absent) needs O(allow_delete=true). Firewalls carry no tags of their own (O(tags) names the Droplets
        they apply to), so a firewall is protected by listing its name in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Targets (C(sources), C(destinations)) take C(addresses) (IPv4, IPv6 or CIDR), C(droplet_ids), C(droplets)
    (names, resolved to ids), C(tags), C(load_balancer_uids) and C(kubernetes_ids).
  - O(wait_timeout) defaults to 120 seconds; the module waits for the firewall's status C(succeeded).
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The API droplet's perimeter
  oxy.infra.firewall:
    name: oxy-api-backend
    droplets: [oxy-api-backend]
    inbound_rules:
      - {protocol: tcp, ports: "22", sources: {addresses: ["203.0.113.7/32"]}}
      - {protocol: tcp, ports: "80", sources: {addresses: ["0.0.0.0/0", "::/0"]}}
      - {protocol: tcp, ports: "443", sources: {addresses: ["0.0.0.0/0", "::/0"]}}
    outbound_rules:
      - {protocol: tcp, ports: "all", destinations: {addresses: ["0.0.0.0/0", "::/0"]}}
"""

RETURN = r"""
firewall:
  description: The firewall as the API returns it; empty when absent.
  returned: always
  type: dict
plan_action:
  description: C(rename) when the firewall is renamed in place (for the oxy.infra.plan callback).
  returned: when renamed
  type: str
plan_from:
  description: The firewall's name before the rename.
  returned: when renamed
  type: str
plan_note:
  description: What a rename keeps.
  returned: when renamed
  type: str
"""

import ipaddress
import re

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager, pending
from ansible_collections.oxy.infra.plugins.module_utils._waiter import firewall_settled

DEFAULT_WAIT = 120
TARGET_KEYS = ("addresses", "droplet_ids", "load_balancer_uids", "kubernetes_ids", "tags")
PORTS = re.compile(r"^(0|all|\d{1,5}(-\d{1,5})?)$")


class InvalidRule(ValueError):
    pass


def canonical_rule(rule, direction):
    """One rule in the form used for comparing: ports normalised, targets as sorted lists, empties dropped."""
    side = "sources" if direction == "inbound" else "destinations"
    protocol = rule.get("protocol")
    ports = str(rule.get("ports") or "0")
    if ports == "all" or protocol == "icmp":
        ports = "0"
    targets = rule.get(side) or {}
    out = dict(protocol=protocol, ports=ports)
    out[side] = dict((k, normalize_set(targets.get(k))) for k in TARGET_KEYS if targets.get(k))
    return out


def rule_key(rule):
    return repr(sorted((k, repr(v)) for k, v in rule.items()))


def rule_set(rules, direction):
    canon = [canonical_rule(r, direction) for r in rules or []]
    unique = dict((rule_key(r), r) for r in canon)
    return [unique[k] for k in sorted(unique)]


def validate_rule(rule, direction, index):
    side = "sources" if direction == "inbound" else "destinations"
    where = "%s_rules[%d]" % (direction, index)
    if rule.get("protocol") not in ("tcp", "udp", "icmp"):
        raise InvalidRule("%s.protocol: %r is not tcp, udp or icmp" % (where, rule.get("protocol")))
    ports = str(rule.get("ports") or "0")
    if not PORTS.match(ports):
        raise InvalidRule("%s.ports: %r is not a port, a range like 8000-9000, 0 or all" % (where, ports))
    if ports not in ("0", "all"):
        low, _sep, high = ports.partition("-")
        if not 1 <= int(low) <= int(high or low) <= 65535:
            raise InvalidRule("%s.ports: %r is outside 1-65535 or reversed" % (where, ports))
    targets = rule.get(side)
    if not isinstance(targets, dict):
        raise InvalidRule("%s.%s: required, a dict of targets" % (where, side))
    unknown = set(targets) - set(TARGET_KEYS) - {"droplets"}
    if unknown:
        raise InvalidRule("%s.%s: unknown target keys %s" % (where, side, ", ".join(sorted(unknown))))
    if not any(targets.get(k) for k in (*TARGET_KEYS, "droplets")):
        raise InvalidRule("%s.%s: at least one target is needed" % (where, side))
    for addr in targets.get("addresses") or []:
        try:
            ipaddress.ip_network(addr, strict=False)
        except ValueError as exc:
            raise InvalidRule("%s.%s.addresses: %r is not an IP address or CIDR" % (where, side, addr)) from exc


class FirewallManager(ResourceManager):
    result_key = "firewall"
    kind = "cloud firewall"
    delete_operation = "firewalls.delete"
    default_wait = DEFAULT_WAIT
    _droplets = None  # the account's Droplets, listed once when a name needs resolving

    def find(self):
        name = self.params["name"]
        if self.params["id"]:
            body = self.api.call("firewalls.get", self.params["id"], missing_ok=True)
            firewall = body["firewall"] if body else None
            if firewall is None and self.params["state"] == "present":
                self.do.fail("id: no cloud firewall has id %s (to be named %r)" % (self.params["id"], name))
            return firewall
        return self.named(self.api.list("firewalls.list", "firewalls"), name, "firewall name")

    def name_is_free(self, current):
        """Renaming ``current`` to ``name`` must not make two firewalls of one name."""
        name = self.params["name"]
        others = [f for f in self.api.list("firewalls.list", "firewalls") if f["name"] == name]
        others = [f for f in others if str(f["id"]) != str(current["id"])]
        if others:
            self.do.fail(
                "name: cannot rename cloud firewall %s (id %s) to %r: cloud firewall id %s already has that name"
                % (current["name"], current["id"], name, ", ".join(str(f["id"]) for f in others))
            )

    def droplet_id(self, name):
        if self._droplets is None:
            self._droplets = self.api.list("droplets.list", "droplets", lookup=True)
        found = self.named(self._droplets, name, "Droplet name")
        if found is None:
            if self.do.check_mode:  # a plan on an account where the Droplet is still to be created
                return pending("droplet", name)
            raise DigitalOceanError("no Droplet named %r" % name)
        return found["id"]

    def resolve_rules(self, rules, direction):
        side = "sources" if direction == "inbound" else "destinations"
        resolved = []
        for rule in rules:
            targets = dict(rule[side])
            names = targets.pop("droplets", None) or []
            if names:
                targets["droplet_ids"] = list(targets.get("droplet_ids") or []) + [self.droplet_id(n) for n in names]
            resolved.append(dict(protocol=rule["protocol"], ports=str(rule.get("ports") or "0"), **{side: targets}))
        return resolved

    def validate(self, current):
        p = self.params
        for direction in ("inbound", "outbound"):
            for i, rule in enumerate(p["%s_rules" % direction] or []):
                validate_rule(rule, direction, i)
        if current is None and not (p["inbound_rules"] or p["outbound_rules"]):
            raise InvalidRule("inbound_rules or outbound_rules: a new firewall needs at least one rule")

    def desired(self):
        p = self.params
        want = {}
        for direction in ("inbound", "outbound"):
            rules = p["%s_rules" % direction]
            if rules is not None:
                want["%s_rules" % direction] = rule_set(self.resolve_rules(rules, direction), direction)
        if p["droplet_ids"] is not None or p["droplets"] is not None:
            ids = list(p["droplet_ids"] or []) + [self.droplet_id(n) for n in p["droplets"] or []]
            want["droplet_ids"] = normalize_set(ids)
        if p["tags"] is not None:
            want["tags"] = normalize_set(p["tags"])
        return want

    def run(self):
        current = self.find()
        if self.params["state"] == "absent":
            return self.absent(current)
        try:
            self.validate(current)
        except InvalidRule as exc:
            self.do.fail(str(exc))
        want = self.desired()
        before = state_of(current)
        change = Change(before)
        change.update(want)
        change.set("name", self.params["name"])
        renamed = current is not None and current["name"] != self.params["name"]
        if renamed:
            self.name_is_free(current)
        firewall = current
        if change.changed and not self.do.check_mode:
            body = dict(
                name=self.params["name"],
                inbound_rules=change.after.get("inbound_rules") or [],
                outbound_rules=change.after.get("outbound_rules") or [],
                droplet_ids=change.after.get("droplet_ids") or [],
                tags=change.after.get("tags") or [],
            )
            if current is None:
                firewall = self.api.create(lambda: self.api.call("firewalls.create", body)["firewall"], self.find)
            else:
                firewall = self.api.call("firewalls.update", current["id"], body)["firewall"]
            firewall = self.wait(firewall)
        elif change.changed:
            firewall = dict(current or {}, **change.after)
        result = dict(changed=change.changed, firewall=firewall, diff=change.diff())
        if renamed:
            result.update(
                plan_action="rename",
                plan_from=current["name"],
                plan_note="in place: id %s keeps its Droplets" % current["id"],
            )
        return result

    def wait(self, firewall):
        return self.waiter.until(
            lambda: (self.api.call("firewalls.get", firewall["id"], missing_ok=True) or {}).get("firewall"),
            firewall_settled,
            "firewall %s to apply" % firewall["name"],
            results=lambda last: dict(firewall=last or firewall),
        )

    def describe(self, current):
        """The firewall as a refusal names it: its tags are the Droplets it applies to, not labels of its own."""
        name = self.params["name"]
        if current is None:
            return "%s %r" % (self.kind, name)
        facts = ["id %s" % current["id"]]
        if current.get("droplet_ids"):
            facts.append("applies to Droplets %s" % ", ".join(str(i) for i in sorted(current["droplet_ids"])))
        if current.get("tags"):
            facts.append("applies to tags %s" % ", ".join(sorted(current["tags"])))
        return "%s %r (%s)" % (self.kind, name, "; ".join(facts))

    def absent(self, current):
        return self.delete(current, state_of(current))


def state_of(firewall):
    if not firewall:
        return {}
    return dict(
        name=firewall["name"],
        inbound_rules=rule_set(firewall.get("inbound_rules"), "inbound"),
        outbound_rules=rule_set(firewall.get("outbound_rules"), "outbound"),
        droplet_ids=normalize_set(firewall.get("droplet_ids")),
        tags=normalize_set(firewall.get("tags")),
    )


def main():
    rule = dict(
        protocol=dict(type="str", required=True, choices=["tcp", "udp", "icmp"]),
        ports=dict(type="str", default="0"),
        sources=dict(type="dict", required=True),
    )
    outbound = dict(rule)
    del outbound["sources"]
    outbound["destinations"] = dict(type="dict", required=True)
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            id=dict(type="str"),
            inbound_rules=dict(type="list", elements="dict", options=rule),
            outbound_rules=dict(type="list", elements="dict", options=outbound),
            droplet_ids=dict(type="list", elements="int"),
            droplets=dict(type="list", elements="str"),
            tags=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        wait=True,
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(FirewallManager)


if __name__ == "__main__":
    main()
