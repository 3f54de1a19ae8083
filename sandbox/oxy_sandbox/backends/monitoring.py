"""Uptime checks (with their alerts) and alert policies, and the prober that makes them real.

DigitalOcean's spec says what the objects look like; what they do is what DigitalOcean does:

- Every ``uptime_interval`` seconds (a sandbox setting) each enabled check is probed. One probe stands
  for one of DigitalOcean's one-minute rounds, so an alert's ``period`` (``2m`` .. ``1h``) is that many
  probes in a row, and a policy's ``window`` (``5m`` .. ``1h``) that many samples.
- Probes go only to this machine's loopback or to the project's own machines and networks (the public
  network droplets live on, the VPCs' ranges); a target anywhere else is never probed: the check is
  down, with the reason. Host names resolve in the sandbox's own DNS (its domains' A and CNAME
  records, and ``localhost``), never in this machine's resolver.
- Targets on the public network are probed from the sandbox's "outside" address there (no firewall of
  the stock environment lets it in by name: only rules open to everyone do), loopback from loopback.
  Every region of a check shows that one probe (there is one vantage point).
- http/https: ``GET`` of the target URL, redirects not followed; up on a status below 400. https
  verifies the certificate against the system's CAs, the sandbox's CA (machines' certificates come
  from it) and its stand-in for a public CA (``tls.ensure_public_ca``: what Let's Encrypt is to
  DigitalOcean's probes; the sandbox inventory hands it to the droplet's Caddy, which signs 90-day
  certificates with it) and records its expiry for ``ssl_expiry`` alerts; a certificate that does not verify is
  down (its expiry is still read). ping: the ``ping`` binary when this machine has one, else a TCP
  connection to port 80 then 443, where an answer of any kind (accepted or refused) means reachable.
- Alerts fire on transitions and are recorded as the emails and Slack posts DigitalOcean would send
  (``notifications``): ``down``/``down_global`` after ``period`` failed probes, ``latency`` when the
  response time compares with ``threshold`` ms for ``period`` probes, ``ssl_expiry`` when the
  certificate expires within ``threshold`` days; each resolves at the first probe where its condition
  no longer holds. A Slack webhook's URL is never part of a notification.
- Alert policies on droplets' CPU, memory, disk and load are evaluated on the same interval against
  the droplet's machine (Docker's stats of its container, ``df`` and ``/proc/loadavg`` in it; disk: its
  bounded disk at ``/var/lib/docker`` when the setting ``droplet_disk_gib`` made one, else ``/``) when
  droplets are machines; memory and disk need the monitoring agent (``monitoring: true``), as on
  DigitalOcean. Without machines, and for the other policy types (bandwidth, disk I/O, load
  balancers, database clusters, autoscale pools), policies are stored and never fire.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import ipaddress
import logging
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import APIError, not_found
from ..store import Frozen, Missing, public
from ..util import new_uuid, now_iso
from .base import Backend

log = logging.getLogger("oxy_sandbox")

_PROBES = {"2m": 2, "3m": 3, "5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60}
_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")
_PREFIX = "v1/insights/droplet/"
# Policy types the sandbox measures on a droplet's machine, and whether they need the monitoring agent.
DROPLET_METRICS = {
    _PREFIX + "cpu": ("cpu", False),
    _PREFIX + "memory_utilization_percent": ("memory", True),
    _PREFIX + "disk_utilization_percent": ("disk", True),
    _PREFIX + "load_1": ("load_1", False),
    _PREFIX + "load_5": ("load_5", False),
    _PREFIX + "load_15": ("load_15", False),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def bad_request(message: str) -> APIError:
    return APIError(400, message)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Probe:
    """One probe of a check: its outcome, how long it took, from where, and why it failed."""

    up: bool
    reason: str = ""
    latency_ms: float | None = None
    vantage: str = ""
    cert_not_after: float | None = None


def _compare(left: float, how: str, right: float) -> bool:
    return left > right if how in ("greater_than", "GreaterThan") else left < right


class MonitoringBackend(Backend):
    """``uptime_checks``, ``uptime_alerts``, ``alert_policies`` and the ``notifications`` they send."""

    def __init__(self, sb):
        super().__init__(sb)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="uptime")
        self._round = threading.Lock()
        # Policy samples by (policy uuid, droplet id), and the last CPU counters of each machine.
        self._samples: dict[tuple[str, int], collections.deque] = {}
        self._cpu: dict[int, tuple[int, int]] = {}
        self._policy_seen: dict[str, dict] = {}
        self.ca_pem: bytes | None = None  # the sandbox's CA, when it has one (``app.build``)

    # -- the prober ----------------------------------------------------------------------
    def start(self) -> None:
        """Probe and evaluate every ``uptime_interval`` seconds, on a daemon thread, until ``stop``."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="oxy-sandbox-monitoring", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wake(self) -> None:
        """Run the next round now (a check was created or changed)."""
        self._wake.set()

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stopping.is_set():
            # A second at most between looks at the setting: a shorter interval applies at once.
            remaining = last + self.settings.uptime_interval - time.monotonic()
            if remaining > 0 and not self._wake.wait(min(remaining, 1.0)):
                continue
            self._wake.clear()
            if self._stopping.is_set():
                return
            last = time.monotonic()
            try:
                self.run_round()
            except Exception:
                log.exception("monitoring round failed")

    def run_round(self) -> None:
        """Probe every enabled check and evaluate every enabled policy once."""
        with self._round:
            checks = [c for c in self.store.all("uptime_checks") if c["enabled"]]
            for check, probe in zip(checks, self._pool.map(self._safe_probe, checks), strict=True):
                self._record(check["id"], probe)
            self._evaluate_policies()
            self.sb.apps.settle_alerts()  # App Platform's alerts of deployments that ended meanwhile

    @contextlib.contextmanager
    def paused(self):
        """No round runs in the block (the store is being reset); what the rounds remembered goes."""
        with self._round:
            yield
            self._samples.clear()
            self._cpu.clear()
            self._policy_seen.clear()

    # -- uptime checks -------------------------------------------------------------------
    def _target_problem(self, kind: str, target: str) -> str | None:
        if kind == "ping":
            host = urlsplit(target).hostname if "://" in target else target
            return None if host and (_HOST.match(host) or _ip(host)) else f"target: {target!r} is not a host name"
        parts = urlsplit(target)
        if parts.scheme != kind or not parts.hostname:
            return f"target: a {kind} check needs a {kind}:// URL, not {target!r}"
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return f"target: {target!r} has an invalid port"
        return None

    def _check_fields(self, fields: dict) -> dict:
        problem = self._target_problem(fields["type"], fields["target"])
        if problem:
            raise bad_request(problem)
        if not fields["regions"]:
            raise bad_request("regions: at least one region is required")
        fields["regions"] = list(dict.fromkeys(fields["regions"]))
        return fields

    def list_checks(self) -> list[Frozen]:
        return sorted(self.store.all("uptime_checks"), key=lambda c: c["_created"])

    def check(self, check_id: str) -> Frozen:
        return self.must("uptime_checks", check_id)

    def create_check(self, fields: dict) -> Frozen:
        fields = self._check_fields(fields)
        now = now_iso()
        check = {
            "id": new_uuid(),
            "name": fields["name"],
            "type": fields["type"],
            "target": fields["target"],
            "regions": fields["regions"],
            "enabled": fields["enabled"],
            "_created": time.time(),
            "_state": {
                "regions": {r: {"status": "CHECKING", "status_changed_at": now} for r in _REGIONS},
                "probes": 0,
                "up_probes": 0,
                "down_streak": 0,
                "outage_started": None,
                "previous_outage": {},
                "last": None,
            },
        }
        created = self.store.create("uptime_checks", check["id"], check)
        self.wake()
        return created

    def update_check(self, check_id: str, fields: dict) -> Frozen:
        check = self.check(check_id)
        merged = self._check_fields({**public(check), **fields})
        with self.store.editing("uptime_checks", check["id"]) as changing:
            for key in ("name", "type", "target", "regions", "enabled"):
                changing[key] = merged[key]
        self.wake()
        return self.check(check_id)

    def delete_check(self, check_id: str) -> None:
        check = self.check(check_id)
        for alert in self._alerts_of(check["id"]):
            self.store.delete("uptime_alerts", alert["id"])
        self.store.delete("uptime_checks", check["id"])

    def check_view(self, check: Frozen) -> dict:
        return {k: check[k] for k in ("id", "name", "type", "target", "regions", "enabled")}

    def state(self, check_id: str) -> dict:
        """``/state``: each of the check's regions with its status, and the last outage that ended."""
        check = self.check(check_id)
        st = check["_state"]
        share = round(100.0 * st["up_probes"] / st["probes"], 4) if st["probes"] else 100.0
        regions = {
            r: {**st["regions"][r], "thirty_day_uptime_percentage": share} for r in _REGIONS if r in check["regions"]
        }
        return {"regions": regions, "previous_outage": dict(st["previous_outage"])}

    def probes(self) -> list[dict]:
        """For ``GET /_sandbox/monitoring``: each check's last probe, with the reason it failed."""
        out = []
        for check in self.list_checks():
            st = check["_state"]
            status = next(iter(st["regions"].values()))["status"]
            out.append({**self.check_view(check), "status": status, "last_probe": st["last"]})
        return out

    # -- probing -------------------------------------------------------------------------
    def _resolve(self, host: str, depth: int = 0) -> str | None:
        """``host`` in the sandbox's DNS (its domains' A and CNAME records); None when it has no address."""
        host = host.lower().rstrip(".")
        if host == "localhost":
            return "127.0.0.1"
        if _ip(host):
            return host
        zones = [d["name"] for d in self.sb.domains.list() if host == d["name"] or host.endswith("." + d["name"])]
        if not zones or depth > 5:
            return None
        zone = max(zones, key=len)
        records = self.sb.domains.records(zone, fqdn=host)
        for record in records:
            if record["type"] == "A" and _ip(record["data"] or ""):
                return record["data"]
        for record in records:
            if record["type"] == "CNAME" and record["data"]:
                name = record["data"].rstrip(".")
                name = zone if name == "@" else name if "." in name else f"{name}.{zone}"
                return self._resolve(name, depth + 1)
        return None

    def _vantage(self, address: str) -> tuple[str | None, str]:
        """Where ``address`` is probed from: (source address or None, '') when it may be; (None, why) if not."""
        ip = ipaddress.ip_address(address)
        if ip.is_loopback:
            return None, ""
        machines = self.sb.machines
        if machines is None:
            return None, "refused: the sandbox has no machines, so only loopback targets are probed"
        if ip in machines.public.subnet:
            return machines.public.outside, ""
        for vpc in self.store.all("vpcs"):
            with contextlib.suppress(ValueError, KeyError):
                if ip in ipaddress.ip_network(vpc["ip_range"]):
                    return None, ""
        return None, f"refused: {address} is neither loopback nor an address of the project's machines or VPCs"

    def probe(self, check: dict) -> Probe:
        """Probe ``check``'s target once (never a target outside this machine and the project's networks)."""
        target = check["target"]
        parts = urlsplit(target if "://" in target else f"//{target}")
        host = parts.hostname or ""
        address = self._resolve(host)
        if address is None:
            return Probe(False, f"{host} does not resolve in the sandbox's DNS (its domains' records)")
        source, refused = self._vantage(address)
        if refused:
            return Probe(False, refused)
        if source:
            vantage = f"outside ({source})"
        else:
            vantage = "loopback" if ipaddress.ip_address(address).is_loopback else "this machine"
        timeout = max(1.0, min(5.0, self.settings.uptime_interval))
        if check["type"] == "ping":
            probe = _ping(address, source, timeout)
        else:
            tls = check["type"] == "https"
            port = parts.port or (443 if tls else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            probe = _http(address, host, port, path, tls, source, timeout, self._ca())
        probe.vantage = vantage
        return probe

    def _safe_probe(self, check: dict) -> Probe:
        try:
            return self.probe(check)
        except Exception as exc:
            log.exception("probing %s failed", check["target"])
            return Probe(False, f"the probe failed: {exc.__class__.__name__}: {exc}")

    def _ca(self) -> str | None:
        """The sandbox's CA (machines' and the API's certificates come from it) and its public CA stand-in,
        trusted besides the system's."""
        machines = self.sb.machines
        ca = self.ca_pem or (getattr(machines, "ca_pem", None) if machines is not None else None)
        return ca.decode() if ca else None

    def _record(self, check_id: str, probe: Probe) -> None:
        """Keep a probe's outcome in the check's state; fire and resolve its alerts."""
        now = time.time()
        try:
            with self.store.editing("uptime_checks", check_id) as check:
                st = check["_state"]
                status = "UP" if probe.up else "DOWN"
                was_down = st["outage_started"] is not None
                for region in _REGIONS:
                    if st["regions"][region]["status"] != status:
                        st["regions"][region] = {"status": status, "status_changed_at": _iso(now)}
                st["probes"] += 1
                st["up_probes"] += 1 if probe.up else 0
                st["down_streak"] = 0 if probe.up else st["down_streak"] + 1
                if not probe.up and not was_down:
                    st["outage_started"] = now
                elif probe.up and was_down:
                    started = st["outage_started"]
                    st["previous_outage"] = {
                        "region": check["regions"][0],
                        "started_at": _iso(started),
                        "ended_at": _iso(now),
                        "duration_seconds": int(now - started),
                    }
                    st["outage_started"] = None
                st["last"] = {
                    "at": _iso(now),
                    "up": probe.up,
                    "reason": probe.reason,
                    "latency_ms": probe.latency_ms,
                    "vantage": probe.vantage,
                    "certificate_expires_at": _iso(probe.cert_not_after) if probe.cert_not_after else None,
                }
                snapshot = dict(check)
        except Missing:  # the check went away while it was probed
            return
        for alert in self._alerts_of(check_id):
            with contextlib.suppress(Missing):  # deleted while it was evaluated
                self._evaluate_alert(snapshot, alert, probe, now)

    def _evaluate_alert(self, check: dict, alert: Frozen, probe: Probe, now: float) -> None:
        kind = alert["type"]
        if kind in ("down", "down_global"):
            holds = not probe.up
        elif kind == "latency":
            if probe.latency_ms is None or alert["threshold"] is None:
                return  # no answer, no latency: the alert stays as it is (``down`` tells of the outage)
            holds = _compare(probe.latency_ms, alert["comparison"] or "greater_than", alert["threshold"])
        else:  # ssl_expiry
            if probe.cert_not_after is None or alert["threshold"] is None:
                return  # no certificate read this time: the alert stays as it is
            holds = (probe.cert_not_after - now) / 86400 <= alert["threshold"]
        with self.store.editing("uptime_alerts", alert["id"]) as changing:
            changing["_streak"] = changing["_streak"] + 1 if holds else 0
            fire = holds and not changing["_firing"] and changing["_streak"] >= _PROBES[changing["period"]]
            resolve = not holds and changing["_firing"]
            if fire or resolve:
                changing["_firing"] = fire
        if fire or resolve:
            self._notify_uptime(check, alert, probe, "firing" if fire else "resolved", now)

    def _notify_uptime(self, check: dict, alert: Frozen, probe: Probe, status: str, now: float) -> None:
        name, target = check["name"], check["target"]
        regions = ", ".join(check["regions"])
        kind = alert["type"]
        if kind in ("down", "down_global"):
            subject = f"{name} is down" if status == "firing" else f"{name} is up again"
            detail = f"{target} is DOWN from {regions}: {probe.reason}" if status == "firing" else f"{target} is UP"
        elif kind == "latency":
            subject = f"{name} is slow" if status == "firing" else f"{name} responds in time again"
            detail = f"{target} answered in {probe.latency_ms} ms (threshold {alert['threshold']} ms)"
        else:
            expires = _iso(probe.cert_not_after) if probe.cert_not_after else "unknown"
            subject = f"{name}: certificate expires soon" if status == "firing" else f"{name}: certificate renewed"
            detail = f"the certificate of {target} expires at {expires} (threshold {alert['threshold']} days)"
        text = f"Uptime alert '{alert['name']}' ({kind}) is {status}: {detail}."
        self.send(
            alert["notifications"],
            status,
            f"[{status.upper()}] {subject}",
            text,
            now,
            source="uptime",
            check_id=check["id"],
            alert_id=alert["id"],
            alert_type=kind,
        )

    # -- uptime alerts -------------------------------------------------------------------
    def _alerts_of(self, check_id: str) -> list[Frozen]:
        rows = [a for a in self.store.all("uptime_alerts") if a["_check"] == check_id]
        return sorted(rows, key=lambda a: a["_created"])

    def _recipients(self, notifications: dict, where: str) -> dict:
        emails = list(dict.fromkeys(notifications.get("email") or []))
        slack = [{"channel": s["channel"], "url": s["url"]} for s in notifications.get("slack") or []]
        for email in emails:
            if not _EMAIL.match(email):
                raise bad_request(f"{where}.email: {email!r} is not an email address")
        for i, hook in enumerate(slack):
            if not hook["url"].startswith("https://"):
                raise bad_request(f"{where}.slack.{i}.url: an https:// webhook URL is required")
        if not emails and not slack:
            raise bad_request(f"{where}: at least one email or slack recipient is required")
        return {"email": emails, "slack": slack}

    def _alert_fields(self, fields: dict) -> dict:
        kind = fields["type"]
        if kind in ("latency", "ssl_expiry") and fields.get("threshold") is None:
            unit = "milliseconds" if kind == "latency" else "days"
            raise bad_request(f"threshold: a {kind} alert needs a threshold ({unit})")
        notifications = self._recipients(fields["notifications"], "notifications")
        return {
            "name": fields["name"],
            "type": kind,
            "threshold": fields.get("threshold"),
            "comparison": fields.get("comparison") or ("greater_than" if kind == "latency" else None),
            "notifications": notifications,
            "period": fields["period"],
        }

    def list_alerts(self, check_id: str) -> list[Frozen]:
        return self._alerts_of(self.check(check_id)["id"])

    def alert(self, check_id: str, alert_id: str) -> Frozen:
        check = self.check(check_id)
        alert = self.store.get("uptime_alerts", alert_id)
        if alert is None or alert["_check"] != check["id"]:
            raise not_found()
        return alert

    def create_alert(self, check_id: str, fields: dict) -> Frozen:
        check = self.check(check_id)
        alert = {
            "id": new_uuid(),
            **self._alert_fields(fields),
            "_check": check["id"],
            "_created": time.time(),
            "_streak": 0,
            "_firing": False,
        }
        return self.store.create("uptime_alerts", alert["id"], alert)

    def update_alert(self, check_id: str, alert_id: str, fields: dict) -> Frozen:
        alert = self.alert(check_id, alert_id)
        changes = self._alert_fields(fields)
        with self.store.editing("uptime_alerts", alert["id"]) as changing:
            if changes["type"] != changing["type"]:
                changing["_streak"], changing["_firing"] = 0, False
            changing.update(changes)
        return self.store.get("uptime_alerts", alert["id"])

    def delete_alert(self, check_id: str, alert_id: str) -> None:
        self.store.delete("uptime_alerts", self.alert(check_id, alert_id)["id"])

    def alert_view(self, alert: Frozen) -> dict:
        out = {k: alert[k] for k in ("id", "name", "type", "notifications", "period")}
        for key in ("threshold", "comparison"):
            if alert[key] is not None:
                out[key] = alert[key]
        return out

    # -- alert policies ------------------------------------------------------------------
    def _policy_fields(self, fields: dict) -> dict:
        kind = fields["type"]
        entities = [str(e) for e in fields.get("entities") or []]
        if kind.startswith("v1/insights/droplet/"):
            strangers = [e for e in entities if not e.isdigit()]
            if strangers:
                raise bad_request(f"entities: {strangers[0]!r} is not a Droplet ID, as {kind} needs")
        return {
            "type": kind,
            "description": fields["description"],
            "compare": fields["compare"],
            "value": fields["value"],
            "window": fields["window"],
            "entities": list(dict.fromkeys(entities)),
            "tags": list(dict.fromkeys(fields.get("tags") or [])),
            "alerts": self._recipients(fields["alerts"], "alerts"),
            "enabled": fields["enabled"],
        }

    def list_policies(self) -> list[Frozen]:
        return sorted(self.store.all("alert_policies"), key=lambda p: p["_created"])

    def policy(self, uuid: str) -> Frozen:
        return self.must("alert_policies", uuid)

    def create_policy(self, fields: dict) -> Frozen:
        policy = {"uuid": new_uuid(), **self._policy_fields(fields), "_created": time.time(), "_firing": {}}
        return self.store.create("alert_policies", policy["uuid"], policy)

    def update_policy(self, uuid: str, fields: dict) -> Frozen:
        policy = self.policy(uuid)
        changes = self._policy_fields(fields)
        with self.store.editing("alert_policies", policy["uuid"]) as changing:
            changing.update(changes)
        return self.policy(uuid)

    def delete_policy(self, uuid: str) -> None:
        self.store.delete("alert_policies", self.policy(uuid)["uuid"])

    def policy_view(self, policy: Frozen) -> dict:
        return public(policy)

    def evaluations(self) -> list[dict]:
        """For ``GET /_sandbox/monitoring``: each policy's last samples, by droplet."""
        return [
            {
                "uuid": p["uuid"],
                "type": p["type"],
                "firing": sorted(p["_firing"]),
                **self._policy_seen.get(p["uuid"], {}),
            }
            for p in self.list_policies()
        ]

    def _droplets_of(self, policy: Frozen) -> list[Frozen]:
        droplets = [d for d in self.store.all("droplets") if d.get("status") == "active"]
        if not policy["entities"] and not policy["tags"]:
            return droplets
        return [d for d in droplets if str(d["id"]) in policy["entities"] or set(policy["tags"]) & set(d["tags"])]

    def _evaluate_policies(self) -> None:
        machines = self.sb.machines
        policies = [p for p in self.store.all("alert_policies") if p["enabled"] and p["type"] in DROPLET_METRICS]
        if machines is None or not policies:
            return
        usage: dict[int, dict] = {}
        now = time.time()
        droplets = {str(d["id"]) for d in self.store.all("droplets")}
        for policy in policies:
            gone = [name for name in policy["_firing"] if name not in droplets]
            if gone:  # a deleted droplet's alert ends with it, quietly
                with contextlib.suppress(Missing), self.store.editing("alert_policies", policy["uuid"]) as changing:
                    for name in gone:
                        changing["_firing"].pop(name, None)
            metric, needs_agent = DROPLET_METRICS[policy["type"]]
            samples: dict[str, float] = {}
            for droplet in self._droplets_of(policy):
                if needs_agent and "monitoring" not in droplet.get("features", []):
                    continue
                if droplet["id"] not in usage:
                    usage[droplet["id"]] = self._usage(droplet["id"])
                value = usage[droplet["id"]].get(metric)
                if value is None:
                    continue
                samples[str(droplet["id"])] = value
                self._observe(policy, droplet, value, now)
            self._policy_seen[policy["uuid"]] = {"last_samples": samples, "at": _iso(now)}

    def _observe(self, policy: Frozen, droplet: Frozen, value: float, now: float) -> None:
        window = _PROBES[policy["window"]]
        key = (policy["uuid"], droplet["id"])
        series = self._samples.setdefault(key, collections.deque(maxlen=window))
        if series.maxlen != window:
            series = self._samples[key] = collections.deque(series, maxlen=window)
        series.append(value)
        if len(series) < window:
            return
        average = sum(series) / len(series)
        holds = _compare(average, policy["compare"], policy["value"])
        name = str(droplet["id"])
        firing = name in policy["_firing"]
        if holds == firing:
            return
        try:
            with self.store.editing("alert_policies", policy["uuid"]) as changing:
                if holds:
                    changing["_firing"][name] = _iso(now)
                else:
                    changing["_firing"].pop(name, None)
        except Missing:  # the policy was deleted meanwhile
            return
        status = "firing" if holds else "resolved"
        metric = policy["type"].removeprefix(_PREFIX)
        relation = "above" if policy["compare"] == "GreaterThan" else "below"
        subject = f"[{status.upper()}] {droplet['name']}: {metric} {relation} {policy['value']:g}"
        text = (
            f"Alert policy '{policy['description']}' is {status} for droplet {droplet['name']} ({droplet['id']}): "
            f"{metric} averaged {average:.1f} over {policy['window']} ({relation} {policy['value']:g} is the alert)."
        )
        self.send(
            policy["alerts"],
            status,
            subject,
            text,
            now,
            source="alert_policy",
            policy_uuid=policy["uuid"],
            policy_type=policy["type"],
            droplet_id=droplet["id"],
        )

    def _disk_path(self, droplet_id: int) -> str:
        """Where the droplet's disk usage is read: ``/var/lib/docker`` when its disk is bounded
        (``droplet_disk_gib``), else ``/``.

        DigitalOcean's agent reports the root disk. A machine's root is its container's layer on this
        machine's own filesystem, which no droplet can fill (nor a test); a bounded disk is a filesystem of
        its own, mounted at ``/var/lib/docker``, where a droplet keeps what fills a real droplet's disk (its
        containers' images, layers, volumes and logs), so its usage is the one an alert can see move."""
        return "/var/lib/docker" if self.sb.machines.disk_bounded(droplet_id) else "/"

    def _usage(self, droplet_id: int) -> dict[str, float]:
        """CPU %, memory %, disk % and load of a droplet's machine; {} when it has none running."""
        machines = self.sb.machines
        try:
            container = machines.docker.containers.get(machines.container_name(droplet_id))
            if container.status != "running":
                return {}
            stats = container.stats(stream=False, one_shot=True)
        except Exception:  # noqa: BLE001 - no machine (yet): no sample
            return {}
        out: dict[str, float] = {}
        cpu = stats.get("cpu_stats") or {}
        total = (cpu.get("cpu_usage") or {}).get("total_usage")
        system = cpu.get("system_cpu_usage")
        if total is not None and system is not None:
            before = self._cpu.get(droplet_id)
            self._cpu[droplet_id] = (total, system)
            if before and system > before[1]:
                cpus = cpu.get("online_cpus") or 1
                out["cpu"] = max(0.0, 100.0 * (total - before[0]) / (system - before[1]) * cpus)
        mem = stats.get("memory_stats") or {}
        if mem.get("usage") and mem.get("limit"):
            cache = (mem.get("stats") or {}).get("inactive_file", 0)
            out["memory"] = 100.0 * (mem["usage"] - cache) / mem["limit"]
        with contextlib.suppress(Exception):
            code, output = container.exec_run(["df", "-P", self._disk_path(droplet_id)])
            if code == 0:
                fields = output.decode().splitlines()[-1].split()
                out["disk"] = float(fields[4].rstrip("%"))
        with contextlib.suppress(Exception):
            code, output = container.exec_run(["cat", "/proc/loadavg"])
            if code == 0:
                loads = output.decode().split()
                out.update(load_1=float(loads[0]), load_5=float(loads[1]), load_15=float(loads[2]))
        return out

    # -- notifications -------------------------------------------------------------------
    def send(self, recipients: dict, status: str, subject: str, text: str, now: float, **about) -> None:
        """Record the emails and Slack posts DigitalOcean would send (never a webhook's URL)."""
        targets = [("email", e) for e in recipients.get("email") or []]
        targets += [("slack", s["channel"]) for s in recipients.get("slack") or []]
        for channel, recipient in targets:
            nid = self.store.next_id("notification", 1)
            note = {
                "id": nid,
                "time": _iso(now),
                "at": now,
                "status": status,
                "channel": channel,
                "recipient": recipient,
                "subject": subject,
                "text": text,
                **about,
            }
            self.store.create("notifications", nid, note)
            log.warning("notification %s (%s to %s): %s", status, channel, recipient, subject)

    def notifications(self, since: int = 0) -> list[Frozen]:
        """What was sent after ``since``; app alerts of deployments that ended are sent first."""
        self.sb.apps.settle_alerts()
        return sorted((n for n in self.store.all("notifications") if n["id"] > since), key=lambda n: n["id"])


def _ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _connect(address: str, port: int, source: str | None, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout, source_address=(source, 0) if source else None)


def _http(
    address: str, host: str, port: int, path: str, tls: bool, source: str | None, timeout: float, ca: str | None
) -> Probe:
    started = time.perf_counter()
    not_after = None
    try:
        sock = _connect(address, port, source, timeout)
    except OSError as exc:
        return Probe(False, f"connecting to {address}:{port} failed: {exc.strerror or exc}")
    try:
        if tls:
            context = ssl.create_default_context()
            if ca:
                context.load_verify_locations(cadata=ca)
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except ssl.SSLCertVerificationError as exc:
                return Probe(False, f"TLS: {exc.verify_message or exc}", cert_not_after=_expiry(address, port, host))
            except (ssl.SSLError, OSError) as exc:
                return Probe(False, f"TLS handshake with {address}:{port} failed: {exc}")
            cert = sock.getpeercert() or {}
            if cert.get("notAfter"):
                not_after = ssl.cert_time_to_seconds(cert["notAfter"])
        default_port = 443 if tls else 80
        authority = host if port == default_port else f"{host}:{port}"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: oxy-sandbox-uptime\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        line = sock.makefile("rb").readline(1024).decode("latin-1")
    except OSError as exc:
        return Probe(False, f"no answer from {address}:{port}: {exc}", cert_not_after=not_after)
    finally:
        sock.close()
    latency = round((time.perf_counter() - started) * 1000, 1)
    match = re.match(r"^HTTP/\d(?:\.\d)? (\d{3})", line)
    if not match:
        return Probe(False, f"{address}:{port} did not answer HTTP", latency, cert_not_after=not_after)
    code = int(match.group(1))
    if code >= 400:
        return Probe(False, f"HTTP {code}", latency, cert_not_after=not_after)
    return Probe(True, f"HTTP {code}", latency, cert_not_after=not_after)


def _expiry(address: str, port: int, host: str) -> float | None:
    """The expiry of a certificate that did not verify (read without verifying it)."""
    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with _connect(address, port, None, 3) as raw, context.wrap_socket(raw, server_hostname=host) as sock:
            der = sock.getpeercert(binary_form=True)
    except OSError:
        return None
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp() if der else None


def _ping(address: str, source: str | None, timeout: float) -> Probe:
    started = time.perf_counter()
    binary = shutil.which("ping")
    if binary:
        cmd = [binary, "-n", "-c", "1", "-W", str(max(1, int(timeout))), *(["-I", source] if source else []), address]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout + 2)
        latency = round((time.perf_counter() - started) * 1000, 1)
        if proc.returncode == 0:
            return Probe(True, "ICMP echo answered", latency)
        return Probe(False, f"no ICMP echo reply from {address}", None)
    problems = []
    for port in (80, 443):
        try:
            _connect(address, port, source, timeout).close()
        except ConnectionRefusedError:
            pass  # the host answered (with a reset): it is reachable
        except OSError as exc:
            problems.append(f"TCP {port}: {exc.strerror or exc}")
            continue
        return Probe(True, f"TCP {port} answered", round((time.perf_counter() - started) * 1000, 1))
    return Probe(False, f"{address} is unreachable ({'; '.join(problems)})")
