"""Account, regions, sizes, SSH keys, tags and the global actions list."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time

from fastapi import APIRouter, Depends, Request, Response

from .. import catalog
from ..core import APIError, Sandbox, not_found, paginate, unprocessable
from ..models import SshKeyCreate, SshKeyUpdate, TagCreate, TagResources
from ._deps import ACCOUNT_UUID, must_get, sandbox, view

router = APIRouter()


@router.get("/v2/account")
async def account_get(sb: Sandbox = Depends(sandbox)) -> dict:
    return {
        "account": {
            "droplet_limit": 25,
            "floating_ip_limit": 3,
            "volume_limit": 100,
            "email": "ops@oxy.so",
            "name": "Oxy Ops",
            "uuid": ACCOUNT_UUID,
            "email_verified": True,
            "status": "active",
            "status_message": "",
            "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "Oxy"},
        }
    }


@router.get("/v2/regions")
async def regions_list(request: Request) -> dict:
    return paginate(request, "regions", catalog.regions())


@router.get("/v2/sizes")
async def sizes_list(request: Request) -> dict:
    return paginate(request, "sizes", catalog.sizes())


# -- SSH keys ------------------------------------------------------------------------
def fingerprint(public_key: str) -> str:
    parts = public_key.strip().split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise unprocessable("public_key: Key invalid, type not supported")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise unprocessable("public_key: Key invalid, not a base64 key blob") from exc
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def find_ssh_key(sb: Sandbox, ident: str | int) -> dict | None:
    key = sb.store.get("ssh_keys", ident)
    if key is None:
        key = next(sb.store.find("ssh_keys", fingerprint=str(ident)), None)
    return key


@router.get("/v2/account/keys")
async def ssh_keys_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    keys = sorted(sb.store.all("ssh_keys"), key=lambda k: k["id"])
    return paginate(request, "ssh_keys", keys, view)


@router.post("/v2/account/keys", status_code=201)
async def ssh_keys_create(body: SshKeyCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    fp = fingerprint(body.public_key)
    if next(sb.store.find("ssh_keys", fingerprint=fp), None):
        raise unprocessable("public_key: SSH Key is already in use on your account")
    key = {
        "id": sb.store.next_id("ssh_key", 3000001),
        "fingerprint": fp,
        "public_key": body.public_key.strip(),
        "name": body.name,
    }
    sb.store.put("ssh_keys", key["id"], key)
    return {"ssh_key": view(key)}


@router.get("/v2/account/keys/{ident}")
async def ssh_keys_get(ident: str, sb: Sandbox = Depends(sandbox)) -> dict:
    key = find_ssh_key(sb, ident)
    if key is None:
        raise not_found()
    return {"ssh_key": view(key)}


@router.put("/v2/account/keys/{ident}")
async def ssh_keys_update(ident: str, body: SshKeyUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    key = find_ssh_key(sb, ident)
    if key is None:
        raise not_found()
    key["name"] = body.name
    sb.store.put("ssh_keys", key["id"], key)
    return {"ssh_key": view(key)}


@router.delete("/v2/account/keys/{ident}", status_code=204)
async def ssh_keys_delete(ident: str, sb: Sandbox = Depends(sandbox)) -> Response:
    key = find_ssh_key(sb, ident)
    if key is None:
        raise not_found()
    sb.store.delete("ssh_keys", key["id"])
    return Response(status_code=204)


# -- Tags -------------------------------------------------------------------------------
TAGGABLE = {"droplet": ("droplets", "droplets"), "database": ("databases", "databases")}


def ensure_tags(sb: Sandbox, names: list[str] | None) -> None:
    for name in names or []:
        if sb.store.get("tags", name) is None:
            sb.store.put("tags", name, {"name": name})


def tag_view(sb: Sandbox, name: str) -> dict:
    counts = {}
    total = 0
    last_uri = ""
    for _kind, (collection, key) in {
        **TAGGABLE,
        "image": ("", "images"),
        "volume": ("", "volumes"),
        "volume_snapshot": ("", "volume_snapshots"),
    }.items():
        tagged = [o for o in sb.store.all(collection) if name in (o.get("tags") or [])] if collection else []
        last = ""
        if tagged:
            newest = max(tagged, key=lambda o: o.get("_tagged", {}).get(name, 0))
            last = f"https://api.digitalocean.com/v2/{collection}/{newest['id']}"
            last_uri = last
        counts[key] = {"count": len(tagged), "last_tagged_uri": last}
        total += len(tagged)
    return {"name": name, "resources": {"count": total, "last_tagged_uri": last_uri, **counts}}


@router.get("/v2/tags")
async def tags_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    names = sorted(t["name"] for t in sb.store.all("tags"))
    return paginate(request, "tags", names, lambda n: tag_view(sb, n))


@router.post("/v2/tags", status_code=201)
async def tags_create(body: TagCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    ensure_tags(sb, [body.name])
    return {"tag": tag_view(sb, body.name)}


@router.get("/v2/tags/{name}")
async def tags_get(name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    must_get(sb, "tags", name)
    return {"tag": tag_view(sb, name)}


@router.delete("/v2/tags/{name}", status_code=204)
async def tags_delete(name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    must_get(sb, "tags", name)
    for collection, _ in TAGGABLE.values():
        for obj in sb.store.all(collection):
            if name in (obj.get("tags") or []):
                obj["tags"].remove(name)
                sb.store.put(collection, obj["id"], obj)
    sb.store.delete("tags", name)
    return Response(status_code=204)


def _tag_targets(sb: Sandbox, body: TagResources) -> list[tuple[str, dict]]:
    targets = []
    for res in body.resources:
        if res.resource_type not in TAGGABLE:
            raise APIError(400, f"resources: tagging {res.resource_type} resources is not supported by the sandbox")
        collection = TAGGABLE[res.resource_type][0]
        obj = sb.store.get(collection, res.resource_id)
        if obj is None:
            raise not_found()
        targets.append((collection, obj))
    return targets


@router.post("/v2/tags/{name}/resources", status_code=204)
async def tags_assign(name: str, body: TagResources, sb: Sandbox = Depends(sandbox)) -> Response:

    must_get(sb, "tags", name)
    for collection, obj in _tag_targets(sb, body):
        obj["tags"] = obj.get("tags") or []
        if name not in obj["tags"]:
            obj["tags"].append(name)
        obj.setdefault("_tagged", {})[name] = time.time()
        sb.store.put(collection, obj["id"], obj)
    return Response(status_code=204)


@router.delete("/v2/tags/{name}/resources", status_code=204)
async def tags_unassign(name: str, body: TagResources, sb: Sandbox = Depends(sandbox)) -> Response:
    must_get(sb, "tags", name)
    for collection, obj in _tag_targets(sb, body):
        if name in (obj.get("tags") or []):
            obj["tags"].remove(name)
            sb.store.put(collection, obj["id"], obj)
    return Response(status_code=204)


# -- Actions ---------------------------------------------------------------------------
@router.get("/v2/actions")
async def actions_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    actions = sorted(sb.store.all("actions"), key=lambda a: -a["id"])
    return paginate(request, "actions", actions, view)


@router.get("/v2/actions/{action_id}")
async def actions_get(action_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"action": view(must_get(sb, "actions", action_id))}
