"""The sandbox's own endpoints under /_sandbox: health, settings, faults, tokens, request log, reset.

They need no token, are never rate limited, faulted or logged.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core import Faults, Sandbox, Settings
from ..errors import APIError
from ..scopes import SCOPE_PATTERN
from ._deps import sandbox

router = APIRouter(prefix="/_sandbox")


@router.get("/health")
async def health(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"status": "ok", "requests": sb.log.seq}


@router.get("/config")
async def config_get(sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.settings.model_dump()


@router.put("/config")
async def config_put(body: dict, sb: Sandbox = Depends(sandbox)) -> dict:
    try:
        sb.settings = Settings(**{**sb.settings.model_dump(), **body})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise APIError(422, f"sandbox settings refused: {problems}") from exc
    sb.networking.sync_firewalls()  # smtp_outbound_blocked: the machines' outbound port 25 follows at once
    return sb.settings.model_dump()


@router.get("/machines")
def machines(sb: Sandbox = Depends(sandbox)) -> dict:
    """Whether droplets are real machines here, the public network they live on, the sandbox's services on it
    (registry, DNS server, mail relay stand-in), and the servers of Valkey clusters (by cluster id: container,
    public and private IPv4, host names, port, whether it answers).

    It asks Docker and the servers: it runs off the event loop (a plain ``def``).
    """
    mail = sb.mail.describe()
    if sb.machines is None:
        return {"enabled": False, "reason": sb.machines_note, **mail}
    info = {**sb.machines.describe(), **mail}
    info["enabled"] = sb.settings.machines
    info["firewalls_enforced"] = sb.netfilter is not None
    info["registry"] = sb.registry.address if sb.registry else None
    info["valkey_image"] = sb.caching.image if sb.caching else None
    info["valkey_servers"] = sb.caching_note
    info["databases"] = sb.databases.servers()
    return info


@router.get("/faults")
async def faults_get(sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.faults.model_dump()


@router.put("/faults")
async def faults_put(body: Faults, sb: Sandbox = Depends(sandbox)) -> dict:
    sb.set_faults(body)
    return sb.faults.model_dump()


@router.delete("/faults")
async def faults_clear(sb: Sandbox = Depends(sandbox)) -> dict:
    sb.set_faults(Faults())
    return sb.faults.model_dump()


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[str] = Field(description="exactly the scopes the token holds, e.g. database:read")


@router.post("/tokens", status_code=201)
async def tokens_mint(body: TokenRequest, sb: Sandbox = Depends(sandbox)) -> dict:
    """A new API token holding exactly ``scopes`` (any token not minted here has every scope)."""
    bad = [s for s in body.scopes if not re.match(SCOPE_PATTERN, s)]
    if bad:
        raise APIError(422, f"scopes: {bad} are not scopes of the form <resource>:<action>")
    scopes = sorted(set(body.scopes))
    return {"token": sb.tokens.mint(scopes), "scopes": scopes}


@router.get("/requests")
async def requests_list(since: int = 0, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"requests": sb.log.since(since), "last_seq": sb.log.seq}


@router.get("/requests/summary")
async def requests_summary(since: int = 0, sb: Sandbox = Depends(sandbox)) -> dict:
    return sb.log.summary(since)


@router.get("/coverage")
async def coverage(request: Request) -> dict:
    """DigitalOcean's operations (from its OpenAPI spec) per resource family: which the sandbox implements,
    which it answers with 501 ``not_implemented``, and the families it does not model at all."""
    return request.app.state.coverage.describe()


@router.get("/secrets")
async def secrets(sb: Sandbox = Depends(sandbox)) -> dict:
    """Every password the sandbox has issued, so tests can prove none of them reaches output: the databases'
    (``secrets``), the registry's (``registry``; its user names are the same secrets) and the mail relay's
    (``relay``: the password of its user oxy-relay)."""
    return {
        "secrets": sb.databases.secrets(),
        "registry": sb.registry.secrets() if sb.registry else [],
        "relay": sb.mail.secrets(),
    }


@router.get("/mail/messages")
async def mail_messages(sb: Sandbox = Depends(sandbox)) -> dict:
    """Every message the mail relay stand-in accepted, oldest first: ``{"messages": [{"id", "received_at",
    "port" (587 or 25), "client_address", "helo", "tls", "auth_user", "mail_from", "rcpt_tos", "data"}]}``;
    ``data`` is the message's raw RFC 5322 text."""
    return {"messages": sb.mail.messages()}


@router.delete("/mail/messages")
async def mail_messages_clear(sb: Sandbox = Depends(sandbox)) -> dict:
    """Forget every message the relay kept."""
    sb.mail.forget()
    return {"messages": []}


@router.post("/droplets/{droplet_id}/backup", status_code=201)
def droplet_backup(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    """Take a backup of a droplet with backups on now (DigitalOcean takes one in its policy's window):
    ``{"image", "action"}``; the policy's retention drops the oldest. With machines it copies the disk."""
    return sb.images.backup(droplet_id)


@router.post("/databases/{cluster_id}/backup", status_code=201)
def database_backup(cluster_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    """Take a cluster's daily backup now: ``{"created_at", "size_gigabytes"}``; backups older than seven
    days are dropped."""
    return sb.databases.take_backup(cluster_id)


@router.post("/reset")
def reset(sb: Sandbox = Depends(sandbox)) -> dict:
    """Forget every resource, fault, rate-limit window, minted token and logged request; settings stay.

    Removing machines and their disks takes a while: it runs off the event loop (a plain ``def``).
    """
    sb.reset()
    return {"status": "reset"}
