"""Droplets and droplet actions."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from .. import catalog
from ..backends.droplets import POWER, create_machine, destroy_machine, machine_action, machines_on
from ..core import APIError, Sandbox, not_found, now_iso, paginate, unprocessable
from ..models import DropletAction, DropletCreate
from ._deps import assign_to_project, forget, must_get, sandbox, view
from .basics import ensure_tags, find_ssh_key
from .vpcs import allocate_private_ip, check_region, region_default_vpc

router = APIRouter()

# Public addresses: the sandbox's public network (198.51.100.0/24, RFC 5737 documentation space,
# unless configured otherwise). Machine-less droplets take them too, and may share one once the
# range is used up; a droplet with a machine never does.
_PUBLIC_DEFAULT = "198.51.100.0/24"
MACHINE_ACTIONS = {*POWER, "resize"}
TAG_ACTIONS = {
    "power_cycle",
    "power_on",
    "power_off",
    "shutdown",
    "enable_ipv6",
    "enable_backups",
    "disable_backups",
    "snapshot",
}


def _public_ip(sb: Sandbox, machine: bool) -> tuple[str, str, str]:
    """(address, netmask, gateway) on the public network; the lowest one no droplet holds."""
    net = ipaddress.ip_network(sb.machines.public.subnet if sb.machines else _PUBLIC_DEFAULT)
    pool = sb.machines.public.pool() if sb.machines else [str(h) for h in list(net.hosts())[1:-6]]
    taken = {(d.get("_addresses") or {}).get("public") for d in sb.store.all("droplets")}
    if machine:
        taken |= sb.machines.used_public_addresses()
    free = [a for a in pool if a not in taken]
    if not free:
        if machine:
            raise unprocessable("the sandbox's public network has no address left for another droplet")
        free = [pool[sb.store.next_id("public_ip_wrap", 0) % len(pool)]]
    return free[0], str(net.netmask), str(net.network_address + 1)


def new_action(
    sb: Sandbox,
    kind: str,
    resource_id: int | None,
    region: str,
    delay: float | None,
    resource_type: str = "droplet",
) -> dict:
    """An action; it completes after ``delay`` seconds, or when a machine says so (``delay=None``)."""
    action = {
        "id": sb.store.next_id("action", 2000000001),
        "status": "in-progress",
        "type": kind,
        "started_at": now_iso(),
        "completed_at": None,
        "resource_id": resource_id,
        "resource_type": resource_type,
        "region": catalog.region(region),
        "region_slug": region,
    }
    if delay is not None:
        sb.store.schedule(action, delay, {"status": "completed", "completed_at": now_iso()})
    return sb.store.put("actions", action["id"], action)


def _validate_create(sb: Sandbox, body: DropletCreate) -> tuple[str, dict, dict]:
    region = check_region(body.region or "nyc3")
    if body.size not in catalog.size_slugs():
        raise unprocessable(f"size: {body.size!r} is not a valid size for Droplet creation")
    image = catalog.image(body.image)
    if image is None:
        raise unprocessable(f"image: {body.image!r} is not a valid image for Droplet creation")
    for key in body.ssh_keys or []:
        if find_ssh_key(sb, key) is None:
            raise unprocessable(f"ssh_keys: {key!r} is not an SSH key id or fingerprint on this account")
    if body.vpc_uuid:
        vpc = sb.store.get("vpcs", body.vpc_uuid)
        if vpc is None:
            raise unprocessable(f"vpc_uuid: VPC {body.vpc_uuid} does not exist")
        if vpc["region"] != region:
            raise unprocessable(f"vpc_uuid: VPC {vpc['name']} is in {vpc['region']}, not in region {region}")
    else:
        vpc = region_default_vpc(sb, region)
    return region, image, vpc


def _create_one(sb: Sandbox, name: str, body: DropletCreate, region: str, image: dict, vpc: dict) -> dict:
    did = sb.store.next_id("droplet", 500000001)
    size = catalog.size(body.size)
    machine = machines_on(sb)
    features = ["droplet_agent", "private_networking"]
    features += [f for f, on in (("backups", body.backups), ("ipv6", body.ipv6), ("monitoring", body.monitoring)) if on]
    private_ip = allocate_private_ip(sb, vpc)
    vpc_net = ipaddress.ip_network(vpc["ip_range"])
    v4 = [{"ip_address": private_ip, "netmask": str(vpc_net.netmask), "gateway": "nil", "type": "private"}]
    public_ip = None
    if body.public_networking:
        public_ip, netmask, gateway = _public_ip(sb, machine)
        v4.append({"ip_address": public_ip, "netmask": netmask, "gateway": gateway, "type": "public"})
    v6 = (
        [{"ip_address": f"2001:db8::{did:x}", "netmask": 64, "gateway": "2001:db8::1", "type": "public"}]
        if body.ipv6
        else []
    )
    ensure_tags(sb, body.tags)
    keys = [find_ssh_key(sb, k)["public_key"] for k in body.ssh_keys or []]
    active = {"status": "active", "networks": {"v4": v4, "v6": v6}}
    droplet = {
        "id": did,
        "name": name,
        "memory": size["memory"],
        "vcpus": size["vcpus"],
        "disk": size["disk"],
        "disk_info": size["disk_info"],
        "locked": False,
        "status": "new",
        "kernel": None,
        "created_at": now_iso(),
        "features": features,
        "backup_ids": [],
        "snapshot_ids": [],
        "next_backup_window": None,
        "image": image,
        "volume_ids": list(body.volumes or []),
        "size": size,
        "size_slug": size["slug"],
        "networks": {"v4": [], "v6": []},
        "region": catalog.region(region),
        "tags": list(dict.fromkeys(body.tags or [])),
        "vpc_uuid": vpc["id"],
        "_user_data": body.user_data,
        "_ssh_keys": body.ssh_keys or [],
        "_authorized_keys": keys,
        "_addresses": {"public": public_ip, "private": private_ip},
        "_machine": machine and public_ip is not None,
        "_on_active": active,
    }
    if droplet["_machine"]:
        action = new_action(sb, "create", did, region, None)
    else:
        sb.store.schedule(droplet, sb.settings.droplet_delay, active)
        action = new_action(sb, "create", did, region, sb.settings.droplet_delay)
    droplet["_create_action"] = action["id"]
    sb.store.put("droplets", did, droplet)
    assign_to_project(sb, f"do:droplet:{did}")
    if droplet["_machine"]:
        create_machine(sb, droplet, vpc, keys, action["id"], active)
    return droplet


def _link(request: Request, action: dict) -> dict:
    return {
        "id": action["id"],
        "rel": "create",
        "href": f"{str(request.base_url).rstrip('/')}/v2/actions/{action['id']}",
    }


@router.get("/v2/droplets")
async def droplets_list(
    request: Request,
    tag_name: str | None = None,
    name: str | None = None,
    kind: str | None = Query(None, alias="type"),
    sb: Sandbox = Depends(sandbox),
) -> dict:
    if tag_name and (name or kind):
        raise unprocessable("tag_name cannot be combined with name or type")
    if kind not in (None, "droplets", "gpus"):
        raise unprocessable("type: must be droplets or gpus")
    rows = sorted(sb.store.all("droplets"), key=lambda d: d["id"])
    if tag_name:
        rows = [d for d in rows if tag_name in d["tags"]]
    if name:
        rows = [d for d in rows if d["name"].lower() == name.lower()]
    if kind == "gpus":
        rows = []
    return paginate(request, "droplets", rows, view)


@router.post("/v2/droplets", status_code=202)
async def droplets_create(body: DropletCreate, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    region, image, vpc = _validate_create(sb, body)
    if body.name is not None:
        droplet = _create_one(sb, body.name, body, region, image, vpc)
        action = sb.store.get("actions", droplet["_create_action"])
        return {"droplet": view(droplet), "links": {"actions": [_link(request, action)]}}
    droplets = [_create_one(sb, n, body, region, image, vpc) for n in body.names]
    links = [_link(request, sb.store.get("actions", d["_create_action"])) for d in droplets]
    return {"droplets": [view(d) for d in droplets], "links": {"actions": links}}


@router.get("/v2/droplets/{droplet_id}")
async def droplets_get(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"droplet": view(must_get(sb, "droplets", droplet_id))}


def destroy(sb: Sandbox, droplet: dict) -> None:
    sb.store.delete("droplets", droplet["id"])
    forget(sb, f"do:droplet:{droplet['id']}")
    destroy_machine(sb, droplet)


@router.delete("/v2/droplets/{droplet_id}", status_code=204)
async def droplets_destroy(droplet_id: int, sb: Sandbox = Depends(sandbox)) -> Response:
    destroy(sb, must_get(sb, "droplets", droplet_id))
    return Response(status_code=204)


@router.delete("/v2/droplets", status_code=204)
async def droplets_destroy_by_tag(tag_name: str, sb: Sandbox = Depends(sandbox)) -> Response:
    for droplet in [d for d in sb.store.all("droplets") if tag_name in d["tags"]]:
        destroy(sb, droplet)
    return Response(status_code=204)


@router.delete("/v2/droplets/{droplet_id}/destroy_with_associated_resources/dangerous", status_code=202)
async def droplets_destroy_dangerous(
    droplet_id: int, x_dangerous: str = Header(""), sb: Sandbox = Depends(sandbox)
) -> Response:
    droplet = must_get(sb, "droplets", droplet_id)
    if x_dangerous.lower() != "true":
        raise APIError(412, "X-Dangerous: true is required to destroy a droplet with its associated resources")
    destroy(sb, droplet)
    return Response(status_code=202)


@router.get("/v2/droplets/{droplet_id}/firewalls")
async def droplets_firewalls(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    must_get(sb, "droplets", droplet_id)
    fws = [view(f) for f in sb.store.all("firewalls") if droplet_id in f["droplet_ids"]]
    return paginate(request, "firewalls", fws)


# -- Actions -----------------------------------------------------------------------------
def _apply_action(sb: Sandbox, droplet: dict, body: DropletAction) -> dict:
    kind = body.type
    region = droplet["region"]["slug"]
    if droplet["status"] == "new" or any(
        a["status"] == "in-progress" for a in sb.store.all("actions") if a["resource_id"] == droplet["id"]
    ):
        raise unprocessable("Droplet already has a pending event.")
    changes: dict = {}
    if kind in ("power_off", "shutdown"):
        changes = {"status": "off"}
    elif kind in ("power_on", "reboot", "power_cycle"):
        changes = {"status": "active"}
    elif kind == "resize":
        if body.size not in catalog.size_slugs():
            raise unprocessable(f"size: {body.size!r} is not a valid size")
        if droplet["status"] != "off":
            raise unprocessable("Droplet is currently on. Please power it off to run this event.")
        size = catalog.size(body.size)
        if size["disk"] < droplet["disk"] and body.disk:
            raise unprocessable("size: a droplet's disk cannot shrink")
        changes = {"size": size, "size_slug": size["slug"], "memory": size["memory"], "vcpus": size["vcpus"]}
        if body.disk:
            changes["disk"] = size["disk"]
    elif kind == "rename":
        if not body.name:
            raise unprocessable("name: is required for rename")
        changes = {"name": body.name}
    elif kind == "snapshot":
        changes = {"snapshot_ids": [*droplet["snapshot_ids"], sb.store.next_id("image", 190000001)]}
    elif kind == "enable_ipv6":
        v6 = [{"ip_address": f"2001:db8::{droplet['id']:x}", "netmask": 64, "gateway": "2001:db8::1", "type": "public"}]
        changes = {"networks": {**droplet["networks"], "v6": v6}, "features": sorted({*droplet["features"], "ipv6"})}
    elif kind == "enable_backups":
        changes = {"features": sorted({*droplet["features"], "backups"})}
    elif kind == "disable_backups":
        changes = {"features": [f for f in droplet["features"] if f != "backups"]}
    if droplet.get("_machine") and sb.machines is not None and kind in MACHINE_ACTIONS:
        action = new_action(sb, kind, droplet["id"], region, None)
        machine_action(sb, droplet, action, changes, catalog.size(body.size) if kind == "resize" else None)
        return action
    action = new_action(sb, kind, droplet["id"], region, sb.settings.action_delay)
    if changes:
        sb.store.schedule(droplet, sb.settings.action_delay, changes)
        sb.store.put("droplets", droplet["id"], droplet)
    return action


@router.get("/v2/droplets/{droplet_id}/actions")
async def droplet_actions_list(droplet_id: int, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    must_get(sb, "droplets", droplet_id)
    rows = sorted((a for a in sb.store.all("actions") if a["resource_id"] == droplet_id), key=lambda a: -a["id"])
    return paginate(request, "actions", rows, view)


@router.post("/v2/droplets/{droplet_id}/actions", status_code=201)
async def droplet_actions_post(droplet_id: int, body: DropletAction, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"action": view(_apply_action(sb, must_get(sb, "droplets", droplet_id), body))}


@router.post("/v2/droplets/actions", status_code=201)
async def droplet_actions_by_tag(body: DropletAction, tag_name: str, sb: Sandbox = Depends(sandbox)) -> dict:
    if body.type not in TAG_ACTIONS:
        raise unprocessable(f"type: {body.type} cannot be applied by tag")
    droplets = [d for d in sb.store.all("droplets") if tag_name in d["tags"]]
    return {"actions": [view(_apply_action(sb, d, body)) for d in droplets]}


@router.get("/v2/droplets/{droplet_id}/actions/{action_id}")
async def droplet_actions_get(droplet_id: int, action_id: int, sb: Sandbox = Depends(sandbox)) -> dict:
    action = sb.store.get("actions", action_id)
    if action is None or action["resource_id"] != droplet_id:
        raise not_found()
    return {"action": view(action)}
