"""App Platform apps and their deployments.

Deployment phases are computed from the deployment's start time on every read, so a
slow or failing deployment needs no background work: PENDING_BUILD, BUILDING,
DEPLOYING, then ACTIVE (or ERROR for an app named in ``deploy_failures``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import catalog
from ..core import APIError, new_uuid, not_found, now_iso, unprocessable
from ..store import Frozen, public
from .base import ACCOUNT_UUID, Backend

_KEY = hashlib.sha256(b"oxy-sandbox-app-secrets").digest()
_COMPONENT_KINDS = ("services", "static_sites", "workers", "jobs", "functions")
_RUNNING = ("PENDING_BUILD", "BUILDING", "PENDING_DEPLOY", "DEPLOYING")


def encrypt(value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_KEY).encrypt(nonce, value.encode(), None)
    return f"EV[1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}]"


def _seal_envs(envs: list[dict] | None) -> None:
    for env in envs or []:
        value = env.get("value")
        if env.get("type") == "SECRET" and value is not None and not value.startswith("EV["):
            env["value"] = encrypt(value)


def _region(slug: str) -> dict:
    label, continent, dcs = catalog.APP_REGIONS[slug]
    return {
        "slug": slug,
        "label": label,
        "flag": slug,
        "continent": continent,
        "data_centers": dcs,
        "default": slug == "nyc",
        "disabled": False,
        "reason": "",
    }


def _phase(dep: dict, newer: list[dict]) -> tuple[str, int]:
    if dep.get("_canceled"):
        return "CANCELED", 0
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
        if app.get("spec") and app["spec"]["region"] != data["region"]:
            raise unprocessable("spec.region: an app's region cannot be changed")
        app["spec"] = data
        app["region"] = _region(data["region"])
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
        """An app as the API shows it: with its project and its active and running deployments."""
        out = public(app)
        out["project_id"] = self.sb.projects.project_of(f"do:app:{app['id']}")
        deps = self._dep_views(app["id"])
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
        return out

    def _deploy(self, app: Frozen, cause: str) -> Frozen:
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
        return self.store.create("deployments", dep["id"], dep)

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
        self.must("apps", app_id)
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
        dep = self._deploy(app, "manual" + (" (force build)" if force_build else ""))
        return deployment_view(dep, [])

    def deployment(self, app_id: str, deployment_id: str) -> dict:
        self.must("apps", app_id)
        for view_ in self._dep_views(app_id):
            if view_["id"] == deployment_id:
                return view_
        raise not_found()

    def cancel(self, app_id: str, deployment_id: str) -> dict:
        current = self.deployment(app_id, deployment_id)
        if current["phase"] not in _RUNNING:
            raise unprocessable(f"deployment is {current['phase']} and can no longer be canceled")
        self.store.patch("deployments", deployment_id, _canceled=True)
        return self.deployment(app_id, deployment_id)
