"""VPCs and their members."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Depends, Request, Response

from .. import catalog
from ..core import APIError, Sandbox, new_uuid, now_iso, paginate, unprocessable
from ..models import VpcCreate, VpcPatch, VpcUpdate
from ._deps import must_get, sandbox, view

router = APIRouter()


def check_region(slug: str | None, field: str = "region") -> str:
    if slug not in dict(catalog.REGIONS):
        raise unprocessable(f"{field}: {slug!r} is not a valid region")
    return slug


def _free_range(sb: Sandbox) -> str:
    taken = [ipaddress.ip_network(v["ip_range"]) for v in sb.store.all("vpcs")]
    if sb.machines is not None:  # VPCs become Docker networks: keep clear of every network here
        taken += sb.machines.used_subnets()
    for second in range(100, 256):
        candidate = ipaddress.ip_network(f"10.{second}.0.0/20")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise APIError(422, "ip_range: no free /20 left in 10.0.0.0/8")


def create_vpc(sb: Sandbox, name: str, region: str, description: str = "", ip_range: str | None = None) -> dict:
    if next(sb.store.find("vpcs", name=name), None):
        raise unprocessable(f"name: a VPC named {name!r} already exists")
    if ip_range:
        net = ipaddress.ip_network(ip_range)
        for other in sb.store.all("vpcs"):
            if net.overlaps(ipaddress.ip_network(other["ip_range"])):
                raise unprocessable(f"ip_range: {ip_range} overlaps VPC {other['name']} ({other['ip_range']})")
    vid = new_uuid()
    is_default = not any(v["region"] == region for v in sb.store.all("vpcs"))
    vpc = {
        "id": vid,
        "urn": f"do:vpc:{vid}",
        "name": name,
        "description": description,
        "region": region,
        "ip_range": ip_range or _free_range(sb),
        "default": is_default,
        "created_at": now_iso(),
        "_next_host": 2,
    }
    return sb.store.put("vpcs", vid, vpc)


def region_default_vpc(sb: Sandbox, region: str) -> dict:
    for vpc in sb.store.all("vpcs"):
        if vpc["region"] == region and vpc["default"]:
            return vpc
    return create_vpc(sb, f"default-{region}", region)


def allocate_private_ip(sb: Sandbox, vpc: dict) -> str:
    net = ipaddress.ip_network(vpc["ip_range"])
    host = vpc["_next_host"]
    vpc["_next_host"] = host + 1
    sb.store.put("vpcs", vpc["id"], vpc)
    return str(net.network_address + (host % (net.num_addresses - 2)) + 1)


def members(sb: Sandbox, vpc_id: str) -> list[dict]:
    rows = []
    for d in sb.store.all("droplets"):
        if d.get("vpc_uuid") == vpc_id:
            rows.append({"urn": f"do:droplet:{d['id']}", "name": d["name"], "created_at": d["created_at"]})
    for db in sb.store.all("databases"):
        if db.get("private_network_uuid") == vpc_id:
            rows.append({"urn": f"do:dbaas:{db['id']}", "name": db["name"], "created_at": db["created_at"]})
    for app in sb.store.all("apps"):
        if (app.get("vpc") or {}).get("id") == vpc_id:
            rows.append({"urn": f"do:app:{app['id']}", "name": app["spec"]["name"], "created_at": app["created_at"]})
    return rows


@router.get("/v2/vpcs")
async def vpcs_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    vpcs = sorted(sb.store.all("vpcs"), key=lambda v: v["created_at"])
    return paginate(request, "vpcs", vpcs, view)


@router.post("/v2/vpcs", status_code=201)
async def vpcs_create(body: VpcCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    check_region(body.region)
    return {"vpc": view(create_vpc(sb, body.name, body.region, body.description, body.ip_range))}


@router.get("/v2/vpcs/{vpc_id}")
async def vpcs_get(vpc_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"vpc": view(must_get(sb, "vpcs", vpc_id))}


def _change(sb: Sandbox, vpc: dict, changes: dict) -> dict:
    if "name" in changes and changes["name"] != vpc["name"] and next(sb.store.find("vpcs", name=changes["name"]), None):
        raise unprocessable(f"name: a VPC named {changes['name']!r} already exists")
    if changes.get("default") is False and vpc["default"]:
        raise unprocessable("default: a default VPC cannot be unset; make another VPC the default instead")
    if changes.get("default"):
        for other in sb.store.all("vpcs"):
            if other["region"] == vpc["region"] and other["default"] and other["id"] != vpc["id"]:
                other["default"] = False
                sb.store.put("vpcs", other["id"], other)
    vpc.update({k: v for k, v in changes.items() if v is not None})
    return sb.store.put("vpcs", vpc["id"], vpc)


@router.put("/v2/vpcs/{vpc_id}")
async def vpcs_update(vpc_id: str, body: VpcUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    vpc = must_get(sb, "vpcs", vpc_id)
    changes = body.model_dump()
    changes["description"] = changes["description"] or ""
    return {"vpc": view(_change(sb, vpc, changes))}


@router.patch("/v2/vpcs/{vpc_id}")
async def vpcs_patch(vpc_id: str, body: VpcPatch, sb: Sandbox = Depends(sandbox)) -> dict:
    vpc = must_get(sb, "vpcs", vpc_id)
    return {"vpc": view(_change(sb, vpc, body.model_dump(exclude_unset=True)))}


@router.delete("/v2/vpcs/{vpc_id}", status_code=204)
async def vpcs_delete(vpc_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    vpc = must_get(sb, "vpcs", vpc_id)
    if vpc["default"]:
        raise APIError(403, "Cannot delete the default VPC for a region.")
    if members(sb, vpc_id):
        raise APIError(403, "Cannot delete a VPC with members.")
    sb.store.delete("vpcs", vpc_id)
    if sb.machines is not None:
        sb.machines.remove_vpc_network(vpc_id)
    return Response(status_code=204)


@router.get("/v2/vpcs/{vpc_id}/members")
async def vpcs_members(
    vpc_id: str, request: Request, resource_type: str | None = None, sb: Sandbox = Depends(sandbox)
) -> dict:
    must_get(sb, "vpcs", vpc_id)
    rows = members(sb, vpc_id)
    if resource_type:
        prefix = {"droplet": "do:droplet:", "database": "do:dbaas:", "app": "do:app:"}.get(
            resource_type, f"do:{resource_type}:"
        )
        rows = [r for r in rows if r["urn"].startswith(prefix)]
    return paginate(request, "members", rows)
