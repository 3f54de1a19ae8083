"""VPCs and their members."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..core import Sandbox, paginate
from ..models import VpcCreate, VpcPatch, VpcUpdate
from ._deps import sandbox, view

router = APIRouter()


@router.get("/v2/vpcs")
async def vpcs_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "vpcs", sb.networking.vpcs(), view)


@router.post("/v2/vpcs", status_code=201)
async def vpcs_create(body: VpcCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"vpc": view(sb.networking.create_vpc(body.name, body.region, body.description, body.ip_range))}


@router.get("/v2/vpcs/{vpc_id}")
async def vpcs_get(vpc_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"vpc": view(sb.networking.vpc(vpc_id))}


@router.put("/v2/vpcs/{vpc_id}")
async def vpcs_update(vpc_id: str, body: VpcUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    changes = body.model_dump()
    changes["description"] = changes["description"] or ""
    return {"vpc": view(sb.networking.change_vpc(vpc_id, changes))}


@router.patch("/v2/vpcs/{vpc_id}")
async def vpcs_patch(vpc_id: str, body: VpcPatch, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"vpc": view(sb.networking.change_vpc(vpc_id, body.model_dump(exclude_unset=True)))}


@router.delete("/v2/vpcs/{vpc_id}", status_code=204)
async def vpcs_delete(vpc_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.networking.delete_vpc(vpc_id)
    return Response(status_code=204)


@router.get("/v2/vpcs/{vpc_id}/members")
async def vpcs_members(
    vpc_id: str, request: Request, resource_type: str | None = None, sb: Sandbox = Depends(sandbox)
) -> dict:
    return paginate(request, "members", sb.networking.members(vpc_id, resource_type))
