"""App Platform apps, their deployments, logs, alerts and rollbacks, and App Platform's catalog."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from ..core import Sandbox, paginate
from ..models import AlertDestinations, AppCreate, AppPropose, AppUpdate, DeploymentCreate, LogType, Rollback
from ._deps import sandbox

router = APIRouter()


# -- App Platform's catalog (before /v2/apps/{app_id}, whose parameter would take these names) ---------
@router.get("/v2/apps/regions")
async def apps_regions(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"regions": sb.apps.regions()}


@router.get("/v2/apps/tiers/instance_sizes")
async def apps_instance_sizes(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"instance_sizes": sb.apps.instance_sizes()}


@router.get("/v2/apps/tiers/instance_sizes/{slug}")
async def apps_instance_size(slug: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"instance_size": sb.apps.instance_size(slug)}


@router.post("/v2/apps/propose")
async def apps_propose(body: AppPropose, sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.apps.propose(body.spec, body.app_id)


# -- Apps -------------------------------------------------------------------------------------
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


# -- Logs: where to read them, and the sandbox's stand-in for DigitalOcean's log archive and stream ---
@router.get("/v2/apps/{app_id}/deployments/{deployment_id}/logs")
async def apps_logs_aggregate(
    app_id: str,
    deployment_id: str,
    request: Request,
    log_type: LogType = Query(alias="type"),
    sb: Sandbox = Depends(sandbox),
) -> dict:
    return sb.apps.logs(app_id, deployment_id, log_type, None, str(request.base_url))


@router.get("/v2/apps/{app_id}/deployments/{deployment_id}/components/{component_name}/logs")
async def apps_logs(
    app_id: str,
    deployment_id: str,
    component_name: str,
    request: Request,
    log_type: LogType = Query(alias="type"),
    sb: Sandbox = Depends(sandbox),
) -> dict:
    return sb.apps.logs(app_id, deployment_id, log_type, component_name, str(request.base_url))


@router.get("/_sandbox/logs/{app_id}/{deployment_id}/{log_type}", response_class=PlainTextResponse)
async def sandbox_logs(
    app_id: str, deployment_id: str, log_type: str, component: str | None = None, sb: Sandbox = Depends(sandbox)
) -> str:
    lines = sb.apps.log_lines(app_id, deployment_id, log_type, component)
    return "".join(line + "\n" for line in lines)


# -- Alerts --------------------------------------------------------------------------------------
@router.get("/v2/apps/{app_id}/alerts")
async def apps_alerts(app_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"alerts": sb.apps.alerts(app_id)}


@router.post("/v2/apps/{app_id}/alerts/{alert_id}/destinations")
async def apps_alert_destinations(
    app_id: str, alert_id: str, body: AlertDestinations, sb: Sandbox = Depends(sandbox)
) -> dict:
    hooks = None if body.slack_webhooks is None else [h.model_dump(exclude_none=True) for h in body.slack_webhooks]
    return {"alert": sb.apps.assign_alert_destinations(app_id, alert_id, body.emails, hooks)}


# -- Rollbacks -----------------------------------------------------------------------------------
@router.post("/v2/apps/{app_id}/rollback/validate")
async def apps_rollback_validate(app_id: str, body: Rollback, sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.apps.validate_rollback(app_id, body.deployment_id)


@router.post("/v2/apps/{app_id}/rollback")
async def apps_rollback(app_id: str, body: Rollback, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"deployment": sb.apps.rollback(app_id, body.deployment_id, body.skip_pin)}


@router.post("/v2/apps/{app_id}/rollback/commit")
async def apps_rollback_commit(app_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.apps.commit_rollback(app_id)
    return Response(status_code=200)


@router.post("/v2/apps/{app_id}/rollback/revert")
async def apps_rollback_revert(app_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"deployment": sb.apps.revert_rollback(app_id)}
