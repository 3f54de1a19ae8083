"""Cloud firewalls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..core import APIError, Sandbox, new_uuid, now_iso, paginate
from ..models import Firewall, FirewallDroplets, FirewallRules, FirewallTags, FirewallUpdate
from ._deps import must_get, sandbox, view

router = APIRouter()


def _rules(rules: list | None) -> list[dict]:
    # Targets are echoed exactly as sent: no empty keys are added.
    return [r.model_dump(exclude_unset=True) for r in rules or []]


def _check_refs(sb: Sandbox, droplet_ids: list[int] | None, tags: list[str] | None, rules: list[dict]) -> None:
    ids = set(droplet_ids or [])
    tag_names = set(tags or [])
    for rule in rules:
        targets = rule.get("sources") or rule.get("destinations") or {}
        ids |= set(targets.get("droplet_ids") or [])
        tag_names |= set(targets.get("tags") or [])
    for did in sorted(ids):
        if sb.store.get("droplets", did) is None:
            raise APIError(400, f"droplet_ids: droplet {did} does not exist")
    for tag in sorted(tag_names):
        if sb.store.get("tags", tag) is None:
            raise APIError(400, f"tags: tag {tag!r} does not exist; tags must exist before a firewall references them")


def _pending(sb: Sandbox, fw: dict, droplet_ids: list[int], removing: bool = False) -> None:
    fw["status"] = "waiting"
    fw["pending_changes"] = [{"droplet_id": d, "removing": removing, "status": "waiting"} for d in droplet_ids]
    sb.store.schedule(fw, sb.settings.firewall_delay, {"status": "succeeded", "pending_changes": []})


@router.get("/v2/firewalls")
async def firewalls_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    rows = sorted(sb.store.all("firewalls"), key=lambda f: f["created_at"])
    return paginate(request, "firewalls", rows, view)


@router.post("/v2/firewalls", status_code=202)
async def firewalls_create(body: Firewall, sb: Sandbox = Depends(sandbox)) -> dict:
    inbound, outbound = _rules(body.inbound_rules), _rules(body.outbound_rules)
    _check_refs(sb, body.droplet_ids, body.tags, inbound + outbound)
    fw = {
        "id": new_uuid(),
        "name": body.name,
        "status": "waiting",
        "created_at": now_iso(),
        "pending_changes": [],
        "inbound_rules": inbound,
        "outbound_rules": outbound,
        "droplet_ids": list(body.droplet_ids or []),
        "tags": list(body.tags or []),
    }
    _pending(sb, fw, fw["droplet_ids"])
    return {"firewall": view(sb.store.put("firewalls", fw["id"], fw))}


@router.get("/v2/firewalls/{firewall_id}")
async def firewalls_get(firewall_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"firewall": view(must_get(sb, "firewalls", firewall_id))}


@router.put("/v2/firewalls/{firewall_id}")
async def firewalls_update(firewall_id: str, body: FirewallUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    fw = must_get(sb, "firewalls", firewall_id)
    inbound, outbound = _rules(body.inbound_rules), _rules(body.outbound_rules)
    _check_refs(sb, body.droplet_ids, body.tags, inbound + outbound)
    # PUT is a full replacement: whatever is omitted goes back to its empty default.
    fw.update(
        name=body.name,
        inbound_rules=inbound,
        outbound_rules=outbound,
        droplet_ids=list(body.droplet_ids or []),
        tags=list(body.tags or []),
    )
    _pending(sb, fw, fw["droplet_ids"])
    return {"firewall": view(sb.store.put("firewalls", fw["id"], fw))}


@router.delete("/v2/firewalls/{firewall_id}", status_code=204)
async def firewalls_delete(firewall_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    must_get(sb, "firewalls", firewall_id)
    sb.store.delete("firewalls", firewall_id)
    return Response(status_code=204)


def _edit(sb: Sandbox, firewall_id: str, field: str, values: list, add: bool) -> Response:
    fw = must_get(sb, "firewalls", firewall_id)
    if add:
        fw[field] = list(dict.fromkeys([*fw[field], *values]))
    else:
        fw[field] = [v for v in fw[field] if v not in values]
    if field == "droplet_ids":
        _pending(sb, fw, values, removing=not add)
    sb.store.put("firewalls", fw["id"], fw)
    return Response(status_code=204)


@router.post("/v2/firewalls/{firewall_id}/droplets", status_code=204)
async def firewalls_assign_droplets(
    firewall_id: str, body: FirewallDroplets, sb: Sandbox = Depends(sandbox)
) -> Response:
    must_get(sb, "firewalls", firewall_id)
    _check_refs(sb, body.droplet_ids, None, [])
    return _edit(sb, firewall_id, "droplet_ids", body.droplet_ids, add=True)


@router.delete("/v2/firewalls/{firewall_id}/droplets", status_code=204)
async def firewalls_delete_droplets(
    firewall_id: str, body: FirewallDroplets, sb: Sandbox = Depends(sandbox)
) -> Response:
    return _edit(sb, firewall_id, "droplet_ids", body.droplet_ids, add=False)


@router.post("/v2/firewalls/{firewall_id}/tags", status_code=204)
async def firewalls_add_tags(firewall_id: str, body: FirewallTags, sb: Sandbox = Depends(sandbox)) -> Response:
    must_get(sb, "firewalls", firewall_id)
    _check_refs(sb, None, body.tags, [])
    return _edit(sb, firewall_id, "tags", body.tags, add=True)


@router.delete("/v2/firewalls/{firewall_id}/tags", status_code=204)
async def firewalls_delete_tags(firewall_id: str, body: FirewallTags, sb: Sandbox = Depends(sandbox)) -> Response:
    return _edit(sb, firewall_id, "tags", body.tags, add=False)


@router.post("/v2/firewalls/{firewall_id}/rules", status_code=204)
async def firewalls_add_rules(firewall_id: str, body: FirewallRules, sb: Sandbox = Depends(sandbox)) -> Response:
    fw = must_get(sb, "firewalls", firewall_id)
    inbound, outbound = _rules(body.inbound_rules), _rules(body.outbound_rules)
    _check_refs(sb, None, None, inbound + outbound)
    fw["inbound_rules"] += [r for r in inbound if r not in fw["inbound_rules"]]
    fw["outbound_rules"] += [r for r in outbound if r not in fw["outbound_rules"]]
    sb.store.put("firewalls", fw["id"], fw)
    return Response(status_code=204)


@router.delete("/v2/firewalls/{firewall_id}/rules", status_code=204)
async def firewalls_delete_rules(firewall_id: str, body: FirewallRules, sb: Sandbox = Depends(sandbox)) -> Response:
    fw = must_get(sb, "firewalls", firewall_id)
    inbound, outbound = _rules(body.inbound_rules), _rules(body.outbound_rules)
    fw["inbound_rules"] = [r for r in fw["inbound_rules"] if r not in inbound]
    fw["outbound_rules"] = [r for r in fw["outbound_rules"] if r not in outbound]
    sb.store.put("firewalls", fw["id"], fw)
    return Response(status_code=204)
