#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain_record
short_description: Manage records of a DigitalOcean DNS domain
version_added: 0.1.0
description:
  - Create, update or delete one DNS record.
  - By default a record is identified by its O(type) and O(name), and its data, TTL and other fields are updated
    in place; several records with that type and name are an error. For records that come in sets (MX, TXT, NS,
    several A records) use O(match=data), which adds O(data) to the identity.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  domain:
    description: The domain the record belongs to.
    type: str
    required: true
  type:
    description: Record type.
    type: str
    required: true
    choices: [A, AAAA, CAA, CNAME, MX, NS, SRV, TXT]
  name:
    description: Host name relative to the domain (V(api)), V(@) for the apex, or the full name.
    type: str
    default: "@"
  data:
    description: The record's value (an address, a host name ending in a dot, text). Required when present.
    type: str
  ttl:
    description: Time to live in seconds.
    type: int
    default: 1800
  priority:
    description: Priority (MX, SRV).
    type: int
  port:
    description: Port (SRV).
    type: int
  weight:
    description: Weight (SRV).
    type: int
  flags:
    description: Flags (CAA).
    type: int
  tag:
    description: Tag (CAA).
    type: str
    choices: [issue, issuewild, iodef]
  match:
    description: What identifies the record besides its type and name.
    type: str
    choices: [name, data]
    default: name
  state:
    description:
      - Whether the record should exist.
      - V(absent) needs O(allow_delete=true). Records carry no tags, so records are protected by listing their
        host name in O(protected_names), relative (V(api), V(@)) or in full (V(api.oxy.so)); that protects every
        record of that name in the domain, whatever its type. The domain's own name stands for its apex (V(@)).
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: api.oxy.so points at the API droplet
  oxy.infra.domain_record:
    domain: oxy.so
    type: A
    name: api
    data: "{{ droplet.public_ipv4 }}"
    ttl: 300

- name: Mail for oxy.so
  oxy.infra.domain_record:
    domain: oxy.so
    type: MX
    data: mail.oxy.so.
    priority: 10
    match: data
"""

RETURN = r"""
record:
  description: The record as the API returns it; empty when absent.
  returned: always
  type: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, desired_from
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

FIELDS = ("type", "name", "data", "ttl", "priority", "port", "weight", "flags", "tag")
REQUIRED = {"MX": ("priority",), "SRV": ("priority", "port", "weight"), "CAA": ("flags", "tag")}


class RecordManager(ResourceManager):
    result_key = "record"
    kind = "DNS record"

    def canonical_name(self, name):
        """A host name of this record's domain in full, lower case, without the trailing dot (V(@): the domain)."""
        domain = self.params["domain"].rstrip(".").lower()
        relative = self.relative(name or "@", domain)
        return domain if relative == "@" else "%s.%s" % (relative, domain)

    def describe(self, current):
        """The record as a refusal names it: its type, its name and its domain, and what it holds."""
        p = self.params
        domain = p["domain"].rstrip(".").lower()
        facts = []
        if current is not None:
            facts.append("id %s" % current["id"])
        data = current.get("data") if current else (p["data"] if p["match"] == "data" else None)
        if data:
            facts.append("data %s" % data)
        return "%s %s %r in domain %r%s" % (
            self.kind,
            p["type"],
            self.relative(p["name"] or "@", domain),
            domain,
            " (%s)" % "; ".join(facts) if facts else "",
        )

    def resource(self):
        p = self.params
        name = "%s %s" % (p["type"], self.canonical_name(p["name"]))
        if p.get("match") == "data":  # several records of one type and name: the data tells them apart
            name += " %s" % p["data"]
        return dict(kind=self.kind, name=name)

    def relative(self, name, domain):
        name = name.rstrip(".").lower()
        if name in ("", "@", domain):
            return "@"
        return name[: -len(domain) - 1] if name.endswith("." + domain) else name

    def run(self):
        p = self.params
        domain = p["domain"].lower().rstrip(".")
        name = self.relative(p["name"], domain)
        if p["state"] == "present":
            if not p["data"]:
                self.do.fail("data is required for a present %s record" % p["type"])
            missing = [f for f in REQUIRED.get(p["type"], ()) if p[f] is None]
            if missing:
                self.do.fail("%s required for %s records" % (" and ".join(missing), p["type"]))
        if p["match"] == "data" and not p["data"]:
            self.do.fail("data is required with match=data")
        zone = self.api.call("domains.get", domain, missing_ok=True, lookup=True)
        if zone is None and p["state"] == "absent":
            # No zone, no record: already as wanted, once confirmed.
            self.guard_delete(None)
            return dict(changed=False, record={}, diff=dict(before={}, after={}))
        if zone is None and not self.do.check_mode:
            self.do.fail("domain: %s is not a domain of this account" % domain)
        fqdn = domain if name == "@" else "%s.%s" % (name, domain)
        records = self.records(domain, name, fqdn) if zone is not None else []
        current = self.api.find_one(records, "%s record %s" % (p["type"], fqdn))
        before = dict((k, current.get(k)) for k in FIELDS) if current else {}
        if p["state"] == "absent":
            self.guard_delete(current)
            if current and not self.do.check_mode:
                self.api.call("domains.delete_record", domain, current["id"], missing_ok=True)
            return dict(changed=bool(current), record={}, diff=dict(before=before, after={}))
        change = Change(before)
        change.update(dict(type=p["type"], name=name, data=p["data"], ttl=p["ttl"]))
        change.update(desired_from(p, ("priority", "port", "weight", "flags", "tag")))
        record = current or change.after
        if change.changed and not self.do.check_mode:
            body = dict((k, v) for k, v in change.after.items() if v is not None)
            if current:
                record = self.api.call("domains.patch_record", domain, current["id"], body)["domain_record"]
            else:
                record = self.api.create(
                    lambda: self.api.call("domains.create_record", domain, body)["domain_record"],
                    lambda: self.api.find_one(self.records(domain, name, fqdn), "%s record %s" % (p["type"], fqdn)),
                )
        return dict(changed=change.changed, record=record, diff=change.diff())

    def records(self, domain, name, fqdn):
        """The zone's records this task is about: of this name and type, and this data with O(match=data).

        A module process asks the API to filter; in the controller, one read of the whole zone serves
        every item of the task's loop (the run's read cache answers a task's own reads to its later items).
        """
        kind = self.params["type"]
        if self.api.cache is None:
            found = self.api.list("domains.list_records", "domain_records", domain, name=fqdn, type=kind)
        else:
            found = [
                r
                for r in self.api.list("domains.list_records", "domain_records", domain)
                if r.get("type") == kind and (r.get("name") or "").lower() == name.lower()
            ]
        if self.params["match"] == "data":
            data = self.params["data"].rstrip(".")
            found = [r for r in found if (r.get("data") or "").rstrip(".") == data]
        return found


def main():
    do = DigitalOceanModule(
        dict(
            domain=dict(type="str", required=True),
            type=dict(type="str", required=True, choices=["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SRV", "TXT"]),
            name=dict(type="str", default="@"),
            data=dict(type="str"),
            ttl=dict(type="int", default=1800),
            priority=dict(type="int"),
            port=dict(type="int"),
            weight=dict(type="int"),
            flags=dict(type="int"),
            tag=dict(type="str", choices=["issue", "issuewild", "iodef"]),
            match=dict(type="str", default="name", choices=["name", "data"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(RecordManager)


if __name__ == "__main__":
    main()
