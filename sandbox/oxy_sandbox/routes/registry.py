"""The container registry (DOCR): one per account, and the Docker credentials that reach it."""

from __future__ import annotations

import base64
import hashlib

from fastapi import APIRouter, Depends, Request, Response

from ..core import APIError, Sandbox, not_found, now_iso
from ..models import RegistryCreate, RegistrySubscription
from ._deps import sandbox, view

router = APIRouter()
_ID = "registry"


# slug -> name, included repositories (0: unlimited), storage bytes, monthly price in cents
_TIERS = {
    "starter": ("Starter", 1, 500 * 2**20, 0),
    "basic": ("Basic", 5, 5 * 2**30, 500),
    "professional": ("Professional", 0, 100 * 2**30, 2000),
}


def _subscription(registry: dict) -> dict:
    name, repos, storage, price = _TIERS[registry["_tier"]]
    tier = {
        "name": name,
        "slug": registry["_tier"],
        "included_repositories": repos,
        "included_storage_bytes": storage,
        "allow_storage_overage": registry["_tier"] != "starter",
        "included_bandwidth_bytes": storage,
        "monthly_price_in_cents": price,
    }
    return {"tier": tier, "created_at": registry["created_at"], "updated_at": registry.get("_tier_at", now_iso())}


def _registry_view(sb: Sandbox, registry: dict) -> dict:
    out = view(registry)
    out["storage_usage_bytes"] = 0
    out["storage_usage_bytes_updated_at"] = now_iso()
    out["subscription"] = _subscription(registry)
    return out


def _must(sb: Sandbox) -> dict:
    registry = sb.store.get("registries", _ID)
    if registry is None:
        raise not_found()
    return registry


@router.get("/v2/registry")
async def registry_get(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"registry": _registry_view(sb, _must(sb))}


@router.post("/v2/registry", status_code=201)
async def registry_create(body: RegistryCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    if sb.store.get("registries", _ID) is not None:
        raise APIError(409, "this account already has a container registry")
    registry = {
        "name": body.name,
        "region": body.region or "nyc3",
        "created_at": now_iso(),
        "_tier": body.subscription_tier_slug,
    }
    return {"registry": _registry_view(sb, sb.store.put("registries", _ID, registry))}


@router.delete("/v2/registry", status_code=204)
async def registry_delete(sb: Sandbox = Depends(sandbox)) -> Response:
    _must(sb)
    sb.store.delete("registries", _ID)
    return Response(status_code=204)


@router.get("/v2/registry/subscription")
async def registry_subscription(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"subscription": _subscription(_must(sb))}


@router.post("/v2/registry/subscription")
async def registry_update_subscription(body: RegistrySubscription, sb: Sandbox = Depends(sandbox)) -> dict:
    registry = _must(sb)
    registry.update(_tier=body.tier_slug, _tier_at=now_iso())
    sb.store.put("registries", _ID, registry)
    return {"subscription": _subscription(registry)}


@router.get("/v2/registry/docker-credentials")
async def registry_docker_credentials(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    """A Docker config.json for registry.digitalocean.com, as DigitalOcean answers it.

    The sandbox's registry checks one account-wide credential; without a registry process (no
    Docker engine here) the answer is still well formed, derived from the token as DOCR does.
    """
    _must(sb)
    if sb.registry is not None:
        return sb.registry.docker_config()
    token = request.headers.get("authorization", "")[7:].strip()
    secret = hashlib.sha256(token.encode()).hexdigest()[:32]
    auth = base64.b64encode(f"{secret}:{secret}".encode()).decode()
    return {"auths": {"registry.digitalocean.com": {"auth": auth}}}
