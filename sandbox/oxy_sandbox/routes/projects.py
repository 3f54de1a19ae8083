"""Projects and the resources assigned to them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response

from ..core import APIError, Sandbox, new_uuid, now_iso, paginate, unprocessable
from ..models import ProjectCreate, ProjectPatch, ProjectResources, ProjectUpdate
from ._deps import ACCOUNT_UUID, OWNER_ID, assign_to_project, default_project, must_get, sandbox, view

router = APIRouter()

_URN_KINDS = {"droplet": "droplets", "dbaas": "databases", "app": "apps", "domain": "domains", "vpc": "vpcs"}


def _resolve(sb: Sandbox, project_id: str) -> dict:
    return default_project(sb) if project_id == "default" else must_get(sb, "projects", project_id)


def _resource_row(request: Request, urn: str, assigned_at: str, status: str = "ok") -> dict:
    kind, _, ident = urn[3:].partition(":")
    plural = {"dbaas": "databases"}.get(kind, kind + "s")
    base = "https://api.digitalocean.com"
    return {"urn": urn, "assigned_at": assigned_at, "links": {"self": f"{base}/v2/{plural}/{ident}"}, "status": status}


def _exists(sb: Sandbox, urn: str) -> bool:
    parts = urn.split(":", 2)
    if len(parts) != 3 or parts[0] != "do" or parts[1] not in _URN_KINDS:
        raise unprocessable(f"resources: {urn!r} is not a supported URN (do:droplet:, do:dbaas:, do:app:, do:domain:)")
    return sb.store.get(_URN_KINDS[parts[1]], parts[2]) is not None


def _set_default(sb: Sandbox, project: dict) -> None:
    for other in sb.store.all("projects"):
        if other["is_default"] and other["id"] != project["id"]:
            other["is_default"] = False
            sb.store.put("projects", other["id"], other)
    project["is_default"] = True


def _change(sb: Sandbox, project: dict, changes: dict) -> dict:
    if changes.get("is_default") is False and project["is_default"]:
        raise unprocessable("is_default: make another project the default instead")
    if changes.pop("is_default", None):
        _set_default(sb, project)
    project.update({k: v for k, v in changes.items() if v is not None})
    project["updated_at"] = now_iso()
    return sb.store.put("projects", project["id"], project)


@router.get("/v2/projects")
async def projects_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    default_project(sb)
    rows = sorted(sb.store.all("projects"), key=lambda p: p["created_at"])
    return paginate(request, "projects", rows, view)


@router.post("/v2/projects", status_code=201)
async def projects_create(body: ProjectCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    if any(p["name"] == body.name for p in sb.store.all("projects")):
        raise APIError(409, f"name: a project named {body.name!r} already exists")
    now = now_iso()
    project = {
        "id": new_uuid(),
        "owner_uuid": ACCOUNT_UUID,
        "owner_id": OWNER_ID,
        "name": body.name,
        "description": body.description,
        "purpose": body.purpose,
        "environment": body.environment,
        "is_default": False,
        "created_at": now,
        "updated_at": now,
        "_resources": {},
    }
    if body.environment is None:
        del project["environment"]  # DigitalOcean leaves it out until one is set
    return {"project": view(sb.store.put("projects", project["id"], project))}


@router.get("/v2/projects/{project_id}")
async def projects_get(project_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"project": view(_resolve(sb, project_id))}


@router.put("/v2/projects/{project_id}")
async def projects_update(project_id: str, body: ProjectUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"project": view(_change(sb, _resolve(sb, project_id), body.model_dump()))}


@router.patch("/v2/projects/{project_id}")
async def projects_patch(project_id: str, body: ProjectPatch, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"project": view(_change(sb, _resolve(sb, project_id), body.model_dump(exclude_unset=True)))}


@router.delete("/v2/projects/{project_id}", status_code=204)
async def projects_delete(project_id: str, content_type: str = Header(""), sb: Sandbox = Depends(sandbox)) -> Response:
    project = _resolve(sb, project_id)
    if not content_type.startswith("application/json"):
        raise APIError(415, "Content-Type must be application/json")
    if project["is_default"]:
        raise APIError(412, "the default project cannot be deleted")
    if project["_resources"]:
        raise APIError(412, "cannot delete a project with resources; move or delete them first")
    sb.store.delete("projects", project["id"])
    return Response(status_code=204)


@router.get("/v2/projects/{project_id}/resources")
async def projects_resources_list(project_id: str, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    project = _resolve(sb, project_id)
    rows = [_resource_row(request, urn, at) for urn, at in sorted(project["_resources"].items(), key=lambda kv: kv[1])]
    return paginate(request, "resources", rows)


@router.post("/v2/projects/{project_id}/resources")
async def projects_resources_assign(
    project_id: str, body: ProjectResources, request: Request, sb: Sandbox = Depends(sandbox)
) -> dict:
    project = _resolve(sb, project_id)
    rows = []
    for urn in body.resources:
        if not _exists(sb, urn):
            rows.append(_resource_row(request, urn, now_iso(), "not_found"))
            continue
        status = "already_assigned" if urn in project["_resources"] else "assigned"
        assign_to_project(sb, urn, project["id"])
        project = _resolve(sb, project["id"])
        rows.append(_resource_row(request, urn, project["_resources"][urn], status))
    return {"resources": rows}
