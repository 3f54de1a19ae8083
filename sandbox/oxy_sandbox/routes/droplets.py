"""Droplets and droplet actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from ..core import Sandbox, paginate
from ..models import DropletAction, DropletCreate
from ._deps import sandbox, view

router = APIRouter()


def _link(request: Request, action: dict) -> dict:
    return {
        "id": action["id"],
        "rel": "create",
        "href": f"{str(request.base_url).rstrip('/')}/v2/actions/{action['id']}",
    }


@router.get("/v2/droplets")
async def droplets_list(
    request: Request,
    tag_name: str | None = None,
    name: str | None = None,
    kind: str | None = Query(None, alias="type"),
    sb: Sandbox = Depends(sandbox),
) -> dict:
    return paginate(request, "droplets", sb.droplets.list(tag_name, name, kind), view)


@router.post("/v2/droplets", status_code=202)
async def droplets_create(body: DropletCreate, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    created = sb.droplets.create(body)
    links = {"actions": [_link(request, action) for _, action in created]}
    if body.name is not None:
        return {"droplet": view(created[0][0]), "links": links}
    return {"droplets": [view(d) for d, _ in created], "links": links}


@router.get("/v2/droplets/{droplet_id}")
async def droplets_get(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"droplet": view(sb.droplets.get(droplet_id))}


@router.delete("/v2/droplets/{droplet_id}", status_code=204)
async def droplets_destroy(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.droplets.destroy(droplet_id)
    return Response(status_code=204)


@router.delete("/v2/droplets", status_code=204)
async def droplets_destroy_by_tag(tag_name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.droplets.destroy_by_tag(tag_name)
    return Response(status_code=204)


@router.delete("/v2/droplets/{droplet_id}/destroy_with_associated_resources/dangerous", status_code=202)
async def droplets_destroy_dangerous(
    droplet_id: int, x_dangerous: str = Header(""), sb: Sandbox = Depends(sandbox)
) -> Response:
    sb.droplets.destroy_dangerously(droplet_id, confirmed=x_dangerous.lower() == "true")
    return Response(status_code=202)


@router.get("/v2/droplets/{droplet_id}/firewalls")
async def droplets_firewalls(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "firewalls", [view(f) for f in sb.networking.firewalls(droplet_id=droplet_id)])


@router.get("/v2/droplets/{droplet_id}/snapshots")
async def droplets_snapshots(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "snapshots", sb.droplets.snapshots(droplet_id))


@router.get("/v2/droplets/{droplet_id}/backups")
async def droplets_backups(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "backups", sb.droplets.backups(droplet_id))


@router.get("/v2/droplets/backups/policies")
async def droplets_backup_policies(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    policies = sb.droplets.backup_policies()
    body = paginate(request, "policies", list(policies.items()))
    body["policies"] = dict(body["policies"])
    return body


@router.get("/v2/droplets/backups/supported_policies")
async def droplets_supported_backup_policies(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"supported_policies": sb.droplets.supported_backup_policies()}


@router.get("/v2/droplets/{droplet_id}/backups/policy")
async def droplets_backup_policy(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"policy": sb.droplets.backup_policy(droplet_id)}


@router.get("/v2/droplets/{droplet_id}/kernels")
async def droplets_kernels(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "kernels", sb.droplets.kernels(droplet_id))


@router.get("/v2/droplets/{droplet_id}/neighbors")
async def droplets_neighbors(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"droplets": [view(d) for d in sb.droplets.neighbors(droplet_id)]}


# -- Actions -----------------------------------------------------------------------------
@router.get("/v2/droplets/{droplet_id}/actions")
async def droplet_actions_list(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "actions", sb.droplets.actions(droplet_id), view)


@router.post("/v2/droplets/{droplet_id}/actions", status_code=201)
async def droplet_actions_post(droplet_id: int, body: DropletAction, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"action": view(sb.droplets.act(droplet_id, body))}


@router.post("/v2/droplets/actions", status_code=201)
async def droplet_actions_by_tag(body: DropletAction, tag_name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"actions": [view(a) for a in sb.droplets.act_by_tag(tag_name, body)]}


@router.get("/v2/droplets/{droplet_id}/actions/{action_id}")
async def droplet_actions_get(droplet_id: int, action_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"action": view(sb.droplets.action(droplet_id, action_id))}
