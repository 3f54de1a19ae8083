"""Cloud firewalls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..core import Sandbox, paginate
from ..models import Firewall, FirewallDroplets, FirewallRules, FirewallTags, FirewallUpdate
from ._deps import sandbox, view

router = APIRouter()


def _rules(rules: list | None) -> list[dict]:
    # Targets are echoed exactly as sent: no empty keys are added.
    return [r.model_dump(exclude_unset=True) for r in rules or []]


@router.get("/v2/firewalls")
async def firewalls_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "firewalls", sb.networking.firewalls(), view)


@router.post("/v2/firewalls", status_code=202)
async def firewalls_create(body: Firewall, sb: Sandbox = Depends(sandbox)) -> dict:
    fw = sb.networking.create_firewall(
        body.name, _rules(body.inbound_rules), _rules(body.outbound_rules), body.droplet_ids or [], body.tags or []
    )
    return {"firewall": view(fw)}


@router.get("/v2/firewalls/{firewall_id}")
async def firewalls_get(firewall_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"firewall": view(sb.networking.firewall(firewall_id))}


@router.put("/v2/firewalls/{firewall_id}")
async def firewalls_update(firewall_id: str, body: FirewallUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    fw = sb.networking.replace_firewall(
        firewall_id,
        body.name,
        _rules(body.inbound_rules),
        _rules(body.outbound_rules),
        body.droplet_ids or [],
        body.tags or [],
    )
    return {"firewall": view(fw)}


@router.delete("/v2/firewalls/{firewall_id}", status_code=204)
async def firewalls_delete(firewall_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.networking.delete_firewall(firewall_id)
    return Response(status_code=204)


@router.post("/v2/firewalls/{firewall_id}/droplets", status_code=204)
async def firewalls_assign_droplets(
    firewall_id: str, body: FirewallDroplets, sb: Sandbox = Depends(sandbox)
) -> Response:
    sb.networking.add_droplets(firewall_id, body.droplet_ids)
    return Response(status_code=204)


@router.delete("/v2/firewalls/{firewall_id}/droplets", status_code=204)
async def firewalls_delete_droplets(
    firewall_id: str, body: FirewallDroplets, sb: Sandbox = Depends(sandbox)
) -> Response:
    sb.networking.remove_droplets(firewall_id, body.droplet_ids)
    return Response(status_code=204)


@router.post("/v2/firewalls/{firewall_id}/tags", status_code=204)
async def firewalls_add_tags(firewall_id: str, body: FirewallTags, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.networking.add_tags(firewall_id, body.tags)
    return Response(status_code=204)


@router.delete("/v2/firewalls/{firewall_id}/tags", status_code=204)
async def firewalls_delete_tags(firewall_id: str, body: FirewallTags, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.networking.remove_tags(firewall_id, body.tags)
    return Response(status_code=204)


@router.post("/v2/firewalls/{firewall_id}/rules", status_code=204)
async def firewalls_add_rules(firewall_id: str, body: FirewallRules, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.networking.add_rules(firewall_id, _rules(body.inbound_rules), _rules(body.outbound_rules))
    return Response(status_code=204)


@router.delete("/v2/firewalls/{firewall_id}/rules", status_code=204)
async def firewalls_delete_rules(firewall_id: str, body: FirewallRules, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.networking.remove_rules(firewall_id, _rules(body.inbound_rules), _rules(body.outbound_rules))
    return Response(status_code=204)
