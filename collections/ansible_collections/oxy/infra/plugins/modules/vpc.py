#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpc
short_description: Manage DigitalOcean VPCs
version_added: 0.1.0
description:
  - Create, update or delete a VPC, identified by its O(name) (VPC names are unique in an account).
  - An existing VPC is adopted; its description and default flag are updated in place.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: Name of the VPC.
    type: str
    required: true
  region:
    description: Region slug. Required to create; a VPC never moves to another region.
    type: str
  description:
    description: Free-form description, at most 255 characters.
    type: str
  ip_range:
    description:
      - RFC1918 range in CIDR notation, from /16 to /28. DigitalOcean picks a /20 when omitted.
      - Fixed at creation; a different range on an existing VPC is an error.
    type: str
  default:
    description: Make this VPC its region's default. A default VPC cannot be unset, only replaced.
    type: bool
  state:
    description:
      - Whether the VPC should exist.
      - V(absent) needs O(allow_delete=true). VPCs carry no tags in DigitalOcean, so a VPC is protected by
        listing its name in O(protected_names).
      - A region's default VPC is never deleted (DigitalOcean refuses it); V(absent) on one fails before any
        write. Make another VPC the default first. A VPC that still has members is refused by the API.
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The Amsterdam VPC every AMS3 resource shares
  oxy.infra.vpc:
    name: default-ams3
    region: ams3
    description: Oxy production network

- name: Remove a VPC
  oxy.infra.vpc:
    name: scratch
    state: absent
    allow_delete: true
"""

RETURN = r"""
vpc:
  description: The VPC as the API returns it; empty when absent.
  returned: always
  type: dict
  sample: {"id": "983f1e72-442d-4a5c-b7c2-22a422f88a19", "name": "default-ams3", "region": "ams3",
           "ip_range": "10.110.0.0/20", "default": true}
"""

import ipaddress

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, desired_from, project
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

MANAGED = ("name", "region", "description", "ip_range", "default")


class VpcManager(ResourceManager):
    result_key = "vpc"
    delete_operation = "vpcs.delete"
    kind = "VPC"

    def find(self):
        return self.named(self.api.list("vpcs.list", "vpcs"), self.params["name"], "VPC name")

    def validate(self, current):
        p = self.params
        if p["ip_range"]:
            try:
                net = ipaddress.ip_network(p["ip_range"], strict=False)
            except ValueError:
                self.do.fail("ip_range: %r is not a CIDR range" % p["ip_range"])
            if net.version != 4 or not net.is_private or not 16 <= net.prefixlen <= 28:
                self.do.fail("ip_range: %s must be an RFC1918 IPv4 range from /16 to /28" % p["ip_range"])
        if p["description"] is not None and len(p["description"]) > 255:
            self.do.fail("description: at most 255 characters")
        if current is None:
            if not p["region"]:
                self.do.fail("region is required to create VPC %r" % p["name"])
            return
        if p["region"] and p["region"] != current["region"]:
            self.do.fail(
                "region: VPC %r is in %s; a VPC cannot move to %s" % (p["name"], current["region"], p["region"])
            )
        if p["ip_range"] and str(ipaddress.ip_network(p["ip_range"], strict=False)) != current["ip_range"]:
            self.do.fail("ip_range: VPC %r has %s; the range is fixed at creation" % (p["name"], current["ip_range"]))
        if p["default"] is False and current["default"]:
            self.do.fail("default: VPC %r is its region's default; make another VPC the default instead" % p["name"])

    def run(self):
        current = self.find()
        if self.params["state"] == "absent":
            return self.absent(current)
        self.validate(current)
        return self.present(current)

    def present(self, current):
        p = self.params
        change = Change(project(current, MANAGED))
        desired = desired_from(p, ("description", "default"))
        if current is None:
            change.update(dict(name=p["name"], region=p["region"], ip_range=p["ip_range"], **desired))
            vpc = change.after
            if not self.do.check_mode:
                body = dict(
                    (k, v)
                    for k, v in change.after.items()
                    if k in ("name", "region", "description", "ip_range") and v is not None
                )
                vpc = self.api.create(lambda: self.api.call("vpcs.create", body)["vpc"], self.find)
                if p["default"] and not vpc["default"]:
                    vpc = self.api.call("vpcs.patch", vpc["id"], {"default": True})["vpc"]
            return dict(changed=True, vpc=vpc, diff=change.diff())
        change.update(desired)
        vpc = current
        if change.changed and not self.do.check_mode:
            patch = dict((k, change.after[k]) for k in change.changed_keys())
            vpc = self.api.call("vpcs.patch", current["id"], patch)["vpc"]
        elif change.changed:
            vpc = dict(current, **change.after)
        return dict(changed=change.changed, vpc=vpc, diff=change.diff())

    def absent(self, current):
        self.guard_delete(current)
        if current and current["default"]:
            raise DigitalOceanError(
                "VPC %r is the default VPC of %s and DigitalOcean never deletes a region's default VPC; "
                "make another VPC the default first" % (current["name"], current["region"]),
                status=403,
                error_id="forbidden",
            )
        return self.delete(current, project(current, MANAGED))


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            region=dict(type="str"),
            description=dict(type="str"),
            ip_range=dict(type="str"),
            default=dict(type="bool"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(VpcManager)


if __name__ == "__main__":
    main()
