"""Managed databases: clusters, trusted sources, users, logical databases, engine config."""

from __future__ import annotations

import base64
import hashlib

from fastapi import APIRouter, Depends, Request, Response

from .. import catalog
from ..core import APIError, Sandbox, new_uuid, now_iso, unprocessable
from ..models import (
    ConfigPatch,
    DatabaseCreate,
    DatabaseFirewall,
    DatabaseResize,
    DbCreate,
    EvictionPolicyBody,
    MaintenanceWindow,
    TrustedSource,
    UserCreate,
    UserUpdate,
    VersionUpgrade,
)
from ._deps import assign_to_project, forget, must_get, password, project_of, sandbox, view
from .basics import ensure_tags
from .vpcs import region_default_vpc

router = APIRouter()

CONFIG_DEFAULTS = {
    "valkey": {
        "valkey_maxmemory_policy": "noeviction",
        "valkey_pubsub_client_output_buffer_limit": 64,
        "valkey_number_of_databases": 16,
        "valkey_io_threads": 1,
        "valkey_lfu_log_factor": 10,
        "valkey_lfu_decay_time": 1,
        "valkey_ssl": True,
        "valkey_timeout": 300,
        "valkey_notify_keyspace_events": "",
        "valkey_persistence": "rdb",
        "valkey_acl_channels_default": "allchannels",
        "frequent_snapshots": True,
        "valkey_active_expire_effort": 1,
    },
    "mongodb": {
        "default_read_concern": "local",
        "default_write_concern": "majority",
        "transaction_lifetime_limit_seconds": 60,
        "slow_op_threshold_ms": 100,
        "verbosity": 0,
    },
    "pg": {"autovacuum_naptime": 60, "max_connections": 100, "timezone": "UTC"},
    "mysql": {"sql_mode": "ANSI,STRICT_ALL_TABLES", "connect_timeout": 10},
}
_DEFAULT_DBS = {"mongodb": ["admin"], "pg": ["defaultdb"], "mysql": ["defaultdb"]}
_ADMIN = {"mongodb": "doadmin", "pg": "doadmin", "mysql": "doadmin", "valkey": "default", "redis": "default"}


def _hosts(db: dict) -> tuple[str, str]:
    tag = hashlib.sha1(db["id"].encode(), usedforsecurity=False).hexdigest()[:8]
    if db["engine"] == "mongodb":
        host = f"{db['name']}-{tag}.mongo.ondigitalocean.com"
    else:
        host = f"{db['name']}-do-user-{int(tag, 16) % 10**8}-0.f.db.ondigitalocean.com"
    return host, f"private-{host}"


def _connection(db: dict, host: str) -> dict:
    engine, user, pw = db["engine"], _ADMIN[db["engine"]], db["_admin_password"]
    port = catalog.DB_ENGINES[engine]["port"]
    if engine == "mongodb":
        uri = f"mongodb+srv://{user}:{pw}@{host}/admin?tls=true&authSource=admin&replicaSet={db['name']}"
        database = "admin"
    elif engine in ("valkey", "redis"):
        uri = f"rediss://{user}:{pw}@{host}:{port}"
        database = ""
    elif engine == "pg":
        uri = f"postgresql://{user}:{pw}@{host}:{port}/defaultdb?sslmode=require"
        database = "defaultdb"
    else:
        uri = f"mysql://{user}:{pw}@{host}:{port}/defaultdb?ssl-mode=REQUIRED"
        database = "defaultdb"
    return {"uri": uri, "database": database, "host": host, "port": port, "user": user, "password": pw, "ssl": True}


def cluster_view(sb: Sandbox, db: dict) -> dict:
    out = view(db)
    host, private = _hosts(db)
    out["connection"] = _connection(db, host)
    out["private_connection"] = _connection(db, private)
    out["users"] = (
        [_user_view(u) for u in db["_users"].values()] if db["engine"] not in catalog.ENGINES_WITHOUT_USERS else None
    )
    out["db_names"] = list(db["_dbs"]) if db["engine"] not in catalog.ENGINES_WITHOUT_USERS else None
    out["rules"] = list(db["_rules"])
    out["project_id"] = project_of(sb, f"do:dbaas:{db['id']}")
    return out


def _user_view(user: dict, with_password: bool = False) -> dict:
    out = {k: v for k, v in user.items() if k != "password"}
    if with_password:
        out["password"] = user["password"]
    return out


def _rule_rows(sb: Sandbox, db: dict, rules: list[TrustedSource]) -> list[dict]:
    existing = {(r["type"], r["value"]): r for r in db.get("_rules", [])}
    rows = []
    for rule in rules:
        if rule.type == "droplet" and sb.store.get("droplets", rule.value) is None:
            raise unprocessable(f"rules: droplet {rule.value} does not exist")
        if rule.type == "app" and sb.store.get("apps", rule.value) is None:
            raise unprocessable(f"rules: app {rule.value} does not exist")
        old = existing.get((rule.type, rule.value))
        row = {
            "uuid": old["uuid"] if old else new_uuid(),
            "cluster_uuid": db["id"],
            "type": rule.type,
            "value": rule.value,
            "created_at": old["created_at"] if old else now_iso(),
        }
        if rule.description is not None:
            row["description"] = rule.description
        if (row["type"], row["value"]) not in {(r["type"], r["value"]) for r in rows}:
            rows.append(row)
    return rows


def _check_layout(engine: str, num_nodes: int, size: str) -> None:
    if size not in catalog.DB_SIZES:
        raise unprocessable(f"size: {size!r} is not a valid database size")
    if not catalog.db_layout_ok(engine, num_nodes, size):
        allowed = catalog.DB_ENGINES[engine]["nodes"]
        raise unprocessable(
            f"num_nodes: {num_nodes} nodes of {size} is not a layout offered for {engine} (nodes: {allowed})"
        )


def _online(db: dict) -> None:
    if db["status"] != "online":
        raise unprocessable(f"the database cluster is {db['status']}, not online")


def _with_users(db: dict) -> None:
    if db["engine"] in catalog.ENGINES_WITHOUT_USERS:
        raise unprocessable(f"users and databases are not supported for {db['engine']} clusters")


@router.get("/v2/databases/options")
async def databases_options() -> dict:
    return catalog.database_options()


@router.get("/v2/databases")
async def databases_list(tag_name: str | None = None, sb: Sandbox = Depends(sandbox)) -> dict:
    rows = sorted(sb.store.all("databases"), key=lambda d: d["created_at"])
    if tag_name:
        rows = [d for d in rows if tag_name in (d.get("tags") or [])]
    return {"databases": [cluster_view(sb, d) for d in rows]}


@router.post("/v2/databases", status_code=201)
async def databases_create(body: DatabaseCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    if body.engine not in catalog.DB_ENGINES:
        raise unprocessable(
            f"engine: {body.engine!r} clusters cannot be created (supported: {sorted(catalog.DB_ENGINES)})"
        )
    versions = catalog.DB_ENGINES[body.engine]["versions"]
    version = body.version or versions[0]
    if version not in versions:
        raise unprocessable(f"version: {version!r} is not an available {body.engine} version (available: {versions})")
    if body.region not in catalog.DB_REGIONS:
        raise unprocessable(f"region: {body.region!r} does not offer managed databases")
    _check_layout(body.engine, body.num_nodes, body.size)
    if next(sb.store.find("databases", name=body.name), None):
        raise unprocessable(f"name: a database cluster named {body.name!r} already exists")
    if body.private_network_uuid:
        vpc = sb.store.get("vpcs", body.private_network_uuid)
        if vpc is None:
            raise unprocessable(f"private_network_uuid: VPC {body.private_network_uuid} does not exist")
        if vpc["region"] != body.region:
            raise unprocessable(f"private_network_uuid: VPC {vpc['name']} is in {vpc['region']}, not in {body.region}")
    else:
        vpc = region_default_vpc(sb, body.region)
    if body.project_id and sb.store.get("projects", body.project_id) is None:
        raise unprocessable(f"project_id: project {body.project_id} does not exist")
    ensure_tags(sb, body.tags)
    dbid = new_uuid()
    db = {
        "id": dbid,
        "name": body.name,
        "engine": body.engine,
        "version": version,
        "semantic_version": f"{version}.0" if "." in version else f"{version}.0.0",
        "num_nodes": body.num_nodes,
        "size": body.size,
        "region": body.region,
        "status": "creating",
        "created_at": now_iso(),
        "private_network_uuid": vpc["id"],
        "tags": list(body.tags or []) or None,
        "storage_size_mib": body.storage_size_mib or 10240,
        "maintenance_window": {"day": "tuesday", "hour": "02:00:00", "pending": False, "description": []},
        "_admin_password": password(),
        "_users": {},
        "_dbs": list(_DEFAULT_DBS.get(body.engine, [])),
        "_config": dict(CONFIG_DEFAULTS.get(body.engine, {})),
        "_eviction_policy": "noeviction",
        "_rules": [],
    }
    if body.engine not in catalog.ENGINES_WITHOUT_USERS:
        db["_users"]["doadmin"] = {"name": "doadmin", "role": "primary", "password": db["_admin_password"]}
    db["_rules"] = _rule_rows(sb, db, body.rules or [])
    sb.store.schedule(db, sb.settings.database_delay, {"status": "online"})
    sb.store.put("databases", dbid, db)
    assign_to_project(sb, f"do:dbaas:{dbid}", body.project_id)
    return {"database": cluster_view(sb, db)}


@router.get("/v2/databases/{uuid}")
async def databases_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"database": cluster_view(sb, must_get(sb, "databases", uuid))}


@router.delete("/v2/databases/{uuid}", status_code=204)
async def databases_destroy(uuid: str, sb: Sandbox = Depends(sandbox)) -> Response:
    must_get(sb, "databases", uuid)
    sb.store.delete("databases", uuid)
    forget(sb, f"do:dbaas:{uuid}")
    return Response(status_code=204)


@router.put("/v2/databases/{uuid}/resize", status_code=202)
async def databases_resize(uuid: str, body: DatabaseResize, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    _check_layout(db["engine"], body.num_nodes, body.size)
    _online(db)
    db["status"] = "resizing"
    changes = {"status": "online", "size": body.size, "num_nodes": body.num_nodes}
    if body.storage_size_mib:
        changes["storage_size_mib"] = body.storage_size_mib
    sb.store.schedule(db, sb.settings.database_delay, changes)
    sb.store.put("databases", uuid, db)
    return Response(status_code=202)


@router.put("/v2/databases/{uuid}/maintenance", status_code=204)
async def databases_maintenance(uuid: str, body: MaintenanceWindow, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    hour = body.hour if body.hour.count(":") == 2 else body.hour + ":00"
    db["maintenance_window"].update(day=body.day, hour=hour)
    sb.store.put("databases", uuid, db)
    return Response(status_code=204)


@router.put("/v2/databases/{uuid}/upgrade", status_code=204)
async def databases_upgrade(uuid: str, body: VersionUpgrade, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    versions = catalog.DB_ENGINES[db["engine"]]["versions"]
    if body.version not in versions or float(body.version) < float(db["version"]):
        raise unprocessable(f"version: {body.version!r} is not an upgrade available for this cluster ({versions})")
    db["version"] = body.version
    sb.store.put("databases", uuid, db)
    return Response(status_code=204)


@router.get("/v2/databases/{uuid}/ca")
async def databases_ca(uuid: str, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    must_get(sb, "databases", uuid)
    pem = (
        getattr(request.app.state, "ca_pem", b"")
        or b"-----BEGIN CERTIFICATE-----\nsandbox\n-----END CERTIFICATE-----\n"
    )
    return {"ca": {"certificate": base64.b64encode(pem).decode()}}


# -- Trusted sources -------------------------------------------------------------------
@router.get("/v2/databases/{uuid}/firewall")
async def databases_firewall_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"rules": list(must_get(sb, "databases", uuid)["_rules"])}


@router.put("/v2/databases/{uuid}/firewall", status_code=204)
async def databases_firewall_put(uuid: str, body: DatabaseFirewall, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    db["_rules"] = _rule_rows(sb, db, body.rules)
    sb.store.put("databases", uuid, db)
    return Response(status_code=204)


# -- Users ---------------------------------------------------------------------------------
def _must_user(db: dict, username: str) -> dict:
    _with_users(db)
    user = db["_users"].get(username)
    if user is None:
        raise APIError(404, f"user {username!r} not found")
    return user


def _settings(db: dict, settings) -> dict | None:
    if settings is None:
        return None
    data = settings.model_dump(exclude_none=True)
    if "mongo_user_settings" in data and db["engine"] != "mongodb":
        raise unprocessable("settings.mongo_user_settings: only MongoDB clusters take mongo_user_settings")
    return data


@router.get("/v2/databases/{uuid}/users")
async def databases_users_list(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    _with_users(db)
    return {"users": [_user_view(u) for u in db["_users"].values()]}


@router.post("/v2/databases/{uuid}/users", status_code=201)
async def databases_users_add(uuid: str, body: UserCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    _with_users(db)
    if body.name in db["_users"]:
        raise unprocessable(f"name: user {body.name!r} already exists")
    user = {"name": body.name, "role": "normal", "password": password()}
    settings = _settings(db, body.settings)
    if settings is None and body.readonly is not None and db["engine"] == "mongodb":
        settings = {
            "mongo_user_settings": {"databases": ["admin"], "role": "readOnly" if body.readonly else "readWrite"}
        }
    if settings:
        user["settings"] = settings
    if body.mysql_settings:
        user["mysql_settings"] = body.mysql_settings
    db["_users"][body.name] = user
    sb.store.put("databases", uuid, db)
    return {"user": _user_view(user, with_password=True)}


@router.get("/v2/databases/{uuid}/users/{username}")
async def databases_users_get(uuid: str, username: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"user": _user_view(_must_user(must_get(sb, "databases", uuid), username))}


@router.put("/v2/databases/{uuid}/users/{username}", status_code=201)
async def databases_users_update(uuid: str, username: str, body: UserUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    user = _must_user(db, username)
    if user["role"] == "primary":
        raise unprocessable("the primary user's settings cannot be changed")
    user["settings"] = _settings(db, body.settings)
    sb.store.put("databases", uuid, db)
    return {"user": _user_view(user)}


@router.delete("/v2/databases/{uuid}/users/{username}", status_code=204)
async def databases_users_delete(uuid: str, username: str, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    user = _must_user(db, username)
    if user["role"] == "primary":
        raise unprocessable("the primary user cannot be deleted")
    del db["_users"][username]
    sb.store.put("databases", uuid, db)
    return Response(status_code=204)


@router.post("/v2/databases/{uuid}/users/{username}/reset_auth")
async def databases_users_reset(uuid: str, username: str, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    user = _must_user(db, username)
    user["password"] = password()
    if user["role"] == "primary":
        db["_admin_password"] = user["password"]
    sb.store.put("databases", uuid, db)
    return {"user": _user_view(user, with_password=True)}


# -- Logical databases ----------------------------------------------------------------------
@router.get("/v2/databases/{uuid}/dbs")
async def databases_dbs_list(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    _with_users(db)
    return {"dbs": [{"name": n} for n in db["_dbs"]]}


@router.post("/v2/databases/{uuid}/dbs", status_code=201)
async def databases_dbs_add(uuid: str, body: DbCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    _with_users(db)
    if body.name in db["_dbs"]:
        raise unprocessable(f"name: database {body.name!r} already exists")
    db["_dbs"].append(body.name)
    sb.store.put("databases", uuid, db)
    return {"db": {"name": body.name}}


@router.get("/v2/databases/{uuid}/dbs/{name}")
async def databases_dbs_get(uuid: str, name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    _with_users(db)
    if name not in db["_dbs"]:
        raise APIError(404, f"database {name!r} not found")
    return {"db": {"name": name}}


@router.delete("/v2/databases/{uuid}/dbs/{name}", status_code=204)
async def databases_dbs_delete(uuid: str, name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    _with_users(db)
    if name not in db["_dbs"]:
        raise APIError(404, f"database {name!r} not found")
    db["_dbs"].remove(name)
    sb.store.put("databases", uuid, db)
    return Response(status_code=204)


# -- Engine settings ---------------------------------------------------------------------------
def _caching(db: dict) -> None:
    if db["engine"] not in catalog.ENGINES_WITHOUT_USERS:
        raise unprocessable(f"eviction policies apply to valkey and redis clusters, not {db['engine']}")


@router.get("/v2/databases/{uuid}/eviction_policy")
async def databases_eviction_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    db = must_get(sb, "databases", uuid)
    _caching(db)
    return {"eviction_policy": db["_eviction_policy"]}


@router.put("/v2/databases/{uuid}/eviction_policy", status_code=204)
async def databases_eviction_put(uuid: str, body: EvictionPolicyBody, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    _caching(db)
    db["_eviction_policy"] = body.eviction_policy
    db["_config"]["valkey_maxmemory_policy"] = body.eviction_policy
    sb.store.put("databases", uuid, db)
    return Response(status_code=204)


@router.get("/v2/databases/{uuid}/config")
async def databases_config_get(uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"config": dict(must_get(sb, "databases", uuid)["_config"])}


@router.patch("/v2/databases/{uuid}/config")
async def databases_config_patch(uuid: str, body: ConfigPatch, sb: Sandbox = Depends(sandbox)) -> Response:
    db = must_get(sb, "databases", uuid)
    known = CONFIG_DEFAULTS.get(db["engine"], {})
    for key, value in body.config.items():
        if key not in known:
            raise unprocessable(f"config.{key}: not a setting of {db['engine']} clusters")
        if type(value) is not type(known[key]) and not (isinstance(known[key], float) and isinstance(value, int)):
            raise unprocessable(f"config.{key}: expected {type(known[key]).__name__}, got {type(value).__name__}")
    if "valkey_maxmemory_policy" in body.config:
        policy = body.config["valkey_maxmemory_policy"].replace("-", "_")
        body.config["valkey_maxmemory_policy"] = policy
        db["_eviction_policy"] = policy
    db["_config"].update(body.config)
    sb.store.put("databases", uuid, db)
    return Response(status_code=200)
