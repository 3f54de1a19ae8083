"""Domains and their records."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from ..core import APIError, Sandbox, not_found, paginate, unprocessable
from ..models import DomainCreate, RecordBody
from ._deps import assign_to_project, forget, must_get, sandbox, view

router = APIRouter()

_REQUIRED = {
    "A": ("name", "data"),
    "AAAA": ("name", "data"),
    "CNAME": ("name", "data"),
    "MX": ("data", "priority"),
    "TXT": ("name", "data"),
    "NS": ("name", "data"),
    "CAA": ("name", "data", "flags", "tag"),
    "SRV": ("name", "data", "priority", "port", "weight"),
    "SOA": ("ttl",),
}
_NULLABLE = ("priority", "port", "weight", "flags", "tag")


def _zone_file(sb: Sandbox, domain: str) -> str:
    lines = [f"$ORIGIN {domain}.", "$TTL 1800"]
    for r in _records(sb, domain):
        lines.append(f"{r['name']} IN {r['type']} {r['data']}")
    return "\n".join(lines) + "\n"


def _records(sb: Sandbox, domain: str) -> list[dict]:
    return sorted((r for r in sb.store.all("records") if r["_domain"] == domain), key=lambda r: r["id"])


def _domain_view(sb: Sandbox, domain: dict) -> dict:
    return {**view(domain), "zone_file": _zone_file(sb, domain["name"])}


def _add_record(sb: Sandbox, domain: str, fields: dict) -> dict:
    record = {
        "id": sb.store.next_id("record", 100000001),
        "type": fields["type"],
        "name": fields.get("name") or "@",
        "data": fields.get("data"),
        "ttl": fields.get("ttl") or 1800,
        "_domain": domain,
    }
    for key in _NULLABLE:
        record[key] = fields.get(key)
    return sb.store.put("records", record["id"], record)


def _check_record(body: RecordBody) -> dict:
    fields = body.model_dump(exclude_unset=True)
    missing = [f for f in _REQUIRED[body.type] if fields.get(f) is None]
    if missing:
        raise unprocessable(f"{missing[0]}: is required for {body.type} records")
    return fields


@router.get("/v2/domains")
async def domains_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    rows = sorted(sb.store.all("domains"), key=lambda d: d["name"])
    return paginate(request, "domains", rows, lambda d: _domain_view(sb, d))


@router.post("/v2/domains", status_code=201)
async def domains_create(body: DomainCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    name = body.name.lower()
    if sb.store.get("domains", name) is not None:
        raise unprocessable(f"name: the domain {name} already exists")
    domain = {"id": name, "name": name, "ttl": 1800}
    sb.store.put("domains", name, domain)
    _add_record(sb, name, {"type": "SOA", "name": "@", "data": "1800", "ttl": 1800})
    for ns in ("ns1", "ns2", "ns3"):
        _add_record(sb, name, {"type": "NS", "name": "@", "data": f"{ns}.digitalocean.com", "ttl": 1800})
    if body.ip_address:
        _add_record(sb, name, {"type": "A", "name": "@", "data": body.ip_address, "ttl": 1800})
    assign_to_project(sb, f"do:domain:{name}")
    out = _domain_view(sb, domain)
    out["zone_file"] = None  # DigitalOcean answers a fresh domain before its zone file is rendered
    return {"domain": {k: v for k, v in out.items() if k != "id"}}


@router.get("/v2/domains/{name}")
async def domains_get(name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    domain = must_get(sb, "domains", name.lower())
    return {"domain": {k: v for k, v in _domain_view(sb, domain).items() if k != "id"}}


@router.delete("/v2/domains/{name}", status_code=204)
async def domains_delete(name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    domain = must_get(sb, "domains", name.lower())
    for record in _records(sb, domain["name"]):
        sb.store.delete("records", record["id"])
    sb.store.delete("domains", domain["name"])
    forget(sb, f"do:domain:{domain['name']}")
    return Response(status_code=204)


def _fqdn(record: dict, domain: str) -> str:
    return domain if record["name"] == "@" else f"{record['name']}.{domain}"


@router.get("/v2/domains/{name}/records")
async def records_list(
    name: str,
    request: Request,
    kind: str | None = Query(None, alias="type"),
    sb: Sandbox = Depends(sandbox),
) -> dict:
    domain = must_get(sb, "domains", name.lower())["name"]
    rows = _records(sb, domain)
    wanted = request.query_params.get("name")
    if wanted:
        rows = [r for r in rows if _fqdn(r, domain) == wanted.lower().rstrip(".")]
    if kind:
        rows = [r for r in rows if r["type"] == kind.upper()]
    return paginate(request, "domain_records", rows, view)


@router.post("/v2/domains/{name}/records", status_code=201)
async def records_create(name: str, body: RecordBody, sb: Sandbox = Depends(sandbox)) -> dict:
    domain = must_get(sb, "domains", name.lower())["name"]
    if body.type == "SOA":
        raise unprocessable("type: SOA records are managed by DigitalOcean")
    fields = _check_record(body)
    if fields.get("name", "").endswith("." + domain):
        fields["name"] = fields["name"][: -len(domain) - 1]
    elif fields.get("name") == domain:
        fields["name"] = "@"
    return {"domain_record": view(_add_record(sb, domain, fields))}


def _must_record(sb: Sandbox, name: str, record_id: int) -> dict:
    domain = must_get(sb, "domains", name.lower())["name"]
    record = sb.store.get("records", record_id)
    if record is None or record["_domain"] != domain:
        raise not_found()
    return record


@router.get("/v2/domains/{name}/records/{record_id}")
async def records_get(name: str, record_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"domain_record": view(_must_record(sb, name, record_id))}


async def _edit(name: str, record_id: int, body: RecordBody, sb: Sandbox) -> dict:
    record = _must_record(sb, name, record_id)
    if body.type != record["type"]:
        raise APIError(422, f"type: a {record['type']} record cannot become {body.type}")
    record.update({k: v for k, v in body.model_dump(exclude_unset=True).items() if k != "type"})
    return {"domain_record": view(sb.store.put("records", record["id"], record))}


@router.patch("/v2/domains/{name}/records/{record_id}")
async def records_patch(name: str, record_id: int, body: RecordBody, sb: Sandbox = Depends(sandbox)) -> dict:
    return await _edit(name, record_id, body, sb)


@router.put("/v2/domains/{name}/records/{record_id}")
async def records_update(name: str, record_id: int, body: RecordBody, sb: Sandbox = Depends(sandbox)) -> dict:
    return await _edit(name, record_id, body, sb)


@router.delete("/v2/domains/{name}/records/{record_id}", status_code=204)
async def records_delete(name: str, record_id: int, sb: Sandbox = Depends(sandbox)) -> Response:
    record = _must_record(sb, name, record_id)
    sb.store.delete("records", record["id"])
    return Response(status_code=204)
