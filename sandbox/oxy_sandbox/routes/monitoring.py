"""Uptime checks with their alerts and state, alert policies, and what they sent (``/_sandbox/notifications``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..core import Sandbox, paginate
from ..monitoring_models import CheckCreate, CheckUpdate, PolicyBody, UptimeAlertBody
from ._deps import sandbox

router = APIRouter()


# -- uptime checks ------------------------------------------------------------------
@router.get("/v2/uptime/checks")
async def checks_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "checks", sb.monitoring.list_checks(), sb.monitoring.check_view)


@router.post("/v2/uptime/checks", status_code=201)
async def checks_create(body: CheckCreate, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"check": sb.monitoring.check_view(sb.monitoring.create_check(body.model_dump()))}


@router.get("/v2/uptime/checks/{check_id}")
async def checks_get(check_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"check": sb.monitoring.check_view(sb.monitoring.check(check_id))}


@router.put("/v2/uptime/checks/{check_id}")
async def checks_update(check_id: str, body: CheckUpdate, sb: Sandbox = Depends(sandbox)) -> dict:
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    return {"check": sb.monitoring.check_view(sb.monitoring.update_check(check_id, fields))}


@router.delete("/v2/uptime/checks/{check_id}", status_code=204)
async def checks_delete(check_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.monitoring.delete_check(check_id)
    return Response(status_code=204)


@router.get("/v2/uptime/checks/{check_id}/state")
async def checks_state(check_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"state": sb.monitoring.state(check_id)}


# -- a check's alerts ---------------------------------------------------------------
@router.get("/v2/uptime/checks/{check_id}/alerts")
async def alerts_list(check_id: str, request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "alerts", sb.monitoring.list_alerts(check_id), sb.monitoring.alert_view)


@router.post("/v2/uptime/checks/{check_id}/alerts", status_code=201)
async def alerts_create(check_id: str, body: UptimeAlertBody, sb: Sandbox = Depends(sandbox)) -> dict:
    alert = sb.monitoring.create_alert(check_id, body.model_dump(exclude_none=True))
    return {"alert": sb.monitoring.alert_view(alert)}


@router.get("/v2/uptime/checks/{check_id}/alerts/{alert_id}")
async def alerts_get(check_id: str, alert_id: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"alert": sb.monitoring.alert_view(sb.monitoring.alert(check_id, alert_id))}


@router.put("/v2/uptime/checks/{check_id}/alerts/{alert_id}")
async def alerts_update(check_id: str, alert_id: str, body: UptimeAlertBody, sb: Sandbox = Depends(sandbox)) -> dict:
    alert = sb.monitoring.update_alert(check_id, alert_id, body.model_dump(exclude_none=True))
    return {"alert": sb.monitoring.alert_view(alert)}


@router.delete("/v2/uptime/checks/{check_id}/alerts/{alert_id}", status_code=204)
async def alerts_delete(check_id: str, alert_id: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.monitoring.delete_alert(check_id, alert_id)
    return Response(status_code=204)


# -- alert policies -----------------------------------------------------------------
@router.get("/v2/monitoring/alerts")
async def policies_list(request: Request, sb: Sandbox = Depends(sandbox)) -> dict:
    return paginate(request, "policies", sb.monitoring.list_policies(), sb.monitoring.policy_view)


@router.post("/v2/monitoring/alerts")
async def policies_create(body: PolicyBody, sb: Sandbox = Depends(sandbox)) -> dict:
    # DigitalOcean answers a created policy with 200 (the only status its spec declares).
    return {"policy": sb.monitoring.policy_view(sb.monitoring.create_policy(body.model_dump()))}


@router.get("/v2/monitoring/alerts/{alert_uuid}")
async def policies_get(alert_uuid: str, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"policy": sb.monitoring.policy_view(sb.monitoring.policy(alert_uuid))}


@router.put("/v2/monitoring/alerts/{alert_uuid}")
async def policies_update(alert_uuid: str, body: PolicyBody, sb: Sandbox = Depends(sandbox)) -> dict:
    return {"policy": sb.monitoring.policy_view(sb.monitoring.update_policy(alert_uuid, body.model_dump()))}


@router.delete("/v2/monitoring/alerts/{alert_uuid}", status_code=204)
async def policies_delete(alert_uuid: str, sb: Sandbox = Depends(sandbox)) -> Response:
    sb.monitoring.delete_policy(alert_uuid)
    return Response(status_code=204)


# -- the sandbox's own view ---------------------------------------------------------
@router.get("/_sandbox/notifications")
async def notifications(since: int = 0, sb: Sandbox = Depends(sandbox)) -> dict:
    """What uptime alerts and alert policies would have emailed or posted to Slack, oldest first:
    ``recipient``, ``channel`` (email|slack), ``subject``, ``text``, ``time``, ``status`` (firing|resolved)
    and what sent it. Never a Slack webhook's URL. ``since``: only those after that id."""
    rows = [dict(n) for n in sb.monitoring.notifications(since)]
    return {"notifications": rows, "last_id": rows[-1]["id"] if rows else since}


@router.get("/_sandbox/monitoring")
async def monitoring(sb: Sandbox = Depends(sandbox)) -> dict:
    """Each uptime check's last probe (when, from where, how long, why it failed) and each alert
    policy's last samples by droplet; the probe interval is the ``uptime_interval`` setting."""
    return {
        "uptime_interval": sb.settings.uptime_interval,
        "policies_evaluated": sb.machines is not None,
        "checks": sb.monitoring.probes(),
        "policies": sb.monitoring.evaluations(),
    }


@router.post("/_sandbox/monitoring/probe")
def probe_now(sb: Sandbox = Depends(sandbox)) -> dict:
    """Probe every enabled check and evaluate every policy now, once (it waits for the probes: a plain
    ``def``, off the event loop)."""
    sb.monitoring.run_round()
    return {"checks": sb.monitoring.probes()}
