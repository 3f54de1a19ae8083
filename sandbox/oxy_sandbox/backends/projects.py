"""Projects and the resources assigned to them (by URN)."""

from __future__ import annotations

from ..errors import APIError, unprocessable
from ..store import Frozen
from ..util import new_uuid, now_iso
from .base import ACCOUNT_UUID, OWNER_ID, Backend

_URN_KINDS = {"droplet": "droplets", "dbaas": "databases", "app": "apps", "domain": "domains", "vpc": "vpcs"}


def _resource_row(urn: str, assigned_at: str, status: str = "ok") -> dict:
    kind, _, ident = urn[3:].partition(":")
    plural = {"dbaas": "databases"}.get(kind, kind + "s")
    base = "https://api.digitalocean.com"
    return {"urn": urn, "assigned_at": assigned_at, "links": {"self": f"{base}/v2/{plural}/{ident}"}, "status": status}


class ProjectsBackend(Backend):
    def _new(self, name: str, description: str, purpose: str, environment: str | None, is_default: bool) -> Frozen:
        now = now_iso()
        project = {
            "id": new_uuid(),
            "owner_uuid": ACCOUNT_UUID,
            "owner_id": OWNER_ID,
            "name": name,
            "description": description,
            "purpose": purpose,
            "environment": environment,
            "is_default": is_default,
            "created_at": now,
            "updated_at": now,
            "_resources": {},
        }
        if environment is None:
            del project["environment"]  # DigitalOcean leaves it out until one is set
        return self.store.create("projects", project["id"], project)

    def default(self) -> Frozen:
        """The account's default project; every fresh account has one."""
        with self.store.lock:
            for project in self.store.all("projects"):
                if project.get("is_default"):
                    return project
            return self._new("first-project", "Default project", "Just trying out DigitalOcean", "Development", True)

    def list(self) -> list[Frozen]:
        self.default()
        return sorted(self.store.all("projects"), key=lambda p: p["created_at"])

    def get(self, project_id: str) -> Frozen:
        return self.default() if project_id == "default" else self.must("projects", project_id)

    def create(self, name: str, description: str, purpose: str, environment: str | None) -> Frozen:
        if any(p["name"] == name for p in self.store.all("projects")):
            raise APIError(409, f"name: a project named {name!r} already exists")
        return self._new(name, description, purpose, environment, False)

    def change(self, project_id: str, changes: dict) -> Frozen:
        project = self.get(project_id)
        if changes.get("is_default") is False and project["is_default"]:
            raise unprocessable("is_default: make another project the default instead")
        make_default = changes.pop("is_default", None)
        with self.store.lock:
            if make_default:
                for other in self.store.all("projects"):
                    if other["is_default"] and other["id"] != project["id"]:
                        self.store.patch("projects", other["id"], is_default=False)
            with self.store.editing("projects", project["id"]) as changing:
                if make_default:
                    changing["is_default"] = True
                changing.update({k: v for k, v in changes.items() if v is not None})
                changing["updated_at"] = now_iso()
        return self.store.get("projects", project["id"])

    def delete(self, project_id: str, content_type: str) -> None:
        project = self.get(project_id)
        if not content_type.startswith("application/json"):
            raise APIError(415, "Content-Type must be application/json")
        if project["is_default"]:
            raise APIError(412, "the default project cannot be deleted")
        if project["_resources"]:
            raise APIError(412, "cannot delete a project with resources; move or delete them first")
        self.store.delete("projects", project["id"])

    # -- resources ----------------------------------------------------------------------
    def assign(self, urn: str, project_id: str | None = None) -> None:
        """Put ``urn`` in one project (the default one unless named), taking it out of any other."""
        with self.store.lock:
            target = self.store.get("projects", project_id) if project_id else None
            if target is None:
                target = self.default()
            for project in self.store.all("projects"):
                if urn in project["_resources"] and project["id"] != target["id"]:
                    with self.store.editing("projects", project["id"]) as changing:
                        del changing["_resources"][urn]
            if urn not in target["_resources"]:
                with self.store.editing("projects", target["id"]) as changing:
                    changing["_resources"][urn] = now_iso()

    def project_of(self, urn: str) -> str | None:
        for project in self.store.all("projects"):
            if urn in project["_resources"]:
                return project["id"]
        return None

    def forget(self, urn: str) -> None:
        """A resource is gone: no project holds it any more."""
        with self.store.lock:
            for project in self.store.all("projects"):
                if urn in project["_resources"]:
                    with self.store.editing("projects", project["id"]) as changing:
                        del changing["_resources"][urn]

    def resources(self, project_id: str) -> list[dict]:
        project = self.get(project_id)
        return [_resource_row(urn, at) for urn, at in sorted(project["_resources"].items(), key=lambda kv: kv[1])]

    def _exists(self, urn: str) -> bool:
        parts = urn.split(":", 2)
        if len(parts) != 3 or parts[0] != "do" or parts[1] not in _URN_KINDS:
            raise unprocessable(
                f"resources: {urn!r} is not a supported URN (do:droplet:, do:dbaas:, do:app:, do:domain:)"
            )
        return self.store.get(_URN_KINDS[parts[1]], parts[2]) is not None

    def assign_resources(self, project_id: str, urns: list[str]) -> list[dict]:
        project = self.get(project_id)
        rows = []
        for urn in urns:
            if not self._exists(urn):
                rows.append(_resource_row(urn, now_iso(), "not_found"))
                continue
            status = "already_assigned" if urn in project["_resources"] else "assigned"
            self.assign(urn, project["id"])
            project = self.get(project["id"])
            rows.append(_resource_row(urn, project["_resources"][urn], status))
        return rows
