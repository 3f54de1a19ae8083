"""Projects and the resources assigned to them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response

from ..core import Sandbox, paginate
from ..models import ProjectCreate, ProjectPatch, ProjectResources, ProjectUpdate
from ._deps import sandbox, view

router = APIRouter()

# DigitalOcean names the default project by the literal path segment ``default`` too.
DEFAULT = "default"


@router.get("/v2/projects")
async def projects_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "projects", sb.projects.list(), view)


@router.post("/v2/projects", status_code=201)
async def projects_create(body: ProjectCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    project = sb.projects.create(body.name, body.description, body.purpose, body.environment)
    return {"project": view(project)}


@router.get("/v2/projects/default")
@router.get("/v2/projects/{project_id}")
async def projects_get(*, project_id: str = DEFAULT, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"project": view(sb.projects.get(project_id))}


@router.put("/v2/projects/default")
@router.put("/v2/projects/{project_id}")
async def projects_update(*, project_id: str = DEFAULT, body: ProjectUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"project": view(sb.projects.change(project_id, body.model_dump()))}


@router.patch("/v2/projects/default")
@router.patch("/v2/projects/{project_id}")
async def projects_patch(*, project_id: str = DEFAULT, body: ProjectPatch, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"project": view(sb.projects.change(project_id, body.model_dump(exclude_unset=True)))}


@router.delete("/v2/projects/{project_id}", status_code=204)
async def projects_delete(project_id: str, content_type: str = Header(""), sb: Sandbox = Depends(sandbox)) -> Response:
    sb.projects.delete(project_id, content_type)
    return Response(status_code=204)


@router.get("/v2/projects/default/resources")
@router.get("/v2/projects/{project_id}/resources")
async def projects_resources_list(
    *, project_id: str = DEFAULT, request: Request, sb: Sandbox = Depends(sandbox)
) -> dict:
    return paginate(request, "resources", sb.projects.resources(project_id))


@router.post("/v2/projects/default/resources")
@router.post("/v2/projects/{project_id}/resources")
async def projects_resources_assign(
    *, project_id: str = DEFAULT, body: ProjectResources, sb: Sandbox = Depends(sandbox)
) -> dict:
    return {"resources": sb.projects.assign_resources(project_id, body.resources)}
