"""Account, regions, sizes, SSH keys, tags and the global actions list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from .. import catalog
from ..core import Sandbox, paginate
from ..models import SshKeyCreate, SshKeyUpdate, TagCreate, TagResources
from ._deps import sandbox, view

router = APIRouter()


@router.get("/v2/account")
async def account_get(sb: Sandbox = Depends(sandbox)) -> dict:
    return {"account": sb.account.info()}


@router.get("/v2/regions")
async def regions_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    """DigitalOcean's regions; one taken away by the ``regions_down`` fault shows ``available: false``, as a
    region that accepts no new resources does."""
    return paginate(
        request,
        "regions",
        [dict(r, available=r["available"] and r["slug"] not in sb.regions.down) for r in catalog.regions()],
    )


@router.get("/v2/sizes")
async def sizes_list(request: Request) -> dict:
    return paginate(request, "sizes", catalog.sizes())


# -- SSH keys ------------------------------------------------------------------------
@router.get("/v2/account/keys")
async def ssh_keys_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "ssh_keys", sb.account.keys(), view)


@router.post("/v2/account/keys", status_code=201)
async def ssh_keys_create(body: SshKeyCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"ssh_key": view(sb.account.create_key(body.name, body.public_key))}


@router.get("/v2/account/keys/{ident}")
async def ssh_keys_get(ident: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"ssh_key": view(sb.account.get_key(ident))}


@router.put("/v2/account/keys/{ident}")
async def ssh_keys_update(ident: str, body: SshKeyUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"ssh_key": view(sb.account.rename_key(ident, body.name))}


@router.delete("/v2/account/keys/{ident}", status_code=204)
async def ssh_keys_delete(ident: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.account.delete_key(ident)
    return Response(status_code=204)


# -- Tags -------------------------------------------------------------------------------
@router.get("/v2/tags")
async def tags_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "tags", sb.account.tag_names(), sb.account.tag_view)


@router.post("/v2/tags", status_code=201)
async def tags_create(body: TagCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"tag": sb.account.create_tag(body.name)}


@router.get("/v2/tags/{name}")
async def tags_get(name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"tag": sb.account.get_tag(name)}


@router.delete("/v2/tags/{name}", status_code=204)
async def tags_delete(name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.account.delete_tag(name)
    return Response(status_code=204)


@router.post("/v2/tags/{name}/resources", status_code=204)
async def tags_assign(name: str, body: TagResources, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.account.tag_resources(name, body.resources)
    return Response(status_code=204)


@router.delete("/v2/tags/{name}/resources", status_code=204)
async def tags_unassign(name: str, body: TagResources, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.account.untag_resources(name, body.resources)
    return Response(status_code=204)


# -- Actions ---------------------------------------------------------------------------
@router.get("/v2/actions")
async def actions_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "actions", sb.account.actions(), view)


@router.get("/v2/actions/{action_id}")
async def actions_get(action_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"action": view(sb.account.action(action_id))}
