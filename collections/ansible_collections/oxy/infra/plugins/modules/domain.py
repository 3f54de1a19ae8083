#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain
short_description: Manage DigitalOcean DNS domains
version_added: 0.1.0
description:
  - Create or delete a DNS zone hosted by DigitalOcean. Records are managed with M(oxy.infra.domain_record).
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: The domain, for example V(oxy.so).
    type: str
    required: true
  ip_address:
    description: Address of the apex A record created with the zone. Used at creation only.
    type: str
  state:
    description:
      - Whether the domain should exist. Deleting it deletes all its records.
      - V(absent) needs O(allow_delete=true). Domains carry no tags in DigitalOcean, so a domain is protected by
        listing its name in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The oxy.so zone
  oxy.infra.domain:
    name: oxy.so

- name: Remove a zone no longer used, with all its records
  oxy.infra.domain:
    name: old.oxy.so
    state: absent
    allow_delete: true
    protected_names: [oxy.so]
"""

RETURN = r"""
domain:
  description: The domain (name, ttl, zone_file); empty when absent.
  returned: always
  type: dict
"""

import ipaddress

from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager


class DomainManager(ResourceManager):
    result_key = "domain"
    delete_operation = "domains.delete"
    kind = "domain"

    def resource_id(self, current):
        return current["name"]

    @staticmethod
    def canonical_name(name):
        return name.lower().rstrip(".")

    def run(self):
        p = self.params
        name = self.canonical_name(p["name"])
        if p["ip_address"]:
            try:
                ipaddress.ip_address(p["ip_address"])
            except ValueError:
                self.do.fail("ip_address: %r is not an IP address" % p["ip_address"])
        body = self.api.call("domains.get", name, missing_ok=True)
        current = body["domain"] if body else None
        if p["state"] == "absent":
            return self.delete(current, {"name": name} if current else None)
        if current:
            return dict(changed=False, domain=current, diff=dict(before={"name": name}, after={"name": name}))
        domain = {"name": name}
        if not self.do.check_mode:
            create = dict(name=name)
            if p["ip_address"]:
                create["ip_address"] = p["ip_address"]
            domain = self.api.create(
                lambda: self.api.call("domains.create", create)["domain"],
                lambda: (self.api.call("domains.get", name, missing_ok=True) or {}).get("domain"),
            )
        return dict(changed=True, domain=domain, diff=dict(before={}, after={"name": name}))


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            ip_address=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(DomainManager)


if __name__ == "__main__":
    main()
