"""Droplets backed by machines: what happens to the machine when the API changes a droplet.

The store stays the source of truth. A machine-backed droplet carries ``_addresses`` (its public
and private IPv4, fixed at creation) and ``_machine: true``; its status moves to ``active`` (and
its actions to ``completed``) only once the machine did the work, never before the configured
delay. Every change that can alter who may reach a machine ends in ``sync_firewalls``.
"""

from __future__ import annotations

import logging
import time

from ..core import Sandbox, now_iso

log = logging.getLogger("oxy_sandbox.droplets")

POWER = {
    "power_off": dict(on=False),
    "shutdown": dict(on=False),
    "power_on": dict(on=True),
    "reboot": dict(on=True, restart=True),
    "power_cycle": dict(on=True, restart=True),
}


def machines_on(sb: Sandbox) -> bool:
    return sb.machines is not None and sb.settings.machines


def sync_firewalls(sb: Sandbox) -> None:
    if sb.netfilter is None:
        return
    with sb.store.lock:
        firewalls = [dict(f) for f in sb.store.all("firewalls")]
        droplets = [dict(d) for d in sb.store.all("droplets") if d.get("_machine")]
    sb.netfilter.sync(firewalls, droplets)


def _remaining(started: float, delay: float) -> float:
    return max(0.0, started + delay - time.time())


def _finish(sb: Sandbox, droplet_id: int, action_id: int | None, delay: float, changes: dict, ok: bool) -> None:
    """Record the machine's work: the droplet's changes and its action's end."""
    with sb.store.lock:
        action = sb.store.get("actions", action_id) if action_id else None
        if action is not None:
            if ok:
                sb.store.schedule(action, delay, {"status": "completed", "completed_at": now_iso()})
            else:
                action.update(status="errored", completed_at=now_iso())
            sb.store.put("actions", action["id"], action)
        droplet = sb.store.get("droplets", droplet_id)
        if droplet is not None and ok and changes:
            sb.store.schedule(droplet, delay, changes)
            sb.store.put("droplets", droplet_id, droplet)


def create_machine(sb: Sandbox, droplet: dict, vpc: dict, keys: list[str], action_id: int, active: dict) -> None:
    """Boot ``droplet``'s machine; the droplet becomes ``active`` (with ``active`` applied) once SSH answers."""
    started = time.time()
    delay = sb.settings.droplet_delay
    snapshot = dict(droplet)

    def job() -> None:
        try:
            sb.machines.create(snapshot, vpc, keys, snapshot.get("_user_data"))
        except Exception:
            _finish(sb, snapshot["id"], action_id, 0, {}, ok=False)
            raise
        if sb.store.get("droplets", snapshot["id"]) is None:  # deleted while it booted
            sb.machines.destroy(snapshot["id"])
            return
        _finish(sb, snapshot["id"], action_id, _remaining(started, delay), active, ok=True)
        sync_firewalls(sb)

    sb.machines.submit(droplet["id"], job)


def machine_action(sb: Sandbox, droplet: dict, action: dict, changes: dict, size: dict | None) -> bool:
    """Do ``action`` on the machine; False when the action has no effect on a machine."""
    kind = action["type"]
    if kind not in POWER and kind != "resize":
        return False
    started = time.time()
    delay = sb.settings.action_delay
    snapshot = dict(droplet)

    def job() -> None:
        try:
            if kind == "resize":
                sb.machines.resize(snapshot, size)
            else:
                sb.machines.power(snapshot, **POWER[kind])
        except Exception:
            _finish(sb, snapshot["id"], action["id"], 0, {}, ok=False)
            raise
        _finish(sb, snapshot["id"], action["id"], _remaining(started, delay), changes, ok=True)

    sb.machines.submit(droplet["id"], job)
    return True


def destroy_machine(sb: Sandbox, droplet: dict) -> None:
    if droplet.get("_machine") and sb.machines is not None:
        sb.machines.submit(droplet["id"], sb.machines.destroy, droplet["id"])


def reconcile(sb: Sandbox) -> None:
    """After a restart: machines follow the store; machines of droplets that are gone are removed."""
    if sb.machines is None:
        return
    owned = sb.machines.owned()
    droplets = {d["id"]: d for d in sb.store.all("droplets") if d.get("_machine")}
    for droplet_id in set(owned) - set(droplets):
        log.info("removing the machine of deleted droplet %s", droplet_id)
        sb.machines.submit(droplet_id, sb.machines.destroy, droplet_id)
    for droplet_id, droplet in droplets.items():
        container = owned.get(droplet_id)
        status = droplet["status"]
        if status == "new":  # its boot was cut short: finish it
            sb.machines.submit(droplet_id, _finish_boot, sb, dict(droplet), container is None)
        elif container is None:
            log.warning("droplet %s lost its machine; booting a new one", droplet_id)
            sb.machines.submit(droplet_id, _boot, sb, dict(droplet))
            if status == "off":
                sb.machines.submit(droplet_id, sb.machines.power, dict(droplet), False)
        elif status == "active" and container.status != "running":
            sb.machines.submit(droplet_id, sb.machines.power, dict(droplet), True)
        elif status == "off" and container.status == "running":
            sb.machines.submit(droplet_id, sb.machines.power, dict(droplet), False)
    sync_firewalls(sb)


def _boot(sb: Sandbox, droplet: dict) -> None:
    vpc = sb.store.get("vpcs", droplet["vpc_uuid"])
    sb.machines.create(droplet, vpc, droplet.get("_authorized_keys") or [], droplet.get("_user_data"))


def _finish_boot(sb: Sandbox, droplet: dict, missing: bool) -> None:
    if missing:
        _boot(sb, droplet)
    else:
        sb.machines.power(droplet, on=True)
    _finish(sb, droplet["id"], droplet.get("_create_action"), 0, droplet.get("_on_active") or {}, ok=True)
    sync_firewalls(sb)


def reset(sb: Sandbox) -> None:
    """Every machine, network and firewall rule of this sandbox goes (``/_sandbox/reset``)."""
    if sb.machines is not None:
        sb.machines.remove_all()
    if sb.netfilter is not None:
        sb.netfilter.remove()
