"""Uptime checks, their alerts and state, and alert policies through pydo; the probes and what they send.

Behaviour tests probe an HTTP(S) server of this test on loopback, with a short ``uptime_interval``.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import time

import pytest

from tests.contract.test_vpcs_droplets import DROPLET, error_of

SLACK = {"channel": "#oxy-alerts", "url": "https://hooks.slack.com/services/T000/B000/sandbox-secret-hook"}
NOTIFY = {"email": ["ops@oxy.so"], "slack": [SLACK]}
CHECK = {"name": "api", "type": "https", "target": "https://api.oxy.so", "regions": ["us_east", "eu_west"]}
POLICY = {
    "type": "v1/insights/droplet/cpu",
    "description": "droplet CPU",
    "compare": "GreaterThan",
    "value": 80,
    "window": "5m",
    "entities": [],
    "tags": ["oxy"],
    "alerts": {"email": ["ops@oxy.so"], "slack": [SLACK]},
    "enabled": True,
}
INTERVAL = 0.2


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path != "/broken" else 503)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


class Target:
    """An HTTP(S) server on loopback that can be stopped and started again on the same port."""

    def __init__(self, cert: tuple[str, str] | None = None):
        self.cert = cert
        self.port = 0
        self.server = None

    def start(self) -> Target:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Quiet)
        self.server.allow_reuse_address = True
        if self.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.cert)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def probing(sandbox):
    """Probes every INTERVAL seconds for the test; back to the default (60 s) after it."""
    default = sandbox.control("GET", "config")["uptime_interval"]
    sandbox.configure(uptime_interval=INTERVAL)
    yield sandbox
    sandbox.configure(uptime_interval=default)


@pytest.fixture
def target():
    server = Target().start()
    yield server
    if server.server is not None:
        server.stop()


def _wait(what, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(INTERVAL / 2)
    raise AssertionError(f"not within {timeout}s: {what.__doc__ or what}")


def _status(do, check_id: str) -> set[str]:
    return {r["status"] for r in do.uptime.get_check_state(check_id)["state"]["regions"].values()}


def _notes(sandbox, since: int = 0) -> list[dict]:
    return sandbox.control("GET", f"notifications?since={since}")["notifications"]


# -- the API as DigitalOcean answers it --------------------------------------------------
def test_uptime_check_lifecycle(do):
    check = do.uptime.create_check({**CHECK, "enabled": True})["check"]
    assert {k: check[k] for k in CHECK} == CHECK and check["enabled"] is True
    assert do.uptime.get_check(check["id"])["check"] == check
    assert [c["id"] for c in do.uptime.list_checks()["checks"]] == [check["id"]]
    changed = do.uptime.update_check(check["id"], {"enabled": False, "regions": ["se_asia"]})["check"]
    assert (changed["enabled"], changed["regions"], changed["target"]) == (False, ["se_asia"], CHECK["target"])
    state = do.uptime.get_check_state(check["id"])["state"]
    assert set(state["regions"]) == {"se_asia"}
    assert state["regions"]["se_asia"]["status"] in ("CHECKING", "DOWN")
    do.uptime.delete_check(check["id"])
    assert do.uptime.get_check(check["id"])["id"] == "not_found"  # pydo hands 404s back as the body


def test_uptime_alerts_belong_to_their_check(do):
    check = do.uptime.create_check({**CHECK, "enabled": False})["check"]
    down = do.uptime.create_alert(
        check["id"], {"name": "api down", "type": "down", "notifications": NOTIFY, "period": "2m"}
    )["alert"]
    assert (down["type"], down["period"], down["notifications"]) == ("down", "2m", NOTIFY)
    ssl_alert = do.uptime.create_alert(
        check["id"],
        {
            "name": "cert",
            "type": "ssl_expiry",
            "threshold": 14,
            "notifications": {"email": ["ops@oxy.so"]},
            "period": "5m",
        },
    )["alert"]
    assert ssl_alert["notifications"] == {"email": ["ops@oxy.so"], "slack": []}
    assert [a["id"] for a in do.uptime.list_alerts(check["id"])["alerts"]] == [down["id"], ssl_alert["id"]]
    body = {"name": "cert", "type": "ssl_expiry", "threshold": 7, "notifications": NOTIFY, "period": "10m"}
    updated = do.uptime.update_alert(check["id"], ssl_alert["id"], body)["alert"]
    assert (updated["threshold"], updated["period"]) == (7, "10m")
    assert do.uptime.get_alert(check["id"], ssl_alert["id"])["alert"] == updated
    do.uptime.delete_alert(check["id"], down["id"])
    assert [a["id"] for a in do.uptime.list_alerts(check["id"])["alerts"]] == [ssl_alert["id"]]
    other = do.uptime.create_check({**CHECK, "name": "other", "enabled": False})["check"]
    assert do.uptime.get_alert(other["id"], ssl_alert["id"])["id"] == "not_found"
    do.uptime.delete_check(check["id"])  # its alerts go with it
    assert do.uptime.list_alerts(check["id"])["id"] == "not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({k: v for k, v in CHECK.items()}, "missing required field 'enabled'"),
        ({**CHECK, "enabled": True, "type": "tcp"}, "type: Input should be 'ping', 'http' or 'https'"),
        ({**CHECK, "enabled": True, "regions": ["ams3"]}, "regions.0: Input should be"),
        ({**CHECK, "enabled": True, "regions": []}, "regions: at least one region is required"),
        ({**CHECK, "enabled": True, "target": "http://api.oxy.so"}, "target: a https check needs a https:// URL"),
    ],
)
def test_uptime_check_validation(do, body, message):
    status, answer = error_of(lambda: do.uptime.create_check(body))
    assert (status, answer["id"]) == (400, "bad_request")
    assert answer["message"].startswith(message)


def test_uptime_alert_validation(do):
    check = do.uptime.create_check({**CHECK, "enabled": False})["check"]
    cases = [
        ({"name": "a", "type": "down", "notifications": NOTIFY}, "missing required field 'period'"),
        ({"name": "a", "type": "latency", "notifications": NOTIFY, "period": "2m"}, "threshold: a latency alert"),
        ({"name": "a", "type": "down", "notifications": {"email": []}, "period": "2m"}, "notifications: at least one"),
        ({"name": "a", "type": "down", "notifications": {"email": ["x"]}, "period": "2m"}, "notifications.email: 'x'"),
        (
            {
                "name": "a",
                "type": "down",
                "notifications": {"slack": [{"channel": "c", "url": "http://h"}]},
                "period": "2m",
            },
            "notifications.slack.0.url: an https:// webhook URL",
        ),
        ({"name": "a", "type": "down", "notifications": NOTIFY, "period": "4m"}, "period: Input should be"),
    ]
    for body, message in cases:
        status, answer = error_of(lambda body=body: do.uptime.create_alert(check["id"], body))
        assert (status, answer["id"]) == (400, "bad_request"), body
        assert answer["message"].startswith(message), (body, answer)
    assert do.uptime.list_alerts(check["id"])["alerts"] == []


def test_alert_policy_lifecycle(do):
    policy = do.monitoring.create_alert_policy(POLICY)["policy"]
    assert {k: policy[k] for k in POLICY} == POLICY
    assert do.monitoring.get_alert_policy(policy["uuid"])["policy"] == policy
    assert [p["uuid"] for p in do.monitoring.list_alert_policy()["policies"]] == [policy["uuid"]]
    changed = {**POLICY, "value": 90, "window": "10m", "entities": ["123"], "tags": [], "enabled": False}
    updated = do.monitoring.update_alert_policy(policy["uuid"], changed)["policy"]
    assert (updated["value"], updated["window"], updated["entities"], updated["enabled"]) == (90, "10m", ["123"], False)
    do.monitoring.delete_alert_policy(policy["uuid"])
    assert do.monitoring.get_alert_policy(policy["uuid"])["id"] == "not_found"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "v1/insights/droplet/cpu_percent"}, "type: 'v1/insights/droplet/cpu_percent' is not an alert policy"),
        ({"compare": "GreaterOrEqual"}, "compare: Input should be 'GreaterThan' or 'LessThan'"),
        ({"window": "15m"}, "window: Input should be '5m', '10m', '30m' or '1h'"),
        ({"value": "high"}, "value: Input should be a valid number"),
        ({"alerts": {"email": [], "slack": []}}, "alerts: at least one email or slack recipient is required"),
        ({"entities": ["db-oxy"]}, "entities: 'db-oxy' is not a Droplet ID"),
        ({"description": None}, "missing required field 'description'"),
    ],
)
def test_alert_policy_validation(do, change, message):
    body = {k: v for k, v in {**POLICY, **change}.items() if v is not None}
    status, answer = error_of(lambda: do.monitoring.create_alert_policy(body))
    assert (status, answer["id"]) == (400, "bad_request")
    assert answer["message"].startswith(message), answer
    assert do.monitoring.list_alert_policy()["policies"] == []


def test_scopes_are_uptime_and_monitoring(sandbox):
    reader = sandbox.mint("uptime:read", "monitoring:read")
    assert sandbox.api("GET", "/v2/uptime/checks", token=reader).status_code == 200
    assert sandbox.api("GET", "/v2/monitoring/alerts", token=reader).status_code == 200
    refused = sandbox.api("POST", "/v2/uptime/checks", token=reader, json={**CHECK, "enabled": True})
    assert (refused.status_code, refused.json()["message"]) == (
        403,
        "You are missing the required permission uptime:create.",
    )
    refused = sandbox.api("POST", "/v2/monitoring/alerts", token=reader, json=POLICY)
    assert refused.json()["message"] == "You are missing the required permission monitoring:create."


# -- what the probes do -------------------------------------------------------------
def test_a_stopped_target_goes_down_alerts_and_resolves_when_it_is_back(probing, do, target):
    sandbox = probing
    body = {
        "name": "local",
        "type": "http",
        "target": f"http://localhost:{target.port}/",
        "regions": ["us_east", "eu_west"],
    }
    check = do.uptime.create_check({**body, "enabled": True})["check"]
    do.uptime.create_alert(check["id"], {"name": "local down", "type": "down", "notifications": NOTIFY, "period": "2m"})
    _wait(lambda: _status(do, check["id"]) == {"UP"})
    mark = sandbox.control("GET", "notifications")["last_id"]
    time.sleep(3 * INTERVAL)
    assert _notes(sandbox, mark) == []  # up: nothing is sent
    target.stop()
    _wait(lambda: _status(do, check["id"]) == {"DOWN"})
    fired = _wait(lambda: _notes(sandbox, mark))
    time.sleep(INTERVAL)
    fired = _notes(sandbox, mark)
    assert {(n["status"], n["channel"], n["recipient"]) for n in fired} == {
        ("firing", "email", "ops@oxy.so"),
        ("firing", "slack", "#oxy-alerts"),
    }
    assert all(n["check_id"] == check["id"] and "local is down" in n["subject"] for n in fired)
    assert "Connection refused" in fired[0]["text"]
    target.start()
    _wait(lambda: _status(do, check["id"]) == {"UP"})
    resolved = _wait(lambda: [n for n in _notes(sandbox, mark) if n["status"] == "resolved"])
    assert {n["recipient"] for n in resolved} == {"ops@oxy.so", "#oxy-alerts"}
    outage = do.uptime.get_check_state(check["id"])["state"]["previous_outage"]
    assert outage["region"] == "us_east" and outage["duration_seconds"] >= 0
    assert outage["started_at"] <= outage["ended_at"]
    everything = str(sandbox.control("GET", "notifications")) + str(sandbox.control("GET", "monitoring"))
    assert SLACK["url"] not in everything and "sandbox-secret-hook" not in everything
    probe = next(c for c in sandbox.control("GET", "monitoring")["checks"] if c["id"] == check["id"])
    assert probe["last_probe"]["vantage"] == "loopback" and probe["last_probe"]["up"] is True


def test_names_resolve_in_the_sandbox_dns_and_http_errors_are_down(probing, do, target):
    do.domains.create({"name": "oxy.so"})
    do.domains.create_record("oxy.so", {"type": "A", "name": "status", "data": "127.0.0.1", "ttl": 300})
    check = do.uptime.create_check(
        {
            "name": "status",
            "type": "http",
            "target": f"http://status.oxy.so:{target.port}/",
            "regions": ["us_west"],
            "enabled": True,
        }
    )["check"]
    broken = do.uptime.create_check(
        {
            "name": "broken",
            "type": "http",
            "target": f"http://status.oxy.so:{target.port}/broken",
            "regions": ["us_west"],
            "enabled": True,
        }
    )["check"]
    slow = {
        "name": "slow",
        "type": "latency",
        "threshold": 0,
        "notifications": {"email": ["ops@oxy.so"]},
        "period": "2m",
    }
    do.uptime.create_alert(check["id"], slow)  # every answer takes longer than 0 ms
    _wait(lambda: _status(do, check["id"]) == {"UP"} and _status(do, broken["id"]) == {"DOWN"})
    probes = {c["id"]: c["last_probe"] for c in probing.control("GET", "monitoring")["checks"]}
    assert probes[broken["id"]]["reason"] == "HTTP 503"
    assert probes[check["id"]]["latency_ms"] >= 0
    fired = _wait(lambda: _notes(probing))
    assert [(n["alert_type"], n["status"], n["recipient"]) for n in fired] == [("latency", "firing", "ops@oxy.so")]
    assert "status is slow" in fired[0]["subject"] and "(threshold 0 ms)" in fired[0]["text"]


def test_targets_outside_the_project_are_never_probed(probing, do):
    public = do.uptime.create_check(
        {"name": "world", "type": "ping", "target": "192.0.2.10", "regions": ["us_east"], "enabled": True}
    )["check"]
    unknown = do.uptime.create_check(
        {"name": "nowhere", "type": "https", "target": "https://example.com", "regions": ["us_east"], "enabled": True}
    )["check"]
    _wait(lambda: _status(do, public["id"]) == {"DOWN"} and _status(do, unknown["id"]) == {"DOWN"})
    probes = {c["id"]: c["last_probe"] for c in probing.control("GET", "monitoring")["checks"]}
    assert probes[public["id"]]["reason"].startswith("refused: ")
    assert probes[unknown["id"]]["reason"] == "example.com does not resolve in the sandbox's DNS (its domains' records)"


def test_ssl_expiry_fires_on_a_certificate_that_expires_within_the_threshold(probing, do):
    tls = probing.running.state_dir / "tls"  # the sandbox's own certificate for localhost, from its CA
    server = Target(cert=(str(tls / "server.pem"), str(tls / "server-key.pem"))).start()
    try:
        check = do.uptime.create_check(
            {
                "name": "tls",
                "type": "https",
                "target": f"https://localhost:{server.port}/",
                "regions": ["eu_west"],
                "enabled": True,
            }
        )["check"]
        for name, days in (("soon", 10_000), ("later", 14)):
            alert = {"name": name, "type": "ssl_expiry", "threshold": days, "notifications": NOTIFY, "period": "2m"}
            do.uptime.create_alert(check["id"], alert)
        _wait(lambda: _status(do, check["id"]) == {"UP"})
        fired = _wait(lambda: _notes(probing))
        assert {n["alert_type"] for n in fired} == {"ssl_expiry"}
        assert all("certificate expires soon" in n["subject"] for n in fired)
        time.sleep(3 * INTERVAL)
        assert len(_notes(probing)) == 2  # once, to both recipients; the 14-day alert stays quiet
    finally:
        server.stop()


def test_alert_policies_without_machines_never_fire(probing, do):
    droplet = do.droplets.create({"name": "oxy-1", **DROPLET, "tags": ["oxy"]})["droplet"]
    do.monitoring.create_alert_policy(
        {**POLICY, "compare": "LessThan", "value": 1000, "entities": [str(droplet["id"])]}
    )
    time.sleep(5 * INTERVAL)
    assert _notes(probing) == []
    # A droplet without a machine has no usage to sample (and a sandbox without machines samples nothing).
    assert [p.get("last_samples", {}) for p in probing.control("GET", "monitoring")["policies"]] == [{}]
