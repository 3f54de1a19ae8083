"""Managed databases: clusters, trusted sources, users, logical databases, engine config.

A Valkey (or Redis) cluster has one user, ``default``, whose password is the cluster's; a password reset
of ``default`` rotates it, as DigitalOcean's control panel does. When droplets are machines and the
valkey image is here, such a cluster is backed by a real server (``caching.py``): the cluster carries
``_addresses`` (public and private IPv4, fixed at creation) and ``_server: true``, becomes ``online``
only once its server answers (never before the configured delay), and its password and eviction policy
are the live server's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time

from .. import catalog
from ..errors import APIError, unprocessable
from ..scopes import VIEW_CREDENTIALS
from ..store import Frozen, public
from ..util import new_uuid, now_iso
from .base import Backend
from .caching import server_answers

log = logging.getLogger("oxy_sandbox.databases")

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
    "mysql": {
        "sql_mode": (
            "ANSI,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE,STRICT_ALL_TABLES"
        ),
        "connect_timeout": 10,
    },
}
# MySQL 8's SQL modes, and the combinations it takes as modes of their own.
SQL_MODES = {
    "ALLOW_INVALID_DATES",
    "ANSI_QUOTES",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "HIGH_NOT_PRECEDENCE",
    "IGNORE_SPACE",
    "NO_AUTO_VALUE_ON_ZERO",
    "NO_BACKSLASH_ESCAPES",
    "NO_DIR_IN_CREATE",
    "NO_ENGINE_SUBSTITUTION",
    "NO_UNSIGNED_SUBTRACTION",
    "NO_ZERO_DATE",
    "NO_ZERO_IN_DATE",
    "ONLY_FULL_GROUP_BY",
    "PAD_CHAR_TO_FULL_LENGTH",
    "PIPES_AS_CONCAT",
    "REAL_AS_FLOAT",
    "STRICT_ALL_TABLES",
    "STRICT_TRANS_TABLES",
    "TIME_TRUNCATE_FRACTIONAL",
    "ANSI",
    "TRADITIONAL",
}
_BACKUP_INTERVAL = 24 * 3600
_BACKUP_RETENTION = 7 * 24 * 3600
_ISO = "%Y-%m-%dT%H:%M:%SZ"
_WITHOUT_BACKUPS = ("valkey", "redis", "kafka", "opensearch")
_DEFAULT_DBS = {"mongodb": ["admin"], "pg": ["defaultdb"], "mysql": ["defaultdb"]}
_ADMIN = {"mongodb": "doadmin", "pg": "doadmin", "mysql": "doadmin", "valkey": "default", "redis": "default"}


def _state(db: dict) -> dict:
    """What a backup of ``db`` holds, and what a restore brings back: its databases and users (passwords too)."""
    return {"dbs": list(db["_dbs"]), "users": {n: dict(u) for n, u in db["_users"].items()}}


def _remember(db: dict) -> None:
    """Record ``db``'s databases and users as of now (a cluster with backups keeps this history, so a
    restore to any point in time sees them as they were then)."""
    if db["engine"] not in _WITHOUT_BACKUPS:
        db.setdefault("_history", []).append({"at": time.time(), **_state(db)})


def _backups_refused(db: dict) -> None:
    if db["engine"] in ("valkey", "redis"):
        raise unprocessable("Backups are not supported for Caching or Valkey clusters.")
    if db["engine"] in _WITHOUT_BACKUPS:
        raise unprocessable(f"Backups are not supported for {db['engine']} clusters.")


def _parse_time(value: str) -> float:
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise unprocessable(
            f"backup_restore.backup_created_at: {value!r} is not an ISO8601 date-time (such as 2019-01-31T19:25:22Z)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def password(length: int = 24) -> str:
    return secrets.token_urlsafe(length)[:length]


def _hosts(db: dict) -> tuple[str, str]:
    tag = hashlib.sha1(db["id"].encode(), usedforsecurity=False).hexdigest()[:8]
    if db["engine"] == "mongodb":
        host = f"{db['name']}-{tag}.mongo.ondigitalocean.com"
    else:
        host = f"{db['name']}-do-user-{int(tag, 16) % 10**8}-0.f.db.ondigitalocean.com"
    return host, f"private-{host}"


def _connection(db: dict, host: str, with_password: bool) -> dict:
    """A connection block; without ``with_password`` (no ``database:view_credentials``) it and the URI lack it."""
    engine, user, pw = db["engine"], _ADMIN[db["engine"]], db["_admin_password"]
    port = catalog.DB_ENGINES[engine]["port"]
    auth = f"{user}:{pw}" if with_password else user
    if engine == "mongodb":
        uri = f"mongodb+srv://{auth}@{host}/admin?tls=true&authSource=admin&replicaSet={db['name']}"
        database = "admin"
    elif engine in ("valkey", "redis"):
        uri = f"rediss://{auth}@{host}:{port}"
        database = ""
    elif engine == "pg":
        uri = f"postgresql://{auth}@{host}:{port}/defaultdb?sslmode=require"
        database = "defaultdb"
    else:
        uri = f"mysql://{auth}@{host}:{port}/defaultdb?ssl-mode=REQUIRED"
        database = "defaultdb"
    out = {"uri": uri, "database": database, "host": host, "port": port, "user": user, "password": pw, "ssl": True}
    if not with_password:
        del out["password"]
    return out


def _users_of(db: dict) -> dict[str, dict]:
    """A cluster's users by name; a Valkey or Redis cluster has one, ``default``, whose password is the cluster's."""
    if db["engine"] in catalog.ENGINES_WITHOUT_USERS:
        return {"default": {"name": "default", "role": "primary", "password": db["_admin_password"]}}
    return db["_users"]


def server_settings(db: dict) -> dict[str, str]:
    """What a cluster's server runs with (redis parameters): its password and its eviction policy."""
    return {"requirepass": db["_admin_password"], "maxmemory-policy": db["_eviction_policy"].replace("_", "-")}


def user_view(user: dict, with_password: bool) -> dict:
    """A user as the API shows it: its password only to a token with ``database:view_credentials``."""
    out = {k: v for k, v in user.items() if k != "password"}
    if with_password:
        out["password"] = user["password"]
    return out


def _check_layout(engine: str, num_nodes: int, size: str) -> None:
    if size not in catalog.DB_SIZES:
        raise unprocessable(f"size: {size!r} is not a valid database size")
    if not catalog.db_layout_ok(engine, num_nodes, size):
        allowed = catalog.DB_ENGINES[engine]["nodes"]
        raise unprocessable(
            f"num_nodes: {num_nodes} nodes of {size} is not a layout offered for {engine} (nodes: {allowed})"
        )


def _major(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _semantic(version: str) -> str:
    return f"{version}.0" if "." in version else f"{version}.0.0"


def _online(db: dict) -> None:
    if db["status"] != "online":
        raise unprocessable(f"the database cluster is {db['status']}, not online")


def _with_users(db: dict) -> None:
    if db["engine"] in catalog.ENGINES_WITHOUT_USERS:
        raise unprocessable(f"users and databases are not supported for {db['engine']} clusters")


def _caching(db: dict) -> None:
    if db["engine"] not in catalog.ENGINES_WITHOUT_USERS:
        raise unprocessable(f"eviction policies apply to valkey and redis clusters, not {db['engine']}")


def _mysql(db: dict) -> None:
    if db["engine"] != "mysql":
        raise unprocessable(f"SQL modes apply to mysql clusters, not {db['engine']}")


def _must_user(db: dict, username: str) -> dict:
    user = _users_of(db).get(username)
    if user is None:
        raise APIError(404, f"user {username!r} not found")
    return user


def _user_settings(db: dict, settings) -> dict | None:
    if settings is None:
        return None
    data = settings.model_dump(exclude_none=True)
    if "mongo_user_settings" in data and db["engine"] != "mongodb":
        raise unprocessable("settings.mongo_user_settings: only MongoDB clusters take mongo_user_settings")
    return data


class DatabasesBackend(Backend):
    def credentials_visible(self) -> bool:
        """Whether the request being served may see passwords (its token has ``database:view_credentials``)."""
        return self.sb.may(VIEW_CREDENTIALS)

    def view(self, db: Frozen) -> dict:
        """A cluster as the API shows it: connections, users, databases, rules and its project."""
        out = public(db)
        host, private = _hosts(db)
        credentials = self.credentials_visible()
        out["connection"] = _connection(db, host, credentials)
        out["private_connection"] = _connection(db, private, credentials)
        with_users = db["engine"] not in catalog.ENGINES_WITHOUT_USERS
        out["users"] = [user_view(u, credentials) for u in _users_of(db).values()]
        out["db_names"] = list(db["_dbs"]) if with_users else None
        out["rules"] = list(db["_rules"])
        out["project_id"] = self.sb.projects.project_of(f"do:dbaas:{db['id']}")
        return out

    def servers_on(self) -> bool:
        return self.sb.caching is not None and self.settings.machines

    def _db(self, uuid: str) -> Frozen:
        return self.must("databases", uuid)

    def _rule_rows(self, db: dict, rules: list) -> list[dict]:
        existing = {(r["type"], r["value"]): r for r in db.get("_rules", [])}
        rows = []
        for rule in rules:
            if rule.type == "droplet" and self.store.get("droplets", rule.value) is None:
                raise unprocessable(f"rules: droplet {rule.value} does not exist")
            if rule.type == "app" and self.store.get("apps", rule.value) is None:
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

    # -- clusters -----------------------------------------------------------------------
    def list(self, tag_name: str | None = None) -> list[dict]:
        rows = sorted(self.store.all("databases"), key=lambda d: d["created_at"])
        if tag_name:
            rows = [d for d in rows if tag_name in (d.get("tags") or [])]
        return [self.view(d) for d in rows]

    def get(self, uuid: str) -> dict:
        return self.view(self._db(uuid))

    def create(self, body) -> dict:
        if body.engine not in catalog.DB_ENGINES:
            raise unprocessable(
                f"engine: {body.engine!r} clusters cannot be created (supported: {sorted(catalog.DB_ENGINES)})"
            )
        versions = catalog.DB_ENGINES[body.engine]["versions"]
        version = body.version or versions[0]
        if version not in versions:
            raise unprocessable(
                f"version: {version!r} is not an available {body.engine} version (available: {versions})"
            )
        if body.region not in catalog.DB_REGIONS:
            raise unprocessable(f"region: {body.region!r} does not offer managed databases")
        _check_layout(body.engine, body.num_nodes, body.size)
        if next(self.store.find("databases", name=body.name), None):
            raise unprocessable(f"name: a database cluster named {body.name!r} already exists")
        vpc = self.sb.networking.resolve_vpc(
            body.private_network_uuid, body.region, "private_network_uuid", body.region
        )
        if body.project_id and self.store.get("projects", body.project_id) is None:
            raise unprocessable(f"project_id: project {body.project_id} does not exist")
        self.sb.regions.refuse(body.region)
        restored = self._restore_point(body) if body.backup_restore else None
        self.sb.account.ensure_tags(body.tags)
        dbid = new_uuid()
        db = {
            "id": dbid,
            "name": body.name,
            "engine": body.engine,
            "version": version,
            "semantic_version": _semantic(version),
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
        if restored is not None:  # a fork: the source's databases and users as they were then
            db["_dbs"] = list(restored["dbs"])
            db["_users"] = {n: dict(u) for n, u in restored["users"].items()}
            db["_admin_password"] = db["_users"]["doadmin"]["password"]
            db["status"] = "forking"
            db["_restored_from"] = {"cluster": restored["cluster"], "at": restored["at"]}
        _remember(db)
        if db["engine"] not in _WITHOUT_BACKUPS:  # the first daily backup: at creation
            db["_backups"] = [self._backup_row(db)]
        db["_rules"] = self._rule_rows(db, body.rules or [])
        server = body.engine in catalog.ENGINES_WITHOUT_USERS and self.servers_on()
        if server:
            public_ip, _, _ = self.sb.networking.public_ip(machine=True)
            db["_addresses"] = {"public": public_ip, "private": self.sb.networking.allocate_private_ip(vpc["id"])}
            db["_server"] = True
        else:
            self.store.schedule(db, self.settings.database_delay, {"status": "online"})
        stored = self.store.create("databases", dbid, db)
        self.sb.projects.assign(f"do:dbaas:{dbid}", body.project_id)
        if server:
            self._start_server(stored)
        return self.view(stored)

    def delete(self, uuid: str) -> None:
        db = self._db(uuid)
        self.store.delete("databases", uuid)
        self.sb.projects.forget(f"do:dbaas:{uuid}")
        if db.get("_server") and self.sb.caching is not None:
            self.sb.caching.submit(uuid, self.sb.caching.destroy, uuid)

    def resize(self, uuid: str, num_nodes: int, size: str, storage_size_mib: int | None) -> None:
        db = self._db(uuid)
        _check_layout(db["engine"], num_nodes, size)
        _online(db)
        changes = {"status": "online", "size": size, "num_nodes": num_nodes}
        if storage_size_mib:
            changes["storage_size_mib"] = storage_size_mib
        with self.store.editing("databases", uuid) as changing:
            changing["status"] = "resizing"
            self.store.schedule(changing, self.settings.database_delay, changes)

    def set_maintenance(self, uuid: str, day: str, hour: str) -> None:
        self._db(uuid)
        hour = hour if hour.count(":") == 2 else hour + ":00"
        with self.store.editing("databases", uuid) as db:
            db["maintenance_window"].update(day=day, hour=hour)

    @staticmethod
    def _backup_row(db: dict) -> dict:
        now = time.time()
        return {
            "created_at": time.strftime(_ISO, time.gmtime(now)),
            "size_gigabytes": round(0.03 + len(db["_dbs"]) * 0.01 + len(db["_users"]) * 0.001, 4),
            "_at": now,
            "_state": _state(db),
        }

    def _kept_backups(self, db: Frozen) -> list[Frozen]:
        """A cluster's backups still kept (seven days)."""
        return [b for b in db.get("_backups", []) if b["_at"] > time.time() - _BACKUP_RETENTION]

    def backups(self, uuid: str) -> dict:
        """The daily backups a cluster has (one taken at creation, then one a day: the sandbox takes them
        on ``POST /_sandbox/databases/{uuid}/backup``), kept seven days, and when the next one is taken."""
        db = self._db(uuid)
        _backups_refused(db)
        created = dt.datetime.strptime(db["created_at"], _ISO).replace(tzinfo=dt.UTC)
        kept = self._kept_backups(db)
        backups = [{"created_at": b["created_at"], "size_gigabytes": b["size_gigabytes"]} for b in kept]
        return {
            "backups": backups,
            "scheduled_backup_time": {
                "backup_hour": created.hour,
                "backup_minute": created.minute,
                "backup_interval_hours": _BACKUP_INTERVAL // 3600,
            },
        }

    def take_backup(self, uuid: str) -> dict:
        """The sandbox's stand-in for the daily backup: one now; those older than seven days go."""
        db = self._db(uuid)
        _backups_refused(db)
        with self.store.editing("databases", uuid) as changing:
            row = self._backup_row(changing)
            changing["_backups"] = [*self._kept_backups(changing), row]
        return {"created_at": row["created_at"], "size_gigabytes": row["size_gigabytes"]}

    def _restore_point(self, body) -> dict:
        """The databases and users a ``backup_restore`` brings back: those of the backup taken at
        ``backup_created_at`` (its latest when absent), or of that point in time between backups."""
        ask = body.backup_restore
        source = next(self.store.find("databases", name=ask.database_name), None)
        if source is None:
            raise unprocessable(f"backup_restore.database_name: no database cluster named {ask.database_name!r}")
        if source["engine"] != body.engine:
            raise unprocessable(
                f"engine: a {source['engine']} cluster's backup can only be restored into a {source['engine']} cluster"
            )
        _backups_refused(source)
        backups = self._kept_backups(source)
        if not backups:
            raise unprocessable(f"backup_restore: cluster {source['name']} has no backup to restore yet")
        if ask.backup_created_at is None:
            chosen = backups[-1]
            return {**chosen["_state"], "cluster": source["id"], "at": chosen["created_at"]}
        # Backups are listed to the second: of two in the same second, the later one.
        exact = next((b for b in reversed(backups) if b["created_at"] == ask.backup_created_at), None)
        if exact is not None:
            return {**exact["_state"], "cluster": source["id"], "at": exact["created_at"]}
        when = _parse_time(ask.backup_created_at)
        first = backups[0]
        if when < int(first["_at"]):
            raise unprocessable(
                f"backup_restore.backup_created_at: {ask.backup_created_at} is before the oldest backup of "
                f"{source['name']} ({first['created_at']}); it cannot be restored to that time"
            )
        if when > time.time():
            raise unprocessable(
                f"backup_restore.backup_created_at: {ask.backup_created_at} is in the future; "
                "a cluster can be restored to a past point in time only"
            )
        history = [h for h in source.get("_history", []) if h["at"] < when + 1] or [first["_state"]]
        state = history[-1]
        return {"dbs": state["dbs"], "users": state["users"], "cluster": source["id"], "at": ask.backup_created_at}

    def sql_mode(self, uuid: str) -> str:
        db = self._db(uuid)
        _mysql(db)
        return db["_config"]["sql_mode"]

    def set_sql_mode(self, uuid: str, sql_mode: str) -> None:
        _mysql(self._db(uuid))
        modes = [m.strip().upper() for m in sql_mode.split(",") if m.strip()]
        unknown = [m for m in modes if m not in SQL_MODES]
        if unknown:
            raise unprocessable(f"sql_mode: {', '.join(unknown)} is not a MySQL SQL mode")
        with self.store.editing("databases", uuid) as db:
            db["_config"]["sql_mode"] = ",".join(dict.fromkeys(modes))

    def online_migration(self, uuid: str) -> dict:
        """The cluster's online migration: the sandbox never runs one, so there is none to show."""
        self._db(uuid)
        return {}

    def upgrade(self, uuid: str, version: str) -> None:
        """A major version upgrade: only upward, for good, and (as a resize) only of an online cluster.

        DigitalOcean answers 204 and the cluster runs the new version (its ``version`` and ``semantic_version``);
        its status enum has no upgrading state, so the cluster stays ``online``. A downgrade, or a version the
        engine does not offer, is refused with a 422. Asking for the version it already runs changes nothing
        (a repeated PUT is harmless).
        """
        db = self._db(uuid)
        versions = catalog.DB_ENGINES[db["engine"]]["versions"]
        if version not in versions:
            raise unprocessable(
                f"version: {version!r} is not an available {db['engine']} version (available: {versions})"
            )
        if _major(version) < _major(db["version"]):
            raise unprocessable(
                f"version: cannot downgrade a database cluster: it runs {db['engine']} {db['version']}, "
                f"and {version} is older; a major version upgrade cannot be undone"
            )
        _online(db)
        if version != db["version"]:
            self.store.patch("databases", uuid, version=version, semantic_version=_semantic(version))

    # -- trusted sources ------------------------------------------------------------------
    def rules(self, uuid: str) -> list:
        return list(self._db(uuid)["_rules"])

    def set_rules(self, uuid: str, rules: list) -> None:
        db = self._db(uuid)
        rows = self._rule_rows(db, rules)
        self.store.patch("databases", uuid, _rules=rows)

    # -- users ----------------------------------------------------------------------------
    def users(self, uuid: str) -> list[dict]:
        db = self._db(uuid)
        return [user_view(u, self.credentials_visible()) for u in _users_of(db).values()]

    def user(self, uuid: str, username: str) -> dict:
        return user_view(_must_user(self._db(uuid), username), self.credentials_visible())

    def add_user(self, uuid: str, body) -> dict:
        db = self._db(uuid)
        _with_users(db)
        if body.name in db["_users"]:
            raise unprocessable(f"name: user {body.name!r} already exists")
        user = {"name": body.name, "role": "normal", "password": password()}
        settings = _user_settings(db, body.settings)
        if settings is None and body.readonly is not None and db["engine"] == "mongodb":
            settings = {
                "mongo_user_settings": {"databases": ["admin"], "role": "readOnly" if body.readonly else "readWrite"}
            }
        if settings:
            user["settings"] = settings
        if body.mysql_settings:
            user["mysql_settings"] = body.mysql_settings
        with self.store.editing("databases", uuid) as changing:
            changing["_users"][body.name] = user
            _remember(changing)
        return user_view(user, self.credentials_visible())

    def change_user(self, uuid: str, username: str, settings) -> dict:
        db = self._db(uuid)
        _with_users(db)
        user = _must_user(db, username)
        if user["role"] == "primary":
            raise unprocessable("the primary user's settings cannot be changed")
        data = _user_settings(db, settings)
        with self.store.editing("databases", uuid) as changing:
            changing["_users"][username]["settings"] = data
            _remember(changing)
            return user_view(changing["_users"][username], self.credentials_visible())

    def delete_user(self, uuid: str, username: str) -> None:
        db = self._db(uuid)
        _with_users(db)
        user = _must_user(db, username)
        if user["role"] == "primary":
            raise unprocessable("the primary user cannot be deleted")
        with self.store.editing("databases", uuid) as db:
            del db["_users"][username]
            _remember(db)

    def reset_password(self, uuid: str, username: str) -> dict:
        _must_user(self._db(uuid), username)
        with self.store.editing("databases", uuid) as db:
            if db["engine"] in catalog.ENGINES_WITHOUT_USERS:  # ``default``: the cluster's own password
                db["_admin_password"] = password()
            else:
                db["_users"][username]["password"] = password()
                if db["_users"][username]["role"] == "primary":
                    db["_admin_password"] = db["_users"][username]["password"]
                _remember(db)
            user = _users_of(db)[username]
        self._sync_server(db)
        return user_view(user, self.credentials_visible())

    def secrets(self) -> list[str]:
        """Every password the sandbox has issued."""
        found = []
        for db in self.store.all("databases"):
            found.append(db["_admin_password"])
            found += [u["password"] for u in db["_users"].values()]
        return sorted(set(found))

    # -- logical databases ------------------------------------------------------------------
    def dbs(self, uuid: str) -> list[dict]:
        db = self._db(uuid)
        _with_users(db)
        return [{"name": n} for n in db["_dbs"]]

    def _must_dbname(self, uuid: str, name: str) -> None:
        db = self._db(uuid)
        _with_users(db)
        if name not in db["_dbs"]:
            raise APIError(404, f"database {name!r} not found")

    def dbname(self, uuid: str, name: str) -> dict:
        self._must_dbname(uuid, name)
        return {"name": name}

    def add_db(self, uuid: str, name: str) -> dict:
        db = self._db(uuid)
        _with_users(db)
        if name in db["_dbs"]:
            raise unprocessable(f"name: database {name!r} already exists")
        with self.store.editing("databases", uuid) as changing:
            changing["_dbs"].append(name)
            _remember(changing)
        return {"name": name}

    def delete_db(self, uuid: str, name: str) -> None:
        self._must_dbname(uuid, name)
        with self.store.editing("databases", uuid) as db:
            db["_dbs"].remove(name)
            _remember(db)

    # -- engine settings ------------------------------------------------------------------
    def eviction_policy(self, uuid: str) -> str:
        db = self._db(uuid)
        _caching(db)
        return db["_eviction_policy"]

    def set_eviction_policy(self, uuid: str, policy: str) -> None:
        _caching(self._db(uuid))
        with self.store.editing("databases", uuid) as db:
            db["_eviction_policy"] = policy
            db["_config"]["valkey_maxmemory_policy"] = policy
        self._sync_server(db)

    def config(self, uuid: str) -> dict:
        return dict(self._db(uuid)["_config"])

    def change_config(self, uuid: str, config: dict) -> None:
        db = self._db(uuid)
        known = CONFIG_DEFAULTS.get(db["engine"], {})
        for key, value in config.items():
            if key not in known:
                raise unprocessable(f"config.{key}: not a setting of {db['engine']} clusters")
            if type(value) is not type(known[key]) and not (isinstance(known[key], float) and isinstance(value, int)):
                raise unprocessable(f"config.{key}: expected {type(known[key]).__name__}, got {type(value).__name__}")
        config = dict(config)
        with self.store.editing("databases", uuid) as changing:
            if "valkey_maxmemory_policy" in config:
                policy = config["valkey_maxmemory_policy"].replace("-", "_")
                config["valkey_maxmemory_policy"] = policy
                changing["_eviction_policy"] = policy
            changing["_config"].update(config)
        self._sync_server(changing)

    # -- servers (Valkey and Redis clusters, when droplets are machines) ------------------------
    def _start_server(self, db: Frozen) -> None:
        """Start ``db``'s server; the cluster comes online once it answers, never before the configured delay."""
        caching, uuid = self.sb.caching, db["id"]
        started = time.time()
        delay = self.settings.database_delay

        def job() -> None:
            self._boot_server(uuid)
            if self.store.get("databases", uuid) is None:  # deleted while it started
                caching.destroy(uuid)
                return
            self._online(uuid, max(0.0, started + delay - time.time()))

        caching.submit(uuid, job)

    def _boot_server(self, uuid: str) -> None:
        """Create the server with the cluster's settings as stored when it starts (later changes queue behind)."""
        db = self.store.get("databases", uuid)
        if db is None:
            return
        vpc = self.store.get("vpcs", db["private_network_uuid"])
        port = catalog.DB_ENGINES.get(db["engine"], {}).get("port", 25061)
        self.sb.caching.create(uuid, vpc, db["_addresses"], _hosts(db), port, server_settings(db))

    def _online(self, uuid: str, delay: float) -> None:
        with self.store.lock:
            if self.store.get("databases", uuid) is not None:
                with self.store.editing("databases", uuid) as db:
                    self.store.schedule(db, delay, {"status": "online"})

    def _sync_server(self, db: dict) -> None:
        """The live server takes the cluster's password and eviction policy: at once when it runs (the request
        waits, and fails when the server refuses), after its start when it is still starting."""
        if not db.get("_server") or self.sb.caching is None:
            return
        uuid, caching = db["id"], self.sb.caching

        def job() -> None:
            current = self.store.get("databases", uuid)
            if current is not None:
                caching.apply(uuid, server_settings(current))

        done = caching.submit(uuid, job)
        if db["status"] == "creating":
            return
        try:
            done.result(timeout=60)
        except Exception as exc:
            raise APIError(500, "the cluster's server did not take the change; try again") from exc

    def servers(self) -> dict[str, dict]:
        """Every cluster server by cluster id: its container, addresses, port and whether it answers."""
        caching = self.sb.caching
        if caching is None:
            return {}
        found = {}
        for db in self.store.all("databases"):
            if not db.get("_server"):
                continue
            port = catalog.DB_ENGINES.get(db["engine"], {}).get("port", 25061)
            public_ip, private_ip = db["_addresses"]["public"], db["_addresses"]["private"]
            found[db["id"]] = {
                "container": caching.container_name(db["id"]),
                "public_ip": public_ip,
                "private_ip": private_ip,
                "host": _hosts(db)[0],
                "private_host": _hosts(db)[1],
                "port": port,
                "up": caching.state(db["id"]) == "running" and server_answers(public_ip, port, caching.ca_file),
            }
        return found

    def reconcile(self) -> None:
        """After a restart: servers follow the store; servers of clusters that are gone are removed."""
        caching = self.sb.caching
        if caching is None:
            return
        owned = caching.owned()
        clusters = {d["id"]: d for d in self.store.all("databases") if d.get("_server")}
        for uuid in set(owned) - set(clusters):
            log.info("removing the server of deleted cluster %s", uuid)
            caching.submit(uuid, caching.destroy, uuid)
        for uuid in clusters:
            caching.submit(uuid, self._recover, uuid, owned.get(uuid) is None)

    def _recover(self, uuid: str, missing: bool) -> None:
        db = self.store.get("databases", uuid)
        if db is None:
            return
        port = catalog.DB_ENGINES.get(db["engine"], {}).get("port", 25061)
        if missing:
            log.warning("cluster %s lost its server; starting a new one", uuid)
            self._boot_server(uuid)
        else:
            if self.sb.caching.state(uuid) != "running":
                self.sb.caching.start(uuid, db["_addresses"]["public"], port)
            self.sb.caching.apply(uuid, server_settings(db))
        if db["status"] == "creating":  # its start was cut short: finish it
            self._online(uuid, 0)

    def reset(self) -> None:
        """Every cluster server of this sandbox goes (``/_sandbox/reset``)."""
        if self.sb.caching is not None:
            self.sb.caching.remove_all()
