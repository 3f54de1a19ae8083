"""Images (the account's droplet snapshots and backups, and the public distributions), image actions and
``/v2/snapshots``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..core import Sandbox, paginate
from ..models import ImageAction, ImageUpdate
from ._deps import sandbox, view

router = APIRouter()


@router.get("/v2/images")
async def images_list(
    request: Request,
    type: str | None = None,  # noqa: A002 - DigitalOcean's query parameter
    private: bool = False,
    tag_name: str | None = None,
    sb: Sandbox = Depends(sandbox),
) -> dict:
    return paginate(request, "images", sb.images.list(type, private, tag_name))


@router.get("/v2/images/{image_ref}")
async def images_get(image_ref: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"image": sb.images.get(image_ref)}


@router.put("/v2/images/{image_id}")
async def images_update(image_id: int, body: ImageUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"image": sb.images.update(image_id, body.name, body.description, body.distribution)}


@router.delete("/v2/images/{image_id}", status_code=204)
async def images_delete(image_id: int, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.images.delete(image_id)
    return Response(status_code=204)


@router.get("/v2/images/{image_id}/actions")
async def image_actions_list(image_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "actions", sb.images.actions(image_id), view)


@router.post("/v2/images/{image_id}/actions", status_code=201)
async def image_actions_post(image_id: int, body: ImageAction, sb: Sandbox = Depends(sandbox)) -> dict:
    # The spec's schema is a bare action, its example (and DigitalOcean) wrap it: {"action": {...}}.
    return {"action": view(sb.images.act(image_id, body))}


@router.get("/v2/images/{image_id}/actions/{action_id}")
async def image_actions_get(image_id: int, action_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"action": view(sb.images.action(image_id, action_id))}


@router.get("/v2/snapshots")
async def snapshots_list(request: Request, resource_type: str | None = None, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "snapshots", sb.images.snapshots(resource_type))


@router.get("/v2/snapshots/{snapshot_id}")
async def snapshots_get(snapshot_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"snapshot": sb.images.snapshot(snapshot_id)}


@router.delete("/v2/snapshots/{snapshot_id}", status_code=204)
async def snapshots_delete(snapshot_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.images.delete_snapshot(snapshot_id)
    return Response(status_code=204)
