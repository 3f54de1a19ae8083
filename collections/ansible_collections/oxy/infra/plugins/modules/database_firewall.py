#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_firewall
short_description: Manage the trusted sources of a DigitalOcean managed database
version_added: 0.1.0
description:
  - Sets the exact list of trusted sources of a managed database cluster.
  - Sources are compared as a set of type and value; the list is written, whole, only when it differs.
  - Droplets and apps may be named; names are resolved to ids, and an unknown or ambiguous name is an error
    before anything is written.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
options:
  cluster:
    description: Name of the database cluster.
    type: str
    required: true
  rules:
    description: Trusted sources given by type and value.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: Kind of source.
        type: str
        required: true
        choices: [ip_addr, droplet, k8s, tag, app]
      value:
        description: An IPv4 address or CIDR, a Droplet id, a Kubernetes cluster id, a tag or an app id.
        type: str
        required: true
  droplets:
    description: Names of Droplets to trust, resolved to C(droplet) sources.
    type: list
    elements: str
    default: []
  apps:
    description: Names of App Platform apps to trust, resolved to C(app) sources.
    type: list
    elements: str
    default: []
  tags:
    description: Tags whose Droplets to trust.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IPv4 addresses or CIDRs to trust.
    type: list
    elements: str
    default: []
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: db-oxy trusts the API droplet and every app
  oxy.infra.database_firewall:
    cluster: db-oxy
    droplets: [oxy-api-backend]
    apps: [oxy-api, mention-production, homiio-frontend-app, alia-production, allo-app]
"""

RETURN = r"""
rules:
  description: The trusted sources after the run.
  returned: always
  type: list
  elements: dict
"""

import ipaddress

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager, pending


def source_set(rules):
    return sorted(set((r["type"], str(r["value"])) for r in rules))


class TrustedSourcesManager(ResourceManager):
    kind = "trusted sources"

    def resource(self):
        return dict(kind=self.kind, name=self.params["cluster"])

    def by_name(self, names, operation, key, label, name_of):
        if not names:
            return []
        items = self.api.list(operation, key, lookup=True)
        ids = []
        for name in names:
            found = self.named(items, name, "%s name" % label, name_of)
            if found is None:
                if self.do.check_mode:  # a plan on an account where it is still to be created
                    ids.append(pending(label, name))
                    continue
                raise DigitalOceanError("no %s named %r" % (label, name))
            ids.append(str(found["id"]))
        return ids

    def desired(self):
        p = self.params
        wanted = [(r["type"], str(r["value"])) for r in p["rules"]]
        for addr in p["ip_addresses"]:
            wanted.append(("ip_addr", addr))
        for typ, value in wanted:
            if typ == "ip_addr":
                try:
                    net = ipaddress.ip_network(value, strict=False)
                except ValueError:
                    self.do.fail("ip_addr %r is not an IPv4 address or CIDR" % value)
                if net.version != 4:
                    self.do.fail("ip_addr %r: trusted sources take IPv4 only" % value)
            if typ == "droplet" and not value.isdigit():
                self.do.fail("droplet source %r must be a Droplet id; use the droplets option for names" % value)
        wanted += [("tag", t) for t in p["tags"]]
        wanted += [
            ("droplet", i)
            for i in self.by_name(p["droplets"], "droplets.list", "droplets", "Droplet", lambda d: d["name"])
        ]
        wanted += [("app", i) for i in self.by_name(p["apps"], "apps.list", "apps", "app", lambda a: a["spec"]["name"])]
        return sorted(set(wanted))

    def run(self):
        want = self.desired()
        cluster = self.cluster(self.params["cluster"])
        if cluster is None:  # check mode, cluster still to be created
            current = []
        else:
            current = self.api.call("databases.list_firewall_rules", cluster["id"]).get("rules") or []
        change = Change({"rules": source_set(current)})
        change.set("rules", want)
        rules = current
        if change.changed and not self.do.check_mode:
            body = {"rules": [dict(type=t, value=v) for t, v in want]}
            self.api.call("databases.update_firewall_rules", cluster["id"], body)
            rules = self.api.call("databases.list_firewall_rules", cluster["id"]).get("rules") or []
        elif change.changed:
            rules = [dict(type=t, value=v) for t, v in want]
        diff = dict(
            before=dict(rules=["%s:%s" % r for r in change.before["rules"]]),
            after=dict(rules=["%s:%s" % r for r in change.after["rules"]]),
        )
        return dict(changed=change.changed, rules=rules, diff=diff)


def main():
    do = DigitalOceanModule(
        dict(
            cluster=dict(type="str", required=True),
            rules=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    type=dict(type="str", required=True, choices=["ip_addr", "droplet", "k8s", "tag", "app"]),
                    value=dict(type="str", required=True),
                ),
            ),
            droplets=dict(type="list", elements="str", default=[]),
            apps=dict(type="list", elements="str", default=[]),
            tags=dict(type="list", elements="str", default=[]),
            ip_addresses=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    do.run(TrustedSourcesManager)


if __name__ == "__main__":
    main()
