#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: project
short_description: Manage DigitalOcean projects and the resources assigned to them
version_added: 0.1.0
description:
  - Create, update or delete a project, identified by its O(name), and assign resources to it.
  - A resource belongs to exactly one project; assigning moves it here. Resources already in the project are
    left alone, so a converged project reports no change.
  - Resources are named by kind (O(droplets), O(databases), O(apps), O(domains)) or given as URNs.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: Name of the project.
    type: str
    required: true
  purpose:
    description: Purpose of the project, free text. Required to create.
    type: str
  description:
    description: Description of the project.
    type: str
  environment:
    description: Environment of the project.
    type: str
    choices: [Development, Staging, Production]
  is_default:
    description: Make this the account's default project. A default project cannot be unset, only replaced.
    type: bool
  droplets:
    description: Names of Droplets to assign.
    type: list
    elements: str
    default: []
  databases:
    description: Names of database clusters to assign.
    type: list
    elements: str
    default: []
  apps:
    description: Names of App Platform apps to assign.
    type: list
    elements: str
    default: []
  domains:
    description: Domain names to assign.
    type: list
    elements: str
    default: []
  resources:
    description: URNs to assign (C(do:droplet:ID), C(do:dbaas:UUID), C(do:app:UUID), C(do:domain:NAME)).
    type: list
    elements: str
    default: []
  state:
    description:
      - Whether the project should exist.
      - V(absent) needs O(allow_delete=true); projects carry no tags, so a project is protected by listing its
        name in O(protected_names). The account's default project, and a project that still holds resources,
        are refused even then, before any write.
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: One project holds the Oxy production environment
  oxy.infra.project:
    name: oxy
    purpose: Service or API
    environment: Production
    droplets: [oxy-api-backend]
    databases: [db-oxy, db-valkey-ams3-04785]
    apps: [oxy-api, mention-production]
"""

RETURN = r"""
project:
  description: The project as the API returns it; empty when absent.
  returned: always
  type: dict
assigned:
  description: URNs this run assigned to the project.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, desired_from
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import DeleteRefused, ResourceManager, pending

FIELDS = ("name", "purpose", "description", "environment", "is_default")


class ProjectManager(ResourceManager):
    result_key = "project"
    kind = "project"
    delete_operation = "projects.delete"

    def find(self):
        return self.named(self.api.list("projects.list", "projects"), self.params["name"], "project name")

    def _urns(self, names, kind, finder):
        urns = []
        for name in names:
            found = finder(name)
            if found is None:
                if self.do.check_mode:  # a plan on an account where it is still to be created
                    urns.append("do:%s:%s" % (kind, pending(kind, name)))
                    continue
                raise DigitalOceanError("%ss: no %s named %r" % (kind, kind, name))
            urns.append(found)
        return urns

    def wanted_urns(self):
        p = self.params
        urns = list(p["resources"])
        for urn in urns:
            if not urn.startswith(("do:droplet:", "do:dbaas:", "do:app:", "do:domain:", "do:vpc:")):
                self.do.fail("resources: %r is not a URN like do:droplet:ID or do:dbaas:UUID" % urn)
        if p["droplets"]:
            droplets = self.api.list("droplets.list", "droplets", lookup=True)
            urns += self._urns(p["droplets"], "droplet", lambda n: self._one(droplets, n, "name", "do:droplet:%s"))
        if p["databases"]:
            clusters = self.api.call("databases.list_clusters", lookup=True).get("databases") or []
            urns += self._urns(p["databases"], "database", lambda n: self._one(clusters, n, "name", "do:dbaas:%s"))
        if p["apps"]:
            apps = self.api.list("apps.list", "apps", lookup=True)
            urns += self._urns(p["apps"], "app", lambda n: self._one(apps, n, "spec.name", "do:app:%s"))
        urns += ["do:domain:%s" % d for d in p["domains"]]
        return sorted(set(urns))

    def _one(self, items, name, field, template):
        def value(item):
            for part in field.split("."):
                item = item.get(part) or {}
            return item

        found = self.named(items, name, field, value)
        return template % found["id"] if found else None

    def run(self):
        current = self.find()
        p = self.params
        if p["state"] == "absent":
            return self.absent(current)
        if current is None and not p["purpose"]:
            self.do.fail("purpose is required to create project %r" % p["name"])
        if current is not None and p["is_default"] is False and current["is_default"]:
            self.do.fail("is_default: %r is the default project; make another project the default instead" % p["name"])
        urns = self.wanted_urns()
        assigned_now = set()
        if current is not None:
            assigned_now = set(r["urn"] for r in self.api.list("projects.list_resources", "resources", current["id"]))
        before = dict((k, current.get(k)) for k in FIELDS) if current else {}
        if current:
            before["resources"] = sorted(assigned_now & set(urns))
        change = Change(before)
        change.update(desired_from(p, FIELDS))
        change.set("resources", urns)
        missing = [u for u in urns if u not in assigned_now]
        project = current or dict(change.after)
        if change.changed and not self.do.check_mode:
            fields = dict(
                (k, change.after[k]) for k in FIELDS if k in change.after and change.after[k] != before.get(k)
            )
            if current is None:
                body = dict((k, v) for k, v in fields.items() if k != "is_default")
                project = self.api.create(lambda: self.api.call("projects.create", body)["project"], self.find)
                fields = dict(is_default=True) if fields.get("is_default") else {}
            if fields:
                project = self.api.call("projects.patch", project["id"], fields)["project"]
            if missing:
                answer = self.api.call(
                    "projects.assign_resources", project["id"], {"resources": missing}, idempotent=True
                )
                lost = [r["urn"] for r in answer.get("resources") or [] if r.get("status") == "not_found"]
                if lost:
                    raise DigitalOceanError("could not assign %s: not found" % ", ".join(lost))
        return dict(
            changed=change.changed, project=project, assigned=missing if change.changed else [], diff=change.diff()
        )

    def absent(self, current):
        self.guard_delete(current)
        if current is None:
            return dict(self.delete(None, None), assigned=[])
        if current.get("is_default"):
            raise DeleteRefused("project %r is the default project and cannot be deleted" % current["name"])
        held = self.api.list("projects.list_resources", "resources", current["id"])
        if held:
            raise DeleteRefused(
                "project %r still holds %d resources (%s); move or delete them first"
                % (current["name"], len(held), ", ".join(r["urn"] for r in held[:5]))
            )
        before = dict((k, current.get(k)) for k in FIELDS)
        return dict(self.delete(current, before, headers={"Content-Type": "application/json"}), assigned=[])


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            purpose=dict(type="str"),
            description=dict(type="str"),
            environment=dict(type="str", choices=["Development", "Staging", "Production"]),
            is_default=dict(type="bool"),
            droplets=dict(type="list", elements="str", default=[]),
            databases=dict(type="list", elements="str", default=[]),
            apps=dict(type="list", elements="str", default=[]),
            domains=dict(type="list", elements="str", default=[]),
            resources=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(ProjectManager)


if __name__ == "__main__":
    main()
