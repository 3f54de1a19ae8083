"""Managed databases: clusters, trusted sources, users, logical databases, engine config."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Request, Response

from .. import catalog
from ..core import Sandbox
from ..models import (
    ConfigPatch,
    DatabaseCreate,
    DatabaseFirewall,
    DatabaseResize,
    DbCreate,
    EvictionPolicyBody,
    MaintenanceWindow,
    SqlMode,
    UserCreate,
    UserUpdate,
    VersionUpgrade,
)
from ._deps import sandbox

router = APIRouter()

_PLACEHOLDER_CA = b"-----BEGIN CERTIFICATE-----\nsandbox\n-----END CERTIFICATE-----\n"


@router.get("/v2/databases/options")
async def databases_options() -> dict:
    return catalog.database_options()


@router.get("/v2/databases")
async def databases_list(tag_name: str | None = None, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"databases": sb.databases.list(tag_name)}


@router.post("/v2/databases", status_code=201)
async def databases_create(body: DatabaseCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"database": sb.databases.create(body)}


@router.get("/v2/databases/{uuid}")
async def databases_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"database": sb.databases.get(uuid)}


@router.delete("/v2/databases/{uuid}", status_code=204)
async def databases_destroy(uuid: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.delete(uuid)
    return Response(status_code=204)


@router.put("/v2/databases/{uuid}/resize", status_code=202)
async def databases_resize(uuid: str, body: DatabaseResize, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.resize(uuid, body.num_nodes, body.size, body.storage_size_mib)
    return Response(status_code=202)


@router.put("/v2/databases/{uuid}/maintenance", status_code=204)
async def databases_maintenance(uuid: str, body: MaintenanceWindow, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.set_maintenance(uuid, body.day, body.hour)
    return Response(status_code=204)


@router.put("/v2/databases/{uuid}/upgrade", status_code=204)
async def databases_upgrade(uuid: str, body: VersionUpgrade, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.upgrade(uuid, body.version)
    return Response(status_code=204)


@router.get("/v2/databases/{uuid}/backups")
async def databases_backups(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.databases.backups(uuid)


@router.get("/v2/databases/{uuid}/online-migration")
async def databases_online_migration(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.databases.online_migration(uuid)


@router.get("/v2/databases/{uuid}/ca")
async def databases_ca(uuid: str, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    sb.databases.get(uuid)
    pem = getattr(request.app.state, "ca_pem", b"") or _PLACEHOLDER_CA
    return {"ca": {"certificate": base64.b64encode(pem).decode()}}


# -- Trusted sources -------------------------------------------------------------------
@router.get("/v2/databases/{uuid}/firewall")
async def databases_firewall_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"rules": sb.databases.rules(uuid)}


@router.put("/v2/databases/{uuid}/firewall", status_code=204)
async def databases_firewall_put(uuid: str, body: DatabaseFirewall, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.set_rules(uuid, body.rules)
    return Response(status_code=204)


# -- Users ---------------------------------------------------------------------------------
# A password reset and engine settings may wait for a cluster's live server: those routes are plain
# ``def`` (run off the event loop).
@router.get("/v2/databases/{uuid}/users")
async def databases_users_list(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"users": sb.databases.users(uuid)}


@router.post("/v2/databases/{uuid}/users", status_code=201)
async def databases_users_add(uuid: str, body: UserCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"user": sb.databases.add_user(uuid, body)}


@router.get("/v2/databases/{uuid}/users/{username}")
async def databases_users_get(uuid: str, username: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"user": sb.databases.user(uuid, username)}


@router.put("/v2/databases/{uuid}/users/{username}", status_code=201)
async def databases_users_update(uuid: str, username: str, body: UserUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"user": sb.databases.change_user(uuid, username, body.settings)}


@router.delete("/v2/databases/{uuid}/users/{username}", status_code=204)
async def databases_users_delete(uuid: str, username: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.delete_user(uuid, username)
    return Response(status_code=204)


@router.post("/v2/databases/{uuid}/users/{username}/reset_auth")
def databases_users_reset(uuid: str, username: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"user": sb.databases.reset_password(uuid, username)}


# -- Logical databases ----------------------------------------------------------------------
@router.get("/v2/databases/{uuid}/dbs")
async def databases_dbs_list(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"dbs": sb.databases.dbs(uuid)}


@router.post("/v2/databases/{uuid}/dbs", status_code=201)
async def databases_dbs_add(uuid: str, body: DbCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"db": sb.databases.add_db(uuid, body.name)}


@router.get("/v2/databases/{uuid}/dbs/{name}")
async def databases_dbs_get(uuid: str, name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"db": sb.databases.dbname(uuid, name)}


@router.delete("/v2/databases/{uuid}/dbs/{name}", status_code=204)
async def databases_dbs_delete(uuid: str, name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.delete_db(uuid, name)
    return Response(status_code=204)


# -- Engine settings ---------------------------------------------------------------------------
@router.get("/v2/databases/{uuid}/eviction_policy")
async def databases_eviction_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"eviction_policy": sb.databases.eviction_policy(uuid)}


@router.put("/v2/databases/{uuid}/eviction_policy", status_code=204)
def databases_eviction_put(uuid: str, body: EvictionPolicyBody, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.set_eviction_policy(uuid, body.eviction_policy)
    return Response(status_code=204)


@router.get("/v2/databases/{uuid}/sql_mode")
async def databases_sql_mode_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"sql_mode": sb.databases.sql_mode(uuid)}


@router.put("/v2/databases/{uuid}/sql_mode", status_code=204)
async def databases_sql_mode_put(uuid: str, body: SqlMode, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.set_sql_mode(uuid, body.sql_mode)
    return Response(status_code=204)


@router.get("/v2/databases/{uuid}/config")
async def databases_config_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"config": sb.databases.config(uuid)}


@router.patch("/v2/databases/{uuid}/config")
def databases_config_patch(uuid: str, body: ConfigPatch, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.databases.change_config(uuid, body.config)
    return Response(status_code=200)
