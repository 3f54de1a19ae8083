"""The FastAPI application: routing, auth, rate limits, injected faults and the request log."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from . import routes
from .backends import nameserver, relay
from .backends.caching import CacheServers
from .backends.machines import PUBLIC_BRIDGE, PUBLIC_RANGE, Machines, instance_id
from .backends.netfilter import Enforcer
from .backends.registry import HOSTNAME as registry_host
from .backends.registry import Registry
from .core import Sandbox, Settings
from .coverage import Coverage
from .errors import ERROR_IDS, NOT_FOUND, APIError
from .scopes import required_scope
from .store import Missing, Store
from .tls import PUBLIC_CA_DIR

log = logging.getLogger("oxy_sandbox")

# DigitalOcean answers body errors on these operations with 400 rather than 422 (they declare 400).
_BAD_REQUEST_PATHS = ("/v2/firewalls", "/v2/tags", "/v2/uptime", "/v2/monitoring")
# Its monitoring services word a missing field their own way: "missing required field 'enabled'".
_MISSING_FIELD_PATHS = ("/v2/uptime", "/v2/monitoring")
_CONTROL_PREFIX = "/_sandbox"


def error_response(
    status: int, message: str, error_id: str | None = None, headers: dict | None = None, path: str = ""
) -> JSONResponse:
    if status == 400 and path.startswith("/v2/tags"):
        # The tags endpoints answer bad requests in their own shape (error_with_root_causes).
        body = {"error": message, "messages": [message], "root_causes": [message]}
    else:
        body = {"id": error_id or ERROR_IDS.get(status, "error"), "message": message, "request_id": str(uuid.uuid4())}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_message(exc: RequestValidationError, path: str = "") -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        field = ".".join(loc) or "body"
        msg = err.get("msg", "is invalid").removeprefix("Value error, ")
        if err.get("type") == "missing" and path.startswith(_MISSING_FIELD_PATHS):
            parts.append(f"missing required field '{field}'")
            continue
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)


def create_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(
        title="oxy.infra DigitalOcean sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json"
    )
    app.state.sandbox = sandbox

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.error_id, path=request.url.path)

    @app.exception_handler(Missing)
    async def _gone(request: Request, exc: Missing) -> JSONResponse:
        return error_response(404, NOT_FOUND, path=request.url.path)  # gone between its lookup and its change

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if malformed:
            detail = (malformed[0].get("ctx") or {}).get("error", "")
            message = f"The request body is not valid JSON{': ' + detail if detail else ''}."
            return error_response(400, message, path=request.url.path)
        status = 400 if request.url.path.startswith(_BAD_REQUEST_PATHS) else 422
        return error_response(status, _field_message(exc, request.url.path), path=request.url.path)

    @app.exception_handler(HTTPException)
    async def _routing(request: Request, exc: HTTPException) -> JSONResponse:
        # What routing itself refuses (no such path, no such method) in DigitalOcean's error body.
        if exc.status_code == 404:
            message = NOT_FOUND
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}."
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, message, headers=dict(exc.headers or {}), path=request.url.path)

    @app.middleware("http")
    async def _gate(request: Request, call_next) -> Response:
        path = request.url.path
        if path.startswith(_CONTROL_PREFIX):
            return await call_next(request)
        sb: Sandbox = request.app.state.sandbox
        started = time.perf_counter()
        injected = ""
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        rate_headers: dict[str, str] = {}
        if not token:
            rate_headers = sb.limiter.peek(token, sb.settings, time.time())
            response: Response = error_response(401, "Unable to authenticate you.")
        else:
            rate_headers, retry_after = sb.limiter.hit(token, sb.settings, time.time())
            if retry_after is not None:
                extra = {"retry-after": str(retry_after)} if retry_after else {}
                response = error_response(429, "API rate limit exceeded.", headers=extra)
            elif (scope := required_scope(request.method, path)) and not sb.tokens.allows(token, scope):
                response = error_response(403, f"You are missing the required permission {scope}.")
            elif refused := request.app.state.coverage.refusal(request.method, path):
                error, headers = refused
                response = error_response(error.status, error.message, error.error_id, headers=headers, path=path)
            elif outage := sb.regions.refusal(path, request.method):  # a resource of a region that is down
                response = error_response(outage.status, outage.message, outage.error_id, path=path)
            else:
                with sb.serving(token):
                    response, injected = await _with_faults(sb, request, call_next)
                if request.method not in ("GET", "HEAD"):
                    # Rules follow firewalls, droplets and tags; also after an error, which may come after
                    # the change took effect (a no-op when nothing changed).
                    sb.networking.sync_firewalls()
        response.headers.update(rate_headers)
        route = request.scope.get("route")
        sb.log.add(
            t=time.time(),
            method=request.method,
            path=path,
            query=request.url.query,
            route=getattr(route, "path", path),
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 3),
            fault=injected,
        )
        return response

    for router in routes.ROUTERS:
        app.include_router(router)
    app.state.coverage = Coverage(
        (method, route.path)
        for router in routes.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    )
    app.add_middleware(_TrailingSlash)
    return app


class _TrailingSlash:
    """``/v2/droplets/`` is ``/v2/droplets``, as on DigitalOcean (python-digitalocean asks for ``droplets/``)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v2/") and path.endswith("/"):
            raw = scope.get("raw_path")
            scope = {**scope, "path": path.rstrip("/"), "raw_path": raw.rstrip(b"/") if raw else raw}
        await self.app(scope, receive, send)


async def _with_faults(sb: Sandbox, request: Request, call_next) -> tuple[Response, str]:
    faults = sb.faults
    if not faults.matches(request.method, request.url.path):
        return await call_next(request), ""
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.count is not None:
        if faults.count <= 0:
            return await call_next(request), ""
        faults.count -= 1
    elif not faults.rate or sb.random.random() >= faults.rate:
        return await call_next(request), ""
    status = sb.random.choice(faults.statuses)
    phase = faults.phase if faults.phase != "any" else sb.random.choice(["before", "after"])
    if status == 429:
        phase = "before"  # DigitalOcean never applies a request it answers with 429
    if phase == "after":
        await call_next(request)  # the change happens; the client still sees an error
    headers = {}
    if status == 429 and faults.retry_after is not None:
        headers["retry-after"] = str(faults.retry_after)
    message = "API rate limit exceeded." if status == 429 else "Server was not able to process the request (injected)."
    return error_response(status, message, headers=headers), f"{phase}:{status}"


def build(state: str | None = None, backends: dict | None = None, **settings) -> FastAPI:
    """A ready app over a store at ``state`` (a SQLite path, or memory when None).

    ``backends`` (``machines``: auto|off, ``droplet_image``, ``valkey_image``, ``public_range``, ``tls_dir``,
    ``registry_dir``) gives droplets real machines, and Valkey clusters real servers, where this machine can
    run them.
    """
    sandbox = Sandbox(Store(state), Settings(**settings))
    sandbox.projects.default()  # what every fresh account has
    if backends and backends.get("machines", "auto") != "off":
        attach_backends(sandbox, state, **{k: v for k, v in backends.items() if k != "machines"})
    # The uptime probes trust the sandbox's CA and its stand-in for a public CA (``tls.ensure_public_ca``),
    # besides the system's CAs.
    tls_dir = (backends or {}).get("tls_dir")
    trusted = [Path(tls_dir) / "ca.pem", Path(tls_dir) / PUBLIC_CA_DIR / "root.crt"] if tls_dir else []
    pems = [path.read_bytes().strip() + b"\n" for path in trusted if path.exists()]
    if pems:
        sandbox.monitoring.ca_pem = b"".join(pems)
    sandbox.monitoring.start()  # uptime checks are probed, alert policies evaluated, every uptime_interval
    return create_app(sandbox)


def attach_backends(
    sb: Sandbox,
    state: str | None,
    droplet_image: str | None = None,
    valkey_image: str | None = None,
    public_range: str = PUBLIC_RANGE,
    tls_dir: Path | None = None,
    registry_dir: Path | None = None,
) -> None:
    """Machines, enforced firewalls, the registry and cluster servers, each as far as this machine allows;
    says which."""
    instance = instance_id(state)
    ca_pem = (tls_dir / "ca.pem").read_bytes() if tls_dir and (tls_dir / "ca.pem").exists() else None
    disk_dir = Path(state).parent / "disks" if state else None  # bounded droplet disks (droplet_disk_gib)
    machines, why = Machines.connect(droplet_image, instance, public_range, ca_pem, disk_dir)
    if machines is None:
        sb.machines_note = f"droplets have no machines: {why}"
        sb.caching_note = f"Valkey clusters have no servers: {why}"
        log.warning("%s", sb.machines_note)
        return
    sb.machines = machines
    machines.disk_gib = lambda: sb.settings.droplet_disk_gib
    stale = machines.prune_networks(keep=machines.instances() | {instance})
    if stale:
        log.warning("removed VPC networks of sandboxes with no machine left: %s", ", ".join(stale))
    if Enforcer.available():
        sb.netfilter = Enforcer(instance, reserved=machines.public.reserved(), bridge=PUBLIC_BRIDGE)
        stale = Enforcer.prune(keep=machines.instances() | {instance})
        if stale:
            log.warning("removed firewall chains of sandboxes with no machine left: %s", ", ".join(stale))
    else:
        log.warning("iptables is not usable here: cloud firewalls are recorded, not enforced")
    # One slot of service addresses per sandbox on this machine (the first free one: a restarted sandbox
    # comes back on the same addresses unless another took them meanwhile).
    slot = next(
        (s for s in machines.public.service_slots() if not any(machines.serving(s[k], SLOT_PORTS[k]) for k in s)),
        None,
    )
    if slot is None:
        log.warning("no free service addresses on the public network: no registry, DNS server or mail relay")
    elif registry_dir and tls_dir and Registry.available():
        if machines.claim_address(slot["registry"], SLOT_PORTS["registry"]):
            sb.registry = Registry(registry_dir, tls_dir, slot["registry"])
            machines.registry_address = slot["registry"]
            try:
                sb.registry.start()
            except RuntimeError as exc:
                log.warning("%s", exc)
                sb.registry = None
    else:
        log.warning("no container registry: Debian's docker-registry is not installed")
    if slot is not None:
        start_mail(sb, machines, slot, tls_dir)
    sb.machines_note = "droplets are machines"
    log.warning(
        "droplets are machines (image %s) on %s; registry: %s; DNS: %s; mail relay: %s",
        droplet_image,
        public_range,
        sb.registry.address if sb.registry else "none",
        sb.dns.address if sb.dns else "none",
        sb.relay.address if sb.relay else "none",
    )
    sb.droplets.reconcile()
    sb.caching, why = CacheServers.connect(machines, valkey_image, tls_dir)
    sb.caching_note = "Valkey clusters have servers" if sb.caching else f"Valkey clusters have no servers: {why}"
    log.warning("%s", sb.caching_note)
    sb.databases.reconcile()


# What answers on each address of a service slot (another sandbox holds the slot when one of them does).
SLOT_PORTS = {"registry": (443,), "dns": (nameserver.PORT,), "relay": (relay.SUBMISSION_PORT, relay.MX_PORT)}


def start_mail(sb: Sandbox, machines: Machines, slot: dict[str, str], tls_dir: Path | None) -> None:
    """The sandbox's DNS server and mail relay stand-in on the slot's addresses, as far as they can start."""
    if tls_dir and machines.claim_address(slot["relay"], SLOT_PORTS["relay"]):
        service = relay.Relay(sb.store, slot["relay"], tls_dir, lambda: sb.settings.relay_password)
        try:
            service.start()
            sb.relay = service
        except Exception as exc:  # noqa: BLE001 - the sandbox serves without a relay, and says why
            log.warning("no mail relay on %s: %s", slot["relay"], exc)

    def services() -> tuple[dict[str, str], dict[str, str]]:
        hosts = {registry_host: machines.registry_address}
        texts = {}
        if sb.relay is not None:
            hosts[relay.HOSTNAME] = sb.relay.address
            texts[relay.SPF_NAME] = f"v=spf1 ip4:{sb.relay.address} -all"
        return hosts, texts

    if machines.claim_address(slot["dns"], SLOT_PORTS["dns"]):
        server = nameserver.DnsServer(nameserver.Answers(sb, services, machines.public.subnet), slot["dns"])
        try:
            server.start()
            sb.dns = server
            machines.dns_address = server.address
        except OSError as exc:
            log.warning("no DNS server on %s:53: %s", slot["dns"], exc)


def detach_backends(sb: Sandbox) -> None:
    """The sandbox stops: its registry, DNS server and mail relay stop; machines, cluster servers and firewall
    rules stay, as droplets and clusters outlive the API."""
    sb.monitoring.stop()
    if sb.registry is not None:
        sb.registry.stop()
    if sb.dns is not None:
        sb.dns.stop()
    if sb.relay is not None:
        sb.relay.stop()
    if sb.caching is not None:
        sb.caching.close()
    if sb.machines is not None:
        sb.machines.close()
