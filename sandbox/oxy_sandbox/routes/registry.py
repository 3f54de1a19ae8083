"""The container registry (DOCR): one per account, and the Docker credentials that reach it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..core import Sandbox
from ..models import RegistryCreate, RegistrySubscription
from ._deps import bearer, sandbox

router = APIRouter()


@router.get("/v2/registry")
async def registry_get(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"registry": sb.account.registry()}


@router.post("/v2/registry", status_code=201)
async def registry_create(body: RegistryCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"registry": sb.account.create_registry(body.name, body.region, body.subscription_tier_slug)}


@router.delete("/v2/registry", status_code=204)
async def registry_delete(sb: Sandbox = Depends(sandbox)) -> Response:
    sb.account.delete_registry()
    return Response(status_code=204)


@router.get("/v2/registry/subscription")
async def registry_subscription(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"subscription": sb.account.subscription()}


@router.post("/v2/registry/subscription")
async def registry_update_subscription(body: RegistrySubscription, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"subscription": sb.account.change_subscription(body.tier_slug)}


@router.get("/v2/registry/docker-credentials")
async def registry_docker_credentials(
    request: Request, expiry_seconds: int = 0, read_write: bool = False, sb: Sandbox = Depends(sandbox)
) -> dict:
    """A Docker config.json for registry.digitalocean.com, as DigitalOcean answers it."""
    return sb.account.docker_credentials(bearer(request), expiry_seconds=expiry_seconds, read_write=read_write)
