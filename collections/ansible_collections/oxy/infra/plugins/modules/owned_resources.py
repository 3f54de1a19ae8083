#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: owned_resources
short_description: What an environment owns on DigitalOcean, held against its definition
version_added: 0.5.0
description:
  - Reads what the environment owns and says what its definition makes of it, before any write, so a rename
    is never mistaken for a new resource and nothing the environment owned is left running unlisted.
  - "Owned: every resource assigned to the project O(project) (Droplets, database clusters, apps, domains), every
    Droplet that carries all of O(droplet.tags), and every cloud firewall attached to an owned Droplet."
  - "A Droplet is renamed in place: when no Droplet is named O(droplet.name) and the environment owns exactly one
    other, RV(droplet_rename) names it (give its id to M(oxy.infra.droplet)'s O(oxy.infra.droplet#module:id)).
    Several are ambiguous: the module fails and names them."
  - "An app is renamed in place too: when exactly one app of O(apps) is not in the account and the project holds
    exactly one app O(apps) does not name, RV(app_renames) names it (give its id to M(oxy.infra.app)'s
    O(oxy.infra.app#module:id)). Several of either are ambiguous: the module fails, names them and says how to
    resolve it. A rename that would change the app's MongoDB database (O(app_databases)) is refused the same way."
  - "A cloud firewall is renamed in place the same way: when O(firewalls) names one firewall, none has its name and
    exactly one other is attached to the environment's Droplet, RV(firewall_rename) names it (give its id to
    M(oxy.infra.firewall)'s O(oxy.infra.firewall#module:id)). Several are ambiguous: the module fails and names them."
  - "A database cluster cannot be renamed: when no cluster has a name of O(clusters) and the environment owns one
    of the same engine that O(clusters) does not name, the definition asks for a replacement (a new empty
    cluster; the old one keeps the data and stays). In check mode it is part of the plan (RV(plan_resources));
    otherwise the module fails, before any write, naming the definition's path, unless O(confirm_replace) names
    the old cluster. The old cluster is never deleted: once the new one exists, it is an orphan."
  - Everything else the environment owns that the definition does not name is an orphan (RV(orphans)), which the
    oxy.infra.plan callback lists and C(playbooks/drift.yml) fails on.
  - "With O(monitoring), its uptime checks and alert policies too: a check is owned when its target's host is an owned
    domain, a name under one or a domain of an owned app; a policy when it watches an owned Droplet or cluster by id,
    or the Droplets that carry all of O(droplet.tags). One the definition does not name is an orphan: the check of
    an app's domain the definition dropped, the policies of a cluster it replaced."
  - Its reads are lookups for the run's read cache (the same lists the later tasks look names up in, or have just
    read).
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
options:
  project:
    description: Name of the environment's project. None yet owns nothing by membership.
    type: str
    required: true
  droplet:
    description: The definition's Droplet.
    type: dict
    required: true
    suboptions:
      name:
        description: Its name.
        type: str
        required: true
      tags:
        description: Its tags; a Droplet that carries all of them is owned.
        type: list
        elements: str
        default: []
      path:
        description: Where the definition names it, for messages.
        type: str
        default: oxy_droplet.name
  clusters:
    description: The definition's database clusters.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The cluster's name.
        type: str
        required: true
      engine:
        description: Its engine (C(mongodb), C(valkey), ...); a replacement is of the same engine.
        type: str
        required: true
      path:
        description: Where the definition names it (C(oxy_mongodb.name)), for the refusal.
        type: str
  apps:
    description: Names of the definition's apps.
    type: list
    elements: str
    default: []
  domains:
    description: The definition's domains.
    type: list
    elements: str
    default: []
  firewalls:
    description: Names of the definition's cloud firewalls.
    type: list
    elements: str
    default: []
  firewall_path:
    description: Where the definition names its cloud firewall, for the refusal of an ambiguous rename.
    type: str
    default: oxy_droplet_firewall.name
  app_databases:
    description:
      - The MongoDB database of each app of O(apps), by app name. A renamed app whose spec's C(DB_NAME) is another
        database is refused (the rename would move it to an empty database).
    type: dict
    default: {}
  monitoring:
    description:
      - The definition's uptime checks and alert policies, by name, to find the orphans among the account's (with
        O(orphans) only). Omitted, monitoring is not read.
    type: dict
    suboptions:
      uptime_checks:
        description: Names of the definition's uptime checks.
        type: list
        elements: str
        default: []
      alert_policies:
        description: Descriptions of the definition's alert policies.
        type: list
        elements: str
        default: []
  confirm_replace:
    description: Names of the database clusters whose replacement is confirmed (the old names).
    type: list
    elements: str
    default: []
  orphans:
    description:
      - List the orphans; this reads the account's apps and cloud firewalls too.
      - V(false) reads only what renames and replacements need (the Droplets, the database clusters, the cloud
        firewalls, the apps when O(apps) names any, and the project and its members only when one of those the
        definition names is not in the account under its name; otherwise nothing can be a rename or a
        replacement), for a pre-flight step early in a run; the same step at the end of the run, with V(true),
        has its reads answered by the run's read cache.
    type: bool
    default: true
  match_renames:
    description:
      - Hold renames and replacements against the definition.
      - V(false) for a teardown, once the definition's own resources are gone, where everything the environment
        owns and the definition does not name is an orphan (nothing is a rename, nothing is refused).
    type: bool
    default: true
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: What the environment owns, against its definition
  oxy.infra.owned_resources:
    project: Oxy
    droplet: {name: oxy-api-backend, tags: [oxy, api]}
    clusters:
      - {name: db-oxy, engine: mongodb, path: oxy_mongodb.name}
    apps: [oxy-api, alia-production]
    domains: [oxy.so]
    firewalls: [oxy-api-backend]
    monitoring:
      uptime_checks: [api.oxy.so, mail.oxy.so]
      alert_policies: ["droplets tagged oxy,api cpu", db-oxy cpu_alerts]
    confirm_replace: "{{ oxy_confirm_replace | default([]) }}"
  register: owned
"""

RETURN = r"""
owned:
  description:
    - Every resource the environment owns (C(kind), C(name), C(id), C(why)); Droplets and clusters also with their
      C(tags), clusters with their C(engine). With O(orphans=false) and O(match_renames=false), without apps and
      cloud firewalls.
    - With O(orphans=false), when every resource the definition names is in the account under its name (the
      project is then not read), only the Droplets that carry O(droplet.tags) and the cloud firewalls attached
      to them.
  returned: always
  type: list
  elements: dict
orphans:
  description:
    - What the environment owns that the definition does not name (C(kind), C(name), C(id), C(why)); C(kind) is
      one of C(droplet), C(database cluster), C(app), C(domain), C(cloud firewall), C(uptime check) and
      C(alert policy).
    - Empty with O(orphans=false).
  returned: always
  type: list
  elements: dict
droplet_rename:
  description: The Droplet to rename in place (C(id), C(old), C(new)); empty when there is none.
  returned: always
  type: dict
app_renames:
  description:
    - The apps to rename in place, by their new name (C(id), C(old)), for M(oxy.infra.app)'s
      O(oxy.infra.app#module:id); empty when there is none.
  returned: always
  type: dict
firewall_rename:
  description:
    - The cloud firewall to rename in place (C(id), C(old), C(new)), for M(oxy.infra.firewall)'s
      O(oxy.infra.firewall#module:id); empty when there is none.
  returned: always
  type: dict
replacements:
  description:
    - Database clusters the definition replaces (C(name), C(path), C(engine), C(replaces), C(ids), C(note)).
  returned: always
  type: list
  elements: dict
plan_resources:
  description: How the oxy.infra.plan callback shows the replacements (C(kind), C(name), C(plan_action),
    C(plan_from), C(plan_note)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._identity import all_named, plan, unconfirmed
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager


class OwnedResources(ResourceManager):
    def read(self, definition):
        """The account as the identity rules need it; every read a lookup (it only finds what is owned)."""
        api = self.api
        p = self.params
        with api.lookups():
            account = dict(
                droplets=api.list("droplets.list", "droplets"),
                clusters=api.call("databases.list_clusters").get("databases") or [],
            )
            if p["orphans"] or p["match_renames"]:
                # A firewall renamed in the definition is found among those attached to the environment's Droplet.
                account.update(firewalls=api.list("firewalls.list", "firewalls"))
            if p["orphans"] or (p["match_renames"] and p["apps"]):
                # An app renamed in the definition is found among the project's apps.
                account.update(apps=api.list("apps.list", "apps"))
            if p["orphans"] and p["monitoring"] is not None:
                # Read by the monitoring tasks earlier in the run: the cache answers.
                account.update(
                    checks=api.list("uptime.list_checks", "checks"),
                    policies=api.list("monitoring.list_alert_policy", "policies"),
                )
            account.update(members=[])
            # Looking for renames and replacements alone, with every resource of the definition in the account
            # under its name, there is none to find: the project's members are not needed.
            if p["orphans"] or not p["match_renames"] or not all_named(definition, account):
                project = self.named(api.list("projects.list", "projects"), p["project"], "project name")
                if project is not None:
                    members = api.list("projects.list_resources", "resources", project["id"])
                    account.update(members=[r["urn"] for r in members])
            return account

    def run(self):
        p = self.params
        definition = dict(
            project=p["project"],
            droplet=p["droplet"],
            clusters=p["clusters"],
            apps=p["apps"],
            domains=p["domains"],
            firewalls=p["firewalls"],
            firewall_path=p["firewall_path"],
            app_databases=p["app_databases"],
            uptime_checks=(p["monitoring"] or {}).get("uptime_checks"),
            alert_policies=(p["monitoring"] or {}).get("alert_policies"),
        )
        found = plan(definition, self.read(definition), renames=p["match_renames"])
        if found["problems"]:
            self.do.fail(" ".join(found["problems"]), orphans=found["orphans"])
        refused = [] if self.do.check_mode else unconfirmed(found["replacements"], p["confirm_replace"])
        if refused:
            self.do.fail(" ".join(refused), refused=True, replacements=found["replacements"])
        return dict(
            changed=False,
            owned=found["owned"],
            orphans=found["orphans"] if p["orphans"] else [],
            droplet_rename=found["droplet_rename"] or {},
            firewall_rename=found["firewall_rename"] or {},
            app_renames=dict((r["new"], dict(id=r["id"], old=r["old"])) for r in found["app_renames"]),
            replacements=found["replacements"],
            plan_resources=[
                dict(
                    kind=r["kind"],
                    name=r["name"],
                    plan_action="replace",
                    plan_from=", ".join(r["replaces"]),
                    plan_note=r["note"],
                )
                for r in found["replacements"]
            ],
        )


def main():
    do = DigitalOceanModule(
        dict(
            project=dict(type="str", required=True),
            droplet=dict(
                type="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    tags=dict(type="list", elements="str", default=[]),
                    path=dict(type="str", default="oxy_droplet.name"),
                ),
            ),
            clusters=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    engine=dict(type="str", required=True),
                    path=dict(type="str"),
                ),
            ),
            apps=dict(type="list", elements="str", default=[]),
            domains=dict(type="list", elements="str", default=[]),
            firewalls=dict(type="list", elements="str", default=[]),
            firewall_path=dict(type="str", default="oxy_droplet_firewall.name"),
            app_databases=dict(type="dict", default={}),
            monitoring=dict(
                type="dict",
                options=dict(
                    uptime_checks=dict(type="list", elements="str", default=[]),
                    alert_policies=dict(type="list", elements="str", default=[]),
                ),
            ),
            confirm_replace=dict(type="list", elements="str", default=[]),
            orphans=dict(type="bool", default=True),
            match_renames=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    do.run(OwnedResources)


if __name__ == "__main__":
    main()
