"""Domains and their records."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from ..core import Sandbox, paginate
from ..models import DomainCreate, RecordBody, RecordUpdate
from ._deps import sandbox, view

router = APIRouter()


@router.get("/v2/domains")
async def domains_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "domains", sb.domains.list(), sb.domains.view)


@router.post("/v2/domains", status_code=201)
async def domains_create(body: DomainCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain": sb.domains.create(body.name, body.ip_address)}


@router.get("/v2/domains/{name}")
async def domains_get(name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain": sb.domains.get(name)}


@router.delete("/v2/domains/{name}", status_code=204)
async def domains_delete(name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.domains.delete(name)
    return Response(status_code=204)


@router.get("/v2/domains/{name}/records")
async def records_list(
    name: str,
    request: Request,
    kind: str | None = Query(None, alias="type"),
    sb: Sandbox = Depends(sandbox),
) -> dict:
    rows = sb.domains.records(name, fqdn=request.query_params.get("name"), kind=kind)
    return paginate(request, "domain_records", rows, view)


@router.post("/v2/domains/{name}/records", status_code=201)
async def records_create(name: str, body: RecordBody, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain_record": view(sb.domains.create_record(name, body.model_dump(exclude_unset=True)))}


@router.get("/v2/domains/{name}/records/{record_id}")
async def records_get(name: str, record_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain_record": view(sb.domains.record(name, record_id))}


@router.patch("/v2/domains/{name}/records/{record_id}")
async def records_patch(name: str, record_id: int, body: RecordUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain_record": view(sb.domains.change_record(name, record_id, body.model_dump(exclude_unset=True)))}


@router.put("/v2/domains/{name}/records/{record_id}")
async def records_update(name: str, record_id: int, body: RecordUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain_record": view(sb.domains.change_record(name, record_id, body.model_dump(exclude_unset=True)))}


@router.delete("/v2/domains/{name}/records/{record_id}", status_code=204)
async def records_delete(name: str, record_id: int, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.domains.delete_record(name, record_id)
    return Response(status_code=204)
