"""App Platform apps and their deployments, alerts, logs and rollbacks.

Deployment phases are computed from the deployment's start time on every read, so a
slow or failing deployment needs no background work: PENDING_BUILD, BUILDING,
DEPLOYING, then ACTIVE (or ERROR for an app named in ``deploy_failures``; CANCELED once
canceled). A deployment's logs are made up from the phases it went through, served by the
sandbox at the URLs the logs endpoints hand out (``/_sandbox/logs/...``), as DigitalOcean
hands out URLs of its log archive and live log stream.

An app's domains (``spec.domains``) are configured by its deployments: a domain is ACTIVE once a
deployment of it went live, or ERROR when that deployment could not configure it (a domain named in
the ``domain_failures`` setting when the deployment started). The app's alerts fire as App Platform's
do: DEPLOYMENT_FAILED when a deployment ends in ERROR, DOMAIN_FAILED for each domain a deployment that
went live could not configure, each once per deployment, to the alert's destinations (its emails and
Slack webhooks, recorded as the monitoring backend records what it sends; never a webhook's URL). An
ended deployment is settled on reads of the app, by every monitoring round and before notifications
are read (``settle_alerts``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import catalog
from ..errors import APIError, not_found, unprocessable
from ..store import Frozen, Missing, public
from ..util import new_uuid, now_iso
from .base import ACCOUNT_UUID, Backend

_KEY = hashlib.sha256(b"oxy-sandbox-app-secrets").digest()
_COMPONENT_KINDS = ("services", "static_sites", "workers", "jobs", "functions")
_RUNNING = ("PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING")
_SIZED_KINDS = ("services", "workers", "jobs")
# The step of a deployment (0 PENDING_BUILD, 1 BUILDING, 2 DEPLOYING, 3 ACTIVE) from which a type of log exists.
_LOG_FROM_STEP = {"BUILD": 1, "DEPLOY": 2, "RUN": 3, "RUN_RESTARTED": 3}


def encrypt(value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_KEY).encrypt(nonce, value.encode(), None)
    return f"EV[1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}]"


def decrypt(value: str) -> str:
    """The plain value of an ``EV[...]`` SECRET, as the app's runtime sees it (tests read delivered secrets)."""
    if not (value.startswith("EV[1:") and value.endswith("]")):
        raise ValueError("not a value sealed by this sandbox")
    nonce, sealed = value[len("EV[1:") : -1].split(":")
    return AESGCM(_KEY).decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()


def _seal_envs(envs: list[dict] | None) -> None:
    for env in envs or []:
        value = env.get("value")
        if env.get("type") == "SECRET" and value is not None and not value.startswith("EV["):
            env["value"] = encrypt(value)


def region_view(slug: str) -> dict:
    label, continent, dcs, flag = catalog.APP_REGIONS[slug]
    return {
        "slug": slug,
        "label": label,
        "flag": flag,
        "continent": continent,
        "data_centers": dcs,
        "default": slug == "nyc",
        "disabled": False,
        "reason": "",
    }


def _phase(dep: dict, newer: list[dict]) -> tuple[str, int]:
    if dep.get("_canceled"):
        return "CANCELED", dep.get("_canceled_step", 0)
    elapsed = time.time() - dep["_t0"]
    delay = dep["_delay"]
    step = 3 if elapsed >= delay else int(elapsed / delay * 3) if delay else 3
    if dep.get("_fail") and step >= 1:
        return "ERROR", 1
    phase = ("PENDING_BUILD", "BUILDING", "DEPLOYING", "ACTIVE")[step]
    if any(_phase(n, [])[0] == "ACTIVE" for n in newer):
        return "SUPERSEDED", step
    return phase, step


def deployment_view(dep: dict, newer: list[dict]) -> dict:
    phase, done = _phase(dep, newer)
    names = ["build", "deploy", "finalize"]
    steps = []
    for i, name in enumerate(names):
        status = "SUCCESS" if i < done else "PENDING"
        if phase == "ERROR" and i == done:
            status = "ERROR"
        elif phase in _RUNNING and i == done:
            status = "RUNNING"
        step = {"name": name, "status": status}
        if status == "ERROR":
            step["reason"] = {"code": "BuildJobFailed", "message": dep["_fail"]}
        steps.append(step)
    out = public(dep)
    out.update(
        phase=phase,
        phase_last_updated_at=now_iso(),
        progress={
            "total_steps": 3,
            "success_steps": sum(s["status"] == "SUCCESS" for s in steps),
            "error_steps": sum(s["status"] == "ERROR" for s in steps),
            "pending_steps": sum(s["status"] == "PENDING" for s in steps),
            "running_steps": sum(s["status"] == "RUNNING" for s in steps),
            "steps": steps,
            "summary_steps": steps,
        },
    )
    return out


def _check_size(where: str, comp: dict) -> None:
    slug = comp.get("instance_size_slug")
    if slug is None:
        return
    size = catalog.APP_INSTANCE_SIZES.get(slug)
    if size is None:
        raise unprocessable(f"{where}.instance_size_slug: {slug!r} is not an App Platform instance size")
    if size.get("single_instance_only") and comp.get("instance_count", 1) > 1:
        raise unprocessable(f"{where}.instance_count: instance size {slug} allows a single instance only")


def _components(spec: dict) -> dict[str, tuple[str, dict]]:
    return {c["name"]: (kind, c) for kind in _COMPONENT_KINDS for c in spec.get(kind, [])}


def _source(comp: dict) -> tuple[dict | None, str]:
    """A component's image (or None) and where its code comes from, for its logs."""
    image = comp.get("image")
    if image:
        registry = image.get("registry", "registry.digitalocean.com")
        return image, f"{registry}/{image.get('repository')}:{image.get('tag', 'latest')}"
    for key in ("git", "github", "gitlab", "bitbucket"):
        if key in comp:
            return None, comp[key].get("repo_clone_url") or comp[key].get("repo", key)
    return None, "the component's source"


def _is_static(spec: dict) -> bool:
    return bool(spec.get("static_sites")) and not any(spec.get(k) for k in _COMPONENT_KINDS if k != "static_sites")


def _monthly_cost(spec: dict, static_apps: int) -> int:
    """What the app costs a month: its sized components, or a static site beyond the free ones."""
    if _is_static(spec):
        return 0 if static_apps < catalog.APP_FREE_STATIC_SITES else 3
    cost = 0.0
    for kind in _SIZED_KINDS:
        for comp in spec.get(kind, []):
            size = catalog.APP_INSTANCE_SIZES[comp.get("instance_size_slug", "apps-s-1vcpu-0.5gb")]
            cost += float(size["usd_per_month"]) * comp.get("instance_count", 1)
    return round(cost)


def _alert_rows(spec: dict, existing: list[dict]) -> list[dict]:
    """The app's alerts for ``spec`` (its own and its components'); an alert that stays keeps its id and
    destinations."""
    kept = {(a.get("component_name", ""), a["spec"]["rule"]): a for a in existing}
    wanted = [("", s) for s in spec.get("alerts", [])]
    wanted += [(c["name"], s) for kind in _COMPONENT_KINDS for c in spec.get(kind, []) for s in c.get("alerts", [])]
    rows = []
    for component, alert_spec in wanted:
        old = kept.get((component, alert_spec["rule"]))
        at = old["progress"]["steps"][0]["started_at"] if old else now_iso()
        row = {
            "id": old["id"] if old else new_uuid(),
            "spec": alert_spec,
            "emails": list(old["emails"]) if old else [],
            "slack_webhooks": list(old["slack_webhooks"]) if old else [],
            "phase": "ACTIVE",
            "progress": {
                "steps": [
                    {"name": "alert-configure-insight-alert", "status": "SUCCESS", "started_at": at, "ended_at": at}
                ]
            },
        }
        if component:
            row["component_name"] = component
        rows.append(row)
    return rows


def _domain_view(app_id: str, spec: dict, deps: list[dict]) -> dict:
    """An app domain as the API shows it, from the deployments that configured it (``deps``: views, oldest first)."""
    name = spec["domain"]
    decided = [d for d in deps if d["phase"] in ("ACTIVE", "SUPERSEDED") and d["progress"]["success_steps"] == 3]
    configured = [d for d in decided if any(x.get("domain") == name for x in d["spec"].get("domains", []))]
    step = {"name": "domain-configure"}
    if configured:
        failure = configured[-1].get("_domain_fail", {}).get(name)
        phase = "ERROR" if failure else "ACTIVE"
        step.update(status="ERROR" if failure else "SUCCESS", started_at=configured[-1]["created_at"])
        if failure:
            step["reason"] = {"code": "DomainConfigurationFailed", "message": failure}
    else:
        phase = "CONFIGURING" if any(d["phase"] in _RUNNING for d in deps) else "PENDING"
        step["status"] = "RUNNING" if phase == "CONFIGURING" else "PENDING"
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"do:app:{app_id}/domain/{name}")),
        "spec": spec,
        "phase": phase,
        "progress": {"steps": [step]},
    }


def _condition(code: str, message: str, components: list[str] | None = None) -> dict:
    found = {"code": code, "message": message}
    if components:
        found["components"] = components
    return found


class AppsBackend(Backend):
    def _normalise(self, spec) -> tuple[dict, Frozen | None]:
        """The spec as App Platform stores it: defaults filled in, SECRET values encrypted."""
        data = spec.model_dump(exclude_none=True)
        data.setdefault("region", "nyc")
        _seal_envs(data.get("envs"))
        for kind in _COMPONENT_KINDS:
            for comp in data.get(kind, []):
                _seal_envs(comp.get("envs"))
                if kind == "services":
                    comp.setdefault("instance_count", 1)
                    comp.setdefault("instance_size_slug", "apps-s-1vcpu-0.5gb")
                    comp.setdefault("http_port", 8080)
        for kind in _SIZED_KINDS:
            for i, comp in enumerate(data.get(kind, [])):
                _check_size(f"spec.{kind}.{i}", comp)
        names = [c["name"] for kind in _COMPONENT_KINDS for c in data.get(kind, [])]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise unprocessable(f"spec: component names must be unique, repeated: {dupes}")
        vpc = None
        vpc_ref = data.get("vpc")
        if vpc_ref:
            vpc = self.store.get("vpcs", vpc_ref.get("id", ""))
            if vpc is None:
                raise unprocessable(f"spec.vpc.id: VPC {vpc_ref.get('id')!r} does not exist")
            datacenters = catalog.APP_REGIONS[data["region"]][2]
            if vpc["region"] not in datacenters:
                raise unprocessable(
                    f"spec.vpc.id: VPC {vpc['name']} is in {vpc['region']}; an app in region {data['region']} "
                    f"can only join a VPC in {', '.join(datacenters)}"
                )
        return data, vpc

    def _set_spec(self, app: dict, spec) -> None:
        """Validate ``spec`` and set it on ``app`` (a new app, or the copy an ``editing`` block holds)."""
        data, vpc = self._normalise(spec)
        other = next(
            (a for a in self.store.all("apps") if a["spec"]["name"] == data["name"] and a["id"] != app.get("id")), None
        )
        if other:
            raise APIError(409, f"spec.name: an app named {data['name']!r} already exists")
        # A new region is allowed, as on App Platform: the deployment this update starts runs the app
        # there (an app in a VPC must name a VPC of the new region: ``_normalise`` refuses any other).
        self.sb.regions.refuse(data["region"])
        app["spec"] = data
        app["_alerts"] = _alert_rows(data, app.get("_alerts", []))
        app["region"] = region_view(data["region"])
        if vpc:
            app["vpc"] = {"id": vpc["id"], "egress_ips": [{"ip": f"10.{vpc['ip_range'].split('.')[1]}.255.1"}]}
        else:
            app.pop("vpc", None)

    def _deployments(self, app_id: str) -> list[Frozen]:
        return sorted((d for d in self.store.all("deployments") if d["_app_id"] == app_id), key=lambda d: d["_t0"])

    def _dep_views(self, app_id: str) -> list[dict]:
        deps = self._deployments(app_id)
        return [deployment_view(d, deps[i + 1 :]) for i, d in enumerate(deps)]

    def view(self, app: Frozen) -> dict:
        """An app as the API shows it: with its project, its active and running deployments and its domains."""
        self.settle_alerts()
        out = public(app)
        out["project_id"] = self.sb.projects.project_of(f"do:app:{app['id']}")
        stored = self._deployments(app["id"])
        deps = self._dep_views(app["id"])
        if app["spec"].get("domains"):
            with_failures = [
                {**v, "_domain_fail": d.get("_domain_fail", {})} for v, d in zip(deps, stored, strict=True)
            ]
            out["domains"] = [_domain_view(app["id"], spec, with_failures) for spec in app["spec"]["domains"]]
        active = [d for d in deps if d["phase"] == "ACTIVE"]
        running = [d for d in deps if d["phase"] in _RUNNING]
        if active:
            out["active_deployment"] = active[-1]
            out["live_url"] = out["default_ingress"]
            out["live_url_base"] = out["default_ingress"]
            out["live_domain"] = out["default_ingress"].removeprefix("https://")
        if running:
            out["in_progress_deployment"] = running[-1]
        if deps:
            out["last_deployment_created_at"] = deps[-1]["created_at"]
        pinned = app.get("_rollback", {}).get("pinned")
        if pinned:
            out["pinned_deployment"] = next(d for d in deps if d["id"] == pinned)
        return out

    def _deploy(self, app: Frozen, cause: str, cloned_from: str | None = None) -> Frozen:
        dep = {
            "id": new_uuid(),
            "cause": cause,
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "spec": app["spec"],
            "tier_slug": "basic",
            "_app_id": app["id"],
            "_t0": time.time(),
            "_delay": self.settings.app_delay,
            "_fail": self.settings.deploy_failures.get(app["spec"]["name"]),
            "services": [{"name": s["name"], "source_commit_hash": "0" * 40} for s in app["spec"].get("services", [])],
        }
        failing = self.settings.domain_failures
        domains = [d["domain"] for d in app["spec"].get("domains", []) if d.get("domain") in failing]
        if domains:
            dep["_domain_fail"] = {name: failing[name] for name in domains}
        if cloned_from:
            dep["cloned_from"] = cloned_from
        return self.store.create("deployments", dep["id"], dep)

    def _not_pinned(self, app: Frozen) -> None:
        pinned = app.get("_rollback", {}).get("pinned")
        if pinned:
            raise unprocessable(
                f"the app is pinned to rollback deployment {pinned}: commit or revert the rollback to deploy again"
            )

    # -- apps -------------------------------------------------------------------------------
    def list(self) -> list[Frozen]:
        return sorted(self.store.all("apps"), key=lambda a: a["created_at"])

    def get(self, app_id: str, name: str | None = None) -> dict:
        if name:
            app = next((a for a in self.store.all("apps") if a["spec"]["name"] == name), None)
            if app is None:
                raise not_found()
        else:
            app = self.must("apps", app_id)
        return self.view(app)

    def create(self, spec, project_id: str | None) -> dict:
        if project_id and self.store.get("projects", project_id) is None:
            raise unprocessable(f"project_id: project {project_id} does not exist")
        app = {"id": new_uuid(), "owner_uuid": ACCOUNT_UUID, "created_at": now_iso(), "tier_slug": "basic"}
        self._set_spec(app, spec)
        app["updated_at"] = app["created_at"]
        suffix = hashlib.sha1(app["id"].encode(), usedforsecurity=False).hexdigest()[:5]
        app["default_ingress"] = f"https://{app['spec']['name']}-{suffix}.ondigitalocean.app"
        stored = self.store.create("apps", app["id"], app)
        self._deploy(stored, "initial deployment")
        self.sb.projects.assign(f"do:app:{app['id']}", project_id)
        return self.view(stored)

    def update(self, app_id: str, spec) -> dict:
        self._not_pinned(self.must("apps", app_id))
        with self.store.editing("apps", app_id) as app:
            self._set_spec(app, spec)
            app["updated_at"] = now_iso()
        stored = self.store.get("apps", app_id)
        self._deploy(stored, "app spec updated")
        return self.view(stored)

    def delete(self, app_id: str) -> dict:
        self.must("apps", app_id)
        for dep in self._deployments(app_id):
            self.store.delete("deployments", dep["id"])
        self.store.delete("apps", app_id)
        self.sb.projects.forget(f"do:app:{app_id}")
        return {"id": app_id}

    # -- deployments ------------------------------------------------------------------------
    def deployments(self, app_id: str) -> list[dict]:
        self.must("apps", app_id)
        return list(reversed(self._dep_views(app_id)))

    def deploy(self, app_id: str, force_build: bool) -> dict:
        app = self.must("apps", app_id)
        self._not_pinned(app)
        dep = self._deploy(app, "manual" + (" (force build)" if force_build else ""))
        return deployment_view(dep, [])

    def deployment(self, app_id: str, deployment_id: str) -> dict:
        self.must("apps", app_id)
        for view_ in self._dep_views(app_id):
            if view_["id"] == deployment_id:
                return view_
        raise not_found()

    def cancel(self, app_id: str, deployment_id: str) -> dict:
        """Cancel a deployment in progress: it ends CANCELED where it was; a finished one stays as it is."""
        current = self.deployment(app_id, deployment_id)
        if current["phase"] not in _RUNNING:
            raise unprocessable(
                f"deployment {deployment_id} is {current['phase']}: only a deployment in progress can be canceled"
            )
        step = current["progress"]["success_steps"]
        self.store.patch("deployments", deployment_id, _canceled=True, _canceled_step=step, updated_at=now_iso())
        return self.deployment(app_id, deployment_id)

    # -- proposals and the catalog ------------------------------------------------------------
    def propose(self, spec, app_id: str | None) -> dict:
        """What creating (or, with ``app_id``, updating) an app with ``spec`` would make; nothing is created."""
        if app_id:
            self.must("apps", app_id)
        data, _ = self._normalise(spec)
        others = [a for a in self.store.all("apps") if a["id"] != app_id]
        taken = {a["spec"]["name"] for a in others}
        static_apps = sum(_is_static(a["spec"]) for a in others)
        out = {
            "app_name_available": data["name"] not in taken,
            "app_is_static": _is_static(data),
            "existing_static_apps": str(static_apps),
            "spec": data,
            "app_cost": _monthly_cost(data, static_apps),
        }
        if data["name"] in taken:
            suffix = next(n for n in range(2, len(taken) + 3) if f"{data['name'][:29]}-{n}" not in taken)
            out["app_name_suggestion"] = f"{data['name'][:29]}-{suffix}"
        return out

    @staticmethod
    def instance_sizes() -> list[dict]:
        return list(catalog.APP_INSTANCE_SIZES.values())

    @staticmethod
    def instance_size(slug: str) -> dict:
        size = catalog.APP_INSTANCE_SIZES.get(slug)
        if size is None:
            raise not_found()
        return size

    @staticmethod
    def regions() -> list[dict]:
        return [region_view(slug) for slug in catalog.APP_REGIONS]

    # -- alerts -----------------------------------------------------------------------------
    def alerts(self, app_id: str) -> list[dict]:
        return [public(a) for a in self.must("apps", app_id).get("_alerts", [])]

    def assign_alert_destinations(self, app_id: str, alert_id: str, emails, slack_webhooks) -> dict:
        """Set where an alert goes; the emails must be of a member of the team (this sandbox's account)."""
        app = self.must("apps", app_id)
        if not any(a["id"] == alert_id for a in app.get("_alerts", [])):
            raise not_found()
        member = self.sb.account.info()["email"]
        strangers = [e for e in emails or [] if e.lower() != member.lower()]
        if strangers:
            raise unprocessable(f"emails: {', '.join(strangers)} is not a member of the team that owns the app")
        for i, hook in enumerate(slack_webhooks or []):
            if not (hook.get("url") or "").startswith("https://"):
                raise unprocessable(f"slack_webhooks.{i}.url: an https:// URL is required")
        with self.store.editing("apps", app_id) as changing:
            alert = next(a for a in changing["_alerts"] if a["id"] == alert_id)
            if emails is not None:
                alert["emails"] = list(dict.fromkeys(emails))
            if slack_webhooks is not None:
                alert["slack_webhooks"] = slack_webhooks
        return public(alert)

    def settle_alerts(self) -> None:
        """Send the alerts of every deployment that ended since the last look (once per deployment): its app's
        DEPLOYMENT_FAILED when it ended in ERROR, DOMAIN_FAILED for each domain it went live without."""
        for dep in [d for d in self.store.all("deployments") if not d.get("_alerted")]:
            app = self.store.get("apps", dep["_app_id"])
            if app is None:
                continue
            deps = self._deployments(app["id"])
            later = [d for d in deps if d["_t0"] > dep["_t0"]]
            phase, step = _phase(dep, later)
            if phase in _RUNNING:
                continue
            try:
                with self.store.editing("deployments", dep["id"]) as changing:
                    if changing.get("_alerted"):
                        continue  # settled meanwhile (a round and a request at once)
                    changing["_alerted"] = True
            except Missing:
                continue
            if phase == "ERROR":
                self._fire(app, dep, "DEPLOYMENT_FAILED", None, dep["_fail"])
            elif phase in ("ACTIVE", "SUPERSEDED") and step == 3:
                for domain, reason in sorted(dep.get("_domain_fail", {}).items()):
                    self._fire(app, dep, "DOMAIN_FAILED", domain, reason)

    def _fire(self, app: Frozen, dep: Frozen, rule: str, domain: str | None, reason: str) -> None:
        name = app["spec"]["name"]
        if rule == "DEPLOYMENT_FAILED":
            subject = f"[FIRING] Deployment failed for app {name}"
            text = f"The deployment {dep['id']} of app {name} ({dep['cause']}) failed: {reason}."
        else:
            subject = f"[FIRING] Domain {domain} failed for app {name}"
            text = f"The domain {domain} of app {name} could not be configured by deployment {dep['id']}: {reason}."
        for alert in app.get("_alerts", []):
            if alert["spec"]["rule"] != rule or alert["spec"].get("disabled") or alert.get("component_name"):
                continue
            slack = [{"channel": h.get("channel") or "the webhook's channel"} for h in alert["slack_webhooks"]]
            recipients = {"email": list(alert["emails"]), "slack": slack}
            about = {"app_id": app["id"], "app_name": name, "deployment_id": dep["id"], "alert_id": alert["id"]}
            if domain:
                about["domain"] = domain
            self.sb.monitoring.send(recipients, "firing", subject, text, time.time(), source="app", rule=rule, **about)

    # -- logs -------------------------------------------------------------------------------
    def _log_source(self, app_id: str, deployment_id: str, log_type: str, component: str | None) -> dict:
        """The deployment and how far it went, for logs of ``log_type``; 404 when there are none (yet)."""
        if log_type not in _LOG_FROM_STEP:
            raise unprocessable(f"type: {log_type} logs are not available for a deployment (BUILD, DEPLOY or RUN)")
        dep = self.deployment(app_id, deployment_id)
        components = _components(dep["spec"])
        if component is not None and component not in components:
            raise APIError(404, f"component {component!r} is not part of deployment {deployment_id}")
        if log_type in ("RUN", "RUN_RESTARTED") and component and components[component][0] == "static_sites":
            raise APIError(404, f"static site {component!r} has no {log_type} logs")
        phase = dep["phase"]
        step = 3 if phase in ("ACTIVE", "SUPERSEDED") else dep["progress"]["success_steps"]  # the phase reached
        first = _LOG_FROM_STEP[log_type]
        if step < first or (log_type == "RUN" and phase != "ACTIVE"):
            raise APIError(404, f"deployment {deployment_id} ({phase}) has no {log_type} logs")
        live = (phase in _RUNNING and step == first) or (log_type == "RUN" and phase == "ACTIVE")
        return {"dep": dep, "live": live}

    def logs(self, app_id: str, deployment_id: str, log_type: str, component: str | None, base_url: str) -> dict:
        """``{historic_urls, live_url}`` for a deployment's logs of one type (of one component, or all)."""
        source = self._log_source(app_id, deployment_id, log_type, component)
        url = f"{base_url.rstrip('/')}/_sandbox/logs/{app_id}/{deployment_id}/{log_type}"
        if component is not None:
            url += f"?component={component}"
        if log_type == "RUN_RESTARTED":
            return {"historic_urls": []}  # no instance of the sandbox's ever crashed
        if source["live"]:
            return {"historic_urls": [], "live_url": url + ("&" if "?" in url else "?") + "follow=true"}
        return {"historic_urls": [url]}

    def log_lines(self, app_id: str, deployment_id: str, log_type: str, component: str | None) -> list[str]:
        """Made-up log lines of the phases the deployment went through, as its components would print them."""
        dep = self._log_source(app_id, deployment_id, log_type, component)["dep"]
        at = dep["created_at"]
        lines = []
        for name, (kind, comp) in _components(dep["spec"]).items():
            if component not in (None, name) or (
                log_type != "BUILD" and kind == "static_sites" and log_type != "DEPLOY"
            ):
                continue
            image, source = _source(comp)
            size = comp.get("instance_size_slug", "apps-s-1vcpu-0.5gb")
            if log_type == "BUILD":
                lines += [
                    f"{name} {at} [build] ╭──────────── {'image' if image else 'git'} source ────────────╮",
                    f"{name} {at} [build] │ fetching {source}",
                    f"{name} {at} [build] ╰──────────────────────────────────────────╯",
                ]
                failed = [s["reason"]["message"] for s in dep["progress"]["steps"] if "reason" in s]
                if failed:
                    lines.append(f"{name} {at} [build] ✘ build failed: {failed[0]}")
                elif dep["progress"]["success_steps"] > 1 or dep["phase"] in ("ACTIVE", "SUPERSEDED"):
                    lines.append(f"{name} {at} [build] ✔ build complete")
            elif log_type == "DEPLOY":
                count = comp.get("instance_count", 1)
                lines += [
                    f"{name} {at} [deploy] deploying {count} instance(s) of {size}",
                    f"{name} {at} [deploy] ✔ health checks passed",
                ]
            elif log_type == "RUN":
                lines.append(f"{name} {at} [run] listening on :{comp.get('http_port', 8080)}")
        return lines

    # -- rollbacks -----------------------------------------------------------------------------
    def _rollback_check(self, app: Frozen, target: dict) -> tuple[dict | None, list[dict]]:
        """The condition that makes rolling ``app`` back to ``target`` invalid (or None), and the warnings."""
        error = None
        phase = target["phase"]
        if app.get("_rollback", {}).get("pinned"):
            error = _condition("app_pinned", "the app is pinned to a rollback; commit or revert it first")
        elif phase in ("ERROR", "CANCELED"):
            result = "failed" if phase == "ERROR" else "canceled"
            error = _condition("incompatible_result", f'deployment result "{result}" is unsuitable for rollback')
        elif phase != "SUPERSEDED":
            error = _condition("incompatible_phase", f'deployment phase "{phase}" is unsuitable for rollback')
        elif target["spec"]["region"] != app["spec"]["region"]:
            error = _condition("region_conflict", "the deployment's region differs from the app's region")
        elif target["spec"].get("databases", []) != app["spec"].get("databases", []):
            error = _condition("database_config_conflict", "the deployment's databases differ from the app's")
        warnings = []
        undigested = [
            c["name"]
            for kind in _COMPONENT_KINDS
            for c in target["spec"].get(kind, [])
            if "image" in c and not c["image"].get("digest")
        ]
        if undigested:
            warnings.append(
                _condition(
                    "image_source_missing_digest",
                    "one or more components are missing an image digest and are not guaranteed to roll back "
                    "to the old version.",
                    undigested,
                )
            )
        sites = [c["name"] for c in target["spec"].get("static_sites", [])]
        if sites:
            warnings.append(_condition("static_site_requires_rebuild", "static sites will be rebuilt", sites))
        return error, warnings

    def validate_rollback(self, app_id: str, deployment_id: str) -> dict:
        app = self.must("apps", app_id)
        error, warnings = self._rollback_check(app, self.deployment(app_id, deployment_id))
        out: dict = {"valid": error is None}
        if error:
            out["error"] = error
        if warnings:
            out["warnings"] = warnings
        return out

    def rollback(self, app_id: str, deployment_id: str, skip_pin: bool) -> dict:
        """A new deployment of ``deployment_id``'s spec; the app is pinned to it unless ``skip_pin``."""
        app = self.must("apps", app_id)
        target = self.deployment(app_id, deployment_id)
        error, _ = self._rollback_check(app, target)
        if error:
            raise unprocessable(f"{error['code']}: {error['message']}")
        with self.store.editing("apps", app_id) as changing:
            previous = changing["spec"]
            changing["spec"] = target["spec"]
            changing["_alerts"] = _alert_rows(target["spec"], changing.get("_alerts", []))
            changing["updated_at"] = now_iso()
        stored = self.store.get("apps", app_id)
        dep = self._deploy(stored, f"rollback to deployment {deployment_id}", cloned_from=deployment_id)
        if not skip_pin:
            self.store.patch("apps", app_id, _rollback={"pinned": dep["id"], "previous_spec": previous})
        return deployment_view(dep, [])

    def _pinned(self, app_id: str) -> Frozen:
        app = self.must("apps", app_id)
        if not app.get("_rollback", {}).get("pinned"):
            raise unprocessable("the app has no rollback in progress to commit or revert")
        return app

    def commit_rollback(self, app_id: str) -> None:
        self._pinned(app_id)
        with self.store.editing("apps", app_id) as app:
            del app["_rollback"]

    def revert_rollback(self, app_id: str) -> dict:
        """Deploy the spec the app had before the rollback again, and unpin the app."""
        app = self._pinned(app_id)
        with self.store.editing("apps", app_id) as changing:
            changing["spec"] = app["_rollback"]["previous_spec"]
            changing["_alerts"] = _alert_rows(changing["spec"], changing.get("_alerts", []))
            changing["updated_at"] = now_iso()
            del changing["_rollback"]
        dep = self._deploy(self.store.get("apps", app_id), "rollback reverted")
        return deployment_view(dep, [])
