"""App Platform apps and their deployments."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..core import Sandbox, paginate
from ..models import AppCreate, AppUpdate, DeploymentCreate
from ._deps import sandbox

router = APIRouter()


@router.get("/v2/apps")
async def apps_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "apps", sb.apps.list(), sb.apps.view)


@router.post("/v2/apps")
async def apps_create(body: AppCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"app": sb.apps.create(body.spec, body.project_id)}


@router.get("/v2/apps/{app_id}")
async def apps_get(app_id: str, name: str | None = None, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"app": sb.apps.get(app_id, name)}


@router.put("/v2/apps/{app_id}")
async def apps_update(app_id: str, body: AppUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"app": sb.apps.update(app_id, body.spec)}


@router.delete("/v2/apps/{app_id}")
async def apps_delete(app_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.apps.delete(app_id)


@router.get("/v2/apps/{app_id}/deployments")
async def apps_deployments_list(app_id: str, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "deployments", sb.apps.deployments(app_id))


@router.post("/v2/apps/{app_id}/deployments")
async def apps_deployments_create(app_id: str, body: DeploymentCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"deployment": sb.apps.deploy(app_id, body.force_build)}


@router.get("/v2/apps/{app_id}/deployments/{deployment_id}")
async def apps_deployments_get(app_id: str, deployment_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"deployment": sb.apps.deployment(app_id, deployment_id)}


@router.post("/v2/apps/{app_id}/deployments/{deployment_id}/cancel")
async def apps_deployments_cancel(app_id: str, deployment_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"deployment": sb.apps.cancel(app_id, deployment_id)}
