#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app
short_description: Manage DigitalOcean App Platform apps
version_added: 0.1.0
description:
  - Create, update or delete an App Platform app, identified by its O(name) (app names are unique in an account).
  - The app spec is compared after server-side defaults are accounted for; only what O(spec) sets counts.
    An unchanged app is never redeployed.
  - SECRET environment variables go in O(secret_envs), never in O(spec). DigitalOcean returns them encrypted, so
    the module keeps a salted HMAC digest of their values in the app-level variable C(OXY_INFRA_SECRETS_DIGEST)
    and redeploys only when a secret really changed (see O(update_secrets)).
  - A failed deployment fails the task with the failing step's message.
  - An app whose newest deployment never went live (it failed or was canceled, so the app still runs an older spec or
    none, for example new credentials that were delivered to its spec but not deployed) is redeployed by the next
    run that states it (O(spec) or O(secret_envs)); the plan shows it as an update of C(deployment). A run with
    O(name) alone only waits.
  - With O(alert_destinations), every alert of the app (the rules of its spec's C(alerts), the app's and its
    components') tells those recipients; the module reads the app's alerts and assigns the destinations of those that
    differ (emails and Slack webhooks, compared as sets). A Slack webhook URL is a secret; it is never shown.
  - Given O(id), the app with that id is this one, under whatever name it has now; a different name renames it in
    place (its spec's C(name), in the same one spec update; the app keeps its id, its deployments, its default
    ingress and its trusted-source entries). Check mode shows the rename as an update of C(spec.name).
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.WAIT
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: Name of the app; also the spec's C(name).
    type: str
    required: true
  id:
    description:
      - Id of the app, which makes it this one, under whatever name it has now (see M(oxy.infra.owned_resources)'s
        C(app_renames)). A different name renames it to O(name).
      - The module fails, before any write, when no app has this id, or when another app already has O(name) (app
        names are unique in an account).
    type: str
  spec:
    description:
      - The app spec (services, static_sites, workers, jobs, domains, ingress, envs, ...), as DigitalOcean documents it.
      - C(name) is taken from O(name). Environment variables of type C(SECRET) with a value are refused here.
      - Omitted, an existing app keeps its spec as it is and only O(secret_envs), O(region) and O(vpc) are applied
        (for example to deliver new credentials to an app defined elsewhere). Creating an app needs it.
    type: dict
  region:
    description:
      - App Platform region (V(ams), V(nyc), ...); sets the spec's C(region).
      - A new region moves the app, as App Platform does (its next deployment runs there; a failover,
        C(playbooks/failover.yml)); an app in a VPC moves with O(vpc) naming a VPC of the new region.
    type: str
  vpc:
    description:
      - Name of a VPC for the app to join (the spec's C(vpc.id)). It must be in the app's region.
    type: str
  secret_envs:
    description: App-level SECRET environment variables, by key. Their values never appear in output.
    type: dict
    default: {}
  update_secrets:
    description:
      - V(on_change) compares secret values by their stored digest and redeploys only when one changed.
      - V(on_create) sets secret values when the app is created and never compares them again.
      - V(always) rewrites them, and so redeploys, on every run.
    type: str
    choices: [on_change, on_create, always]
    default: on_change
  project:
    description: Name of the project the app is created in.
    type: str
  alert_destinations:
    description:
      - Who every alert of the app tells (its spec's C(alerts), such as C(DEPLOYMENT_FAILED) and C(DOMAIN_FAILED)).
        Left out, the alerts' destinations are not managed.
      - An alert whose destinations differ (as sets) gets these, in place; in check mode the diff shows it.
    type: dict
    suboptions:
      emails:
        description:
          - Email addresses; DigitalOcean takes only members of the team that owns the app. Compared as a set.
        type: list
        elements: str
        default: []
      slack_webhooks:
        description: Slack channels, each with its incoming webhook.
        type: list
        elements: dict
        default: []
        suboptions:
          channel:
            description: The channel, as it is named in the notification (V(#oxy-alerts)).
            type: str
            required: true
          url:
            description:
              - The channel's incoming-webhook URL (V(https://hooks.slack.com/...)). A secret - the diff shows it
                as C(********), and a URL that differs from the one the alert has as C(******** (changed)).
            type: str
            required: true
  state:
    description:
      - Whether the app should exist.
      - V(absent) deletes the app with its deployments; it needs O(allow_delete=true). Apps carry no tags in
        DigitalOcean, so an app is protected by listing its name in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
notes:
  - O(wait_timeout) defaults to 900 seconds; the module waits for the deployment it caused to be C(ACTIVE).
    A failed or timed-out deployment fails the task with RV(app_id) and the deployment's last state.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: mention.earth on App Platform, inside the Amsterdam VPC
  oxy.infra.app:
    name: mention-production
    region: ams
    vpc: default-ams3
    spec:
      services:
        - name: web
          image: {registry_type: DOCR, repository: mention, tag: "1.4.2"}
          http_port: 3000
      envs:
        - {key: NODE_ENV, value: production}
    secret_envs:
      MONGODB_URI: "{{ mention_mongodb_uri }}"
"""

RETURN = r"""
app:
  description: The app as the API returns it; SECRET values are encrypted (C(EV[...])). Empty when absent.
  returned: always
  type: dict
deployment:
  description: The deployment this run caused, once finished; for an app left as it is, its newest deployment.
  returned: when the app was created or updated, or left as it is outside check mode; on a failed wait, its last
    state
  type: dict
app_id:
  description: Id of the app whose deployment failed or timed out.
  returned: when the wait for a deployment failed
  type: str
alerts:
  description:
    - The app's alerts (id, C(spec.rule), C(component_name), C(emails), C(slack_webhooks) with their URLs masked) after
      this run, when O(alert_destinations) is set; in check mode, what they would be.
  returned: when O(alert_destinations) is set and the app exists or would
  type: list
  elements: dict
plan_action:
  description: C(rename) when the app is renamed in place (for the oxy.infra.plan callback).
  returned: when renamed
  type: str
plan_from:
  description: The app's name before the rename.
  returned: when renamed
  type: str
plan_note:
  description: What a rename keeps.
  returned: when renamed
  type: str
"""

import copy
import hashlib
import hmac
import json
import os

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager, pending
from ansible_collections.oxy.infra.plugins.module_utils._waiter import deployment_done

DEFAULT_WAIT = 900
DIGEST_KEY = "OXY_INFRA_SECRETS_DIGEST"
COMPONENT_KINDS = ("services", "static_sites", "workers", "jobs", "functions")
MASK = "(secret)"
WEBHOOK_MASK = "********"
WEBHOOK_CHANGED_MASK = "******** (changed)"


def digest(secrets, salt):
    """A salted HMAC of the secret values, safe to keep in a plain environment variable."""
    message = json.dumps(sorted(secrets.items()), separators=(",", ":")).encode()
    return "v1$%s$%s" % (salt, hmac.new(salt.encode(), message, hashlib.sha256).hexdigest())


def _identity(item):
    if isinstance(item, dict):
        return str(item.get("name", item.get("key", item.get("domain", item.get("rule", "")))))
    return ""


def canonical(value):
    """Lists of named things (components, envs, domains) compare without regard to order."""
    if isinstance(value, dict):
        return dict((k, canonical(v)) for k, v in value.items())
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        if items and all(isinstance(i, dict) and _identity(i) for i in items):
            return sorted(items, key=_identity)
        return items
    return value


def covered(desired, current):
    """True when everything ``desired`` sets is in ``current`` (server-side defaults are ignored)."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(covered(v, current.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(desired) == len(current)
            and all(covered(d, c) for d, c in zip(desired, current))
        )
    return desired == current


def masked(spec):
    """The spec with SECRET values and the digest hidden, for diffs."""
    spec = copy.deepcopy(spec)
    for envs in _env_lists(spec):
        for env in envs:
            if env.get("type") == "SECRET" and "value" in env:
                env["value"] = MASK
            if env.get("key") == DIGEST_KEY:
                env["value"] = MASK
    return spec


def _env_lists(spec):
    if "envs" in spec:
        yield spec["envs"]
    for kind in COMPONENT_KINDS:
        for component in spec.get(kind) or []:
            if "envs" in component:
                yield component["envs"]


def without_secret_values(spec):
    """The spec with SECRET values and the digest removed, for comparing."""
    spec = copy.deepcopy(spec)
    for envs in _env_lists(spec):
        envs[:] = [
            dict((k, v) for k, v in e.items() if not (k == "value" and e.get("type") == "SECRET"))
            for e in envs
            if e.get("key") != DIGEST_KEY
        ]
    if spec.get("envs") == []:
        spec.pop("envs")
    return spec


class AppManager(ResourceManager):
    result_key = "app"
    delete_operation = "apps.delete"
    default_wait = DEFAULT_WAIT
    kind = "app"
    desired_options = ("spec", "region", "vpc", "secret_envs", "project", "alert_destinations")

    def writes_nothing(self):
        # With an id, a name alone renames the app: that is a write.
        return not self.params.get("id") and super().writes_nothing()

    def find(self):
        name = self.params["name"]
        if self.params["id"]:
            app = self.fetch(self.params["id"])
            if app is None and self.params["state"] == "present":
                self.do.fail("id: no app has id %s (to be named %r)" % (self.params["id"], name))
            return app
        return self.named(self.api.list("apps.list", "apps"), name, "app name", lambda a: a["spec"]["name"])

    def name_is_free(self, current):
        """Renaming ``current`` to ``name`` must not make two apps of one name (the API refuses it too)."""
        name = self.params["name"]
        others = [a for a in self.api.list("apps.list", "apps") if a["spec"]["name"] == name]
        others = [a for a in others if str(a["id"]) != str(current["id"])]
        if others:
            self.do.fail(
                "name: cannot rename app %s (id %s) to %r: app id %s already has that name (app names are unique in "
                "an account)" % (current["spec"]["name"], current["id"], name, ", ".join(a["id"] for a in others))
            )

    def validate(self, current):
        if self.params["spec"] is None and current is None:
            self.do.fail("spec: app %r does not exist; creating it needs its spec" % self.params["name"])
        for envs in _env_lists(copy.deepcopy(self.params["spec"] or {})):
            for env in envs:
                if env.get("type") == "SECRET" and env.get("value") and not str(env["value"]).startswith("EV["):
                    self.do.fail(
                        "spec: SECRET variable %s has a value in spec; put it in secret_envs so it stays out of logs"
                        % env.get("key")
                    )
        for key in self.params["secret_envs"]:
            if not key or not (key[0].isalpha() or key[0] == "_") or not all(c.isalnum() or c == "_" for c in key):
                self.do.fail("secret_envs: %r is not a valid environment variable name" % key)

    def desired_spec(self, current):
        p = self.params
        spec = copy.deepcopy(p["spec"] if p["spec"] is not None else current["spec"])
        spec["name"] = p["name"]
        if p["region"]:
            spec["region"] = p["region"]
        if p["vpc"]:
            vpc = self.vpc(p["vpc"])
            if vpc is None:
                spec["vpc"] = {"id": pending("vpc", p["vpc"])}
            else:
                region = spec.get("region") or (current or {}).get("spec", {}).get("region")
                if region and not vpc["region"].startswith(region):
                    self.do.fail(
                        "vpc: VPC %r is in %s; an app in region %s cannot join it" % (p["vpc"], vpc["region"], region)
                    )
                spec["vpc"] = {"id": vpc["id"]}
        moving = current and spec.get("region") and spec["region"] != current["spec"].get("region")
        if moving and current["spec"].get("vpc") and not p["vpc"] and "vpc" in spec:
            # The app's VPC is in the region it leaves: a move needs the VPC to join in the new one.
            self.do.fail(
                "vpc: app %r is in VPC %s of region %s; moving it to %s needs a VPC there (vpc)"
                % (p["name"], spec["vpc"].get("id"), current["spec"].get("region"), spec["region"])
            )
        return spec

    def current_digest(self, current):
        for env in (current or {}).get("spec", {}).get("envs") or []:
            if env.get("key") == DIGEST_KEY:
                return env.get("value")
        return None

    def secrets_changed(self, current):
        p = self.params
        if current is None:
            return bool(p["secret_envs"])
        current_keys = set(e["key"] for e in current["spec"].get("envs") or [] if e.get("type") == "SECRET")
        if p["spec"] is None:
            # The app keeps its spec: its other secrets stay as they are; only these are compared.
            if not p["secret_envs"]:
                return False
            if not set(p["secret_envs"]) <= current_keys:
                return True
        elif current_keys != set(p["secret_envs"]):
            return True
        if p["update_secrets"] == "on_create":
            return False
        if p["update_secrets"] == "always":
            return bool(p["secret_envs"])
        stored = self.current_digest(current)
        if not stored or stored.count("$") != 2:
            return bool(p["secret_envs"])
        return not hmac.compare_digest(stored, digest(p["secret_envs"], stored.split("$")[1]))

    def full_spec(self, spec, current):
        """What is sent: the desired spec plus the SECRET variables and their digest."""
        spec = copy.deepcopy(spec)
        secrets = self.params["secret_envs"]
        if secrets:
            envs = [e for e in spec.get("envs") or [] if e.get("key") not in secrets and e.get("key") != DIGEST_KEY]
            envs += [dict(key=k, value=v, type="SECRET", scope="RUN_TIME") for k, v in sorted(secrets.items())]
            stored = self.current_digest(current)
            if self.params["update_secrets"] == "on_create" and stored:
                value = stored
            else:
                value = digest(secrets, os.urandom(8).hex())
            envs.append(dict(key=DIGEST_KEY, value=value, type="GENERAL", scope="RUN_TIME"))
            spec["envs"] = envs
            if self.params["update_secrets"] == "on_create" and current:
                old = dict(
                    (e["key"], e["value"]) for e in current["spec"].get("envs") or [] if e.get("type") == "SECRET"
                )
                for env in spec["envs"]:
                    if env["key"] in old:
                        env["value"] = old[env["key"]]  # keep the encrypted value as it is
        return spec

    def run(self):
        current = self.find()
        if self.params["state"] == "absent":
            return self.absent(current)
        self.validate(current)
        spec = self.desired_spec(current)
        if current is None:
            return self.alerts_told(self.create(spec), spec)
        old = current["spec"]["name"]
        if old == self.params["name"]:
            return self.alerts_told(self.update(current, spec), spec)
        self.name_is_free(current)
        result = self.alerts_told(self.update(current, spec), spec)
        result.update(
            plan_action="rename",
            plan_from=old,
            plan_note="in place: id %s keeps its deployments and trusted sources" % current["id"],
        )
        return result

    def alerts_told(self, result, spec):
        """Every alert of the app tells ``alert_destinations``: those that differ are assigned, in place.

        The alerts are the app's state (they decide a write), read after the spec's write; App Platform keeps
        one alert per rule of the spec (the app's, and each component's), so in check mode the spec says which
        there will be. The diff's ``alert_destinations`` maps each alert (``rule`` or ``component/rule``) to
        its recipients, Slack webhook URLs masked.
        """
        wanted = self.params["alert_destinations"]
        if wanted is None:
            return result
        wanted = destinations(wanted)
        app_id = (result.get("app") or {}).get("id")
        moving = self.do.check_mode and spec.get("region") != ((result.get("app") or {}).get("spec") or {}).get(
            "region"
        )
        try:
            once = dict(retry_total=0) if moving else {}  # a region that is down answers 503 at once
            rows = (self.api.call("apps.list_alerts", app_id, **once).get("alerts") or []) if app_id else []
        except DigitalOceanError as exc:
            if not (moving and exc.status == 503):
                raise
            # A plan to move the app out of a region that is down: its alerts there cannot be read; the move
            # (a new spec) makes them anew in the new region, so the plan shows them all as to be told.
            rows = []
        have = dict((alert_key(row), row) for row in rows)
        keys = sorted(set(alert_keys(spec)) | (set(have) if not self.do.check_mode else set()))
        before = dict((k, destinations(have[k])) for k in sorted(have))
        after = dict(before)
        missing = []
        for key in keys:
            if key not in have and not self.do.check_mode:
                missing.append(key)
                continue
            if key in have and destinations(have[key]) == wanted:
                continue
            after[key] = wanted
            if not self.do.check_mode:
                body = dict(emails=wanted["emails"], slack_webhooks=[dict(h) for h in wanted["slack_webhooks"]])
                self.api.call("apps.assign_alert_destinations", app_id, have[key]["id"], body, idempotent=True)
        if missing:
            self.do.module.warn(
                "alert_destinations: app %s has no alert %s yet (App Platform configures it with the deployment); "
                "the next run assigns its destinations" % (self.params["name"], ", ".join(missing))
            )
        known = dict((key, set(h["url"] for h in told["slack_webhooks"])) for key, told in before.items())
        result = dict(result)
        diff = dict(result.get("diff") or dict(before={}, after={}))
        if after != before:
            result["changed"] = True
            diff = dict(
                before=dict(diff.get("before") or {}, alert_destinations=masked_destinations(before)),
                after=dict(diff.get("after") or {}, alert_destinations=masked_destinations(after, known)),
            )
        result["diff"] = diff
        told = dict(have)
        result["alerts"] = [
            dict(
                told.get(key, dict(spec=dict(rule=key.rpartition("/")[2]))),
                **masked_destinations({key: after.get(key, destinations({}))})[key],
            )
            for key in keys
        ]
        return result

    def create(self, spec):
        change = Change({})
        change.set("spec", masked(self.full_spec(spec, None)))
        if self.do.check_mode:
            return dict(changed=True, app=dict(spec=change.after["spec"]), diff=change.diff())
        body = {"spec": self.full_spec(spec, None)}
        if self.params["project"]:
            body["project_id"] = self.project_id()
        app = self.api.create(lambda: self.api.call("apps.create", body)["app"], self.find)
        deployment = self.wait(app)
        return dict(changed=True, app=self.fetch(app["id"]), deployment=deployment, diff=change.diff())

    def update(self, current, spec):
        compare_desired = canonical(without_secret_values(self.full_spec(spec, current)))
        compare_current = canonical(without_secret_values(current["spec"]))
        spec_changed = not covered(compare_desired, compare_current)
        changed = spec_changed or self.secrets_changed(current)
        change = Change({"spec": masked(current["spec"])})
        if changed:
            after = masked(self.full_spec(spec, current))
            if not self.secrets_changed(current):
                # An unchanged secret keeps its digest: show it as it is.
                after["envs"] = [
                    e if e.get("key") != DIGEST_KEY else dict(e, value=MASK) for e in after.get("envs") or []
                ]
            change.set("spec", after)
        newest = None
        if not changed and not self.writes_nothing():
            # Read as the app's own state: it decides a redeploy (the wait below reuses it).
            newest = self.newest_deployment(current, lookup=False)
        if newest is not None and not_live(current, newest):
            # The spec is what the definition says, but the app does not run it: finish the delivery.
            change = Change({"spec": masked(current["spec"]), "deployment": "newest did not go live"})
            change.set("deployment", "redeployed")
            if self.do.check_mode:
                return dict(changed=True, app=current, diff=change.diff())
            self.api.call("apps.create_deployment", current["id"], {"force_build": False})
            deployment = self.wait(current)
            return dict(changed=True, app=self.fetch(current["id"]), deployment=deployment, diff=change.diff())
        if not changed:
            result = dict(changed=False, app=current, diff=change.diff())
            if not self.do.check_mode:
                result["deployment"] = self.wait(current, newest)
            return result
        if self.do.check_mode:
            return dict(changed=True, app=current, diff=change.diff())
        self.api.call("apps.update", current["id"], {"spec": self.full_spec(spec, current)})
        deployment = self.wait(current)
        return dict(changed=True, app=self.fetch(current["id"]), deployment=deployment, diff=change.diff())

    def project_id(self):
        name = self.params["project"]
        project = self.named(self.api.list("projects.list", "projects", lookup=True), name, "project name")
        if project is None:
            raise DigitalOceanError("project: no project named %r" % name)
        return project["id"]

    def fetch(self, app_id):
        body = self.api.call("apps.get", app_id, missing_ok=True)
        return body["app"] if body else None

    def newest_deployment(self, app, lookup=True):
        """The newest deployment of ``app`` (None: it has none)."""
        body = self.api.call("apps.list_deployments", app["id"], per_page=1, lookup=lookup)
        return next(iter(body.get("deployments") or []), None)

    def wait(self, app, newest=None):
        """Wait for the newest deployment of ``app`` to finish; fail with its failing step.

        The list's newest deployment is the wait's first look (a lookup: it decides no write), unless
        ``newest`` is given (read already).
        """
        if newest is None:
            newest = self.newest_deployment(app)
        if newest is None:
            return None
        return self.waiter.until(
            lambda: self.api.call("apps.get_deployment", app["id"], newest["id"])["deployment"],
            deployment_done,
            "deployment %s of app %s" % (newest["id"], app["spec"]["name"]),
            results=lambda last: dict(app_id=app["id"], deployment=_deployment_facts(last or newest)),
            current=newest,
        )

    def absent(self, current):
        return self.delete(current, {"spec": masked(current["spec"])} if current else None)


def alert_key(alert):
    """How an alert of the app is named here: its rule, or ``component/rule`` for a component's."""
    rule = (alert.get("spec") or {}).get("rule")
    return "%s/%s" % (alert["component_name"], rule) if alert.get("component_name") else rule


def alert_keys(spec):
    """The alerts App Platform keeps for ``spec``: one per rule of the app's and each component's ``alerts``."""
    keys = [a.get("rule") for a in spec.get("alerts") or []]
    for kind in COMPONENT_KINDS:
        for component in spec.get(kind) or []:
            keys += ["%s/%s" % (component.get("name"), a.get("rule")) for a in component.get("alerts") or []]
    return [k for k in keys if k]


def destinations(alert):
    """An alert's (or the option's) recipients in the form used for comparing: sorted, no duplicates."""
    hooks = dict(
        ((h.get("channel") or "", h.get("url") or ""), dict(channel=h.get("channel") or "", url=h.get("url") or ""))
        for h in alert.get("slack_webhooks") or []
    )
    return dict(
        emails=sorted(set(alert.get("emails") or [])),
        slack_webhooks=[hooks[k] for k in sorted(hooks)],
    )


def masked_destinations(by_alert, known=None):
    """Recipients by alert with every webhook URL masked; with ``known`` (each alert's URLs now), a URL that is
    not among its alert's shows as changed."""
    return dict(
        (
            key,
            dict(
                emails=list(told["emails"]),
                slack_webhooks=[
                    dict(
                        channel=h["channel"],
                        url=WEBHOOK_CHANGED_MASK
                        if known is not None and h["url"] not in known.get(key, ())
                        else WEBHOOK_MASK,
                    )
                    for h in told["slack_webhooks"]
                ],
            ),
        )
        for key, told in by_alert.items()
    )


def not_live(app, newest):
    """True when ``newest``, the app's newest deployment, ended without going live (ERROR or CANCELED), so
    the app runs an older one, or none. A rolled-back (pinned) app is left alone: it refuses deployments
    until the rollback is committed."""
    if app.get("pinned_deployment") or newest.get("phase") not in ("ERROR", "CANCELED"):
        return False
    return (app.get("active_deployment") or {}).get("id") != newest.get("id")


def _deployment_facts(deployment):
    return dict((k, deployment.get(k)) for k in ("id", "phase", "cause", "created_at", "updated_at"))


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            id=dict(type="str"),
            spec=dict(type="dict"),
            region=dict(type="str"),
            vpc=dict(type="str"),
            secret_envs=dict(type="dict", default={}, no_log=True),
            update_secrets=dict(
                type="str", default="on_change", choices=["on_change", "on_create", "always"], no_log=False
            ),
            project=dict(type="str"),
            alert_destinations=dict(
                type="dict",
                options=dict(
                    emails=dict(type="list", elements="str", default=[]),
                    slack_webhooks=dict(
                        type="list",
                        elements="dict",
                        default=[],
                        options=dict(
                            channel=dict(type="str", required=True),
                            url=dict(type="str", required=True, no_log=True),
                        ),
                    ),
                ),
            ),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        wait=True,
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(AppManager)


if __name__ == "__main__":
    main()
