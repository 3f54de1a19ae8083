"""The FastAPI application: routing, auth, rate limits, injected faults and the request log."""

from __future__ import annotations

import asyncio
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from . import routes
from .core import ERROR_IDS, APIError, Sandbox, Settings
from .store import Store

# DigitalOcean answers body errors on these operations with 400 rather than 422 (they declare 400).
_BAD_REQUEST_PATHS = ("/v2/firewalls", "/v2/tags")
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


def _field_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        field = ".".join(loc) or "body"
        msg = err.get("msg", "is invalid").removeprefix("Value error, ")
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

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status = 400 if request.url.path.startswith(_BAD_REQUEST_PATHS) else 422
        return error_response(status, _field_message(exc), path=request.url.path)

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
            response: Response = error_response(401, "Unable to authenticate you.")
        else:
            rate_headers, retry_after = sb.limiter.hit(token, sb.settings, time.time())
            if retry_after is not None:
                extra = {"retry-after": str(retry_after)} if retry_after else {}
                response = error_response(429, "API rate limit exceeded.", headers=extra)
            else:
                response, injected = await _with_faults(sb, request, call_next)
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
    return app


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
    if phase == "after":
        await call_next(request)  # the change happens; the client still sees an error
    headers = {}
    if status == 429 and faults.retry_after is not None:
        headers["retry-after"] = str(faults.retry_after)
    message = "API rate limit exceeded." if status == 429 else "Server was not able to process the request (injected)."
    return error_response(status, message, headers=headers), f"{phase}:{status}"


def build(state: str | None = None, **settings) -> FastAPI:
    """A ready app over a store at ``state`` (a SQLite path, or memory when None)."""
    sandbox = Sandbox(Store(state), Settings(**settings))
    routes.seed(sandbox)
    return create_app(sandbox)
