"""oxy.infra.uptime_check and monitoring_alert_policy (and their _info twins) against the sandbox.

Who is told when production breaks, as code: a plan writes nothing, the first run creates, the second
changes nothing, a threshold edited in the console is put back, deletes are guarded, bad input is refused
before any write naming the option, and a Slack webhook URL never leaves the module.
"""

from __future__ import annotations

import contextlib
import copy
import json
import textwrap
import time

from tests.contract.test_monitoring import Target
from tests.fixtures.playbooks import ansible_playbook

SLACK_URL = "https://hooks.slack.com/services/T0OXY/B0OXY/never-printed-webhook-secret"
OTHER_URL = "https://hooks.slack.com/services/T0OXY/B0OXY/another-webhook-secret"
NOTIFY = {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy-alerts", "url": SLACK_URL}]}
ALERTS = [
    {"name": "api down", "type": "down", "period": "2m", "notifications": NOTIFY},
    {"name": "api certificate", "type": "ssl_expiry", "threshold": 14, "notifications": {"email": ["ops@oxy.so"]}},
]
CHECK = dict(
    name="api.oxy.so", type="https", target="https://api.oxy.so", regions=["eu_west", "us_east"], alerts=ALERTS
)
POLICY = dict(
    description="oxy-api-backend CPU above 80%",
    type="v1/insights/droplet/cpu",
    compare="GreaterThan",
    value=80,
    window="5m",
    tags=["oxy-api-backend"],
    alerts=NOTIFY,
)
CHECKS = "/v2/uptime/checks"
CHECK_ALERTS = "/v2/uptime/checks/{check_id}/alerts"
CHECK_ALERT = "/v2/uptime/checks/{check_id}/alerts/{alert_id}"
POLICIES = "/v2/monitoring/alerts"


def no_secret(result):
    """The module's whole JSON output (result, diff, invocation) carries no webhook URL."""
    for url in (SLACK_URL, OTHER_URL):
        assert url not in result["_stdout"]
        assert "never-printed" not in result["_stdout"] and "another-webhook" not in result["_stdout"]


def test_uptime_check_as_code(in_controller, run_module, do, sandbox):
    run = in_controller
    plan = run("uptime_check", check=True, **CHECK)
    assert (plan["changed"], plan.writes) == (True, [])
    assert plan["resource"] == {"kind": "uptime check", "name": "api.oxy.so"}
    after = plan["diff"]["after"]
    assert after["regions"] == ["eu_west", "us_east"] and [a["name"] for a in after["alerts"]] == [
        "api certificate",
        "api down",
    ]
    assert after["alerts"][1]["notifications"]["slack"] == [{"channel": "#oxy-alerts", "url": "******** (changed)"}]
    no_secret(plan)

    # A module process: its printed JSON (with the invocation, as -vvv shows it) holds no webhook URL.
    created = run_module("uptime_check", **CHECK)
    assert created["changed"] is True
    assert sorted(created.writes) == [("POST", CHECKS), ("POST", CHECK_ALERTS), ("POST", CHECK_ALERTS)]
    # Its alerts are looked for once, before they are made; the result comes from the API's answers, not a read back
    # (a bring-up's requests count against DigitalOcean's 250 a minute).
    assert created.calls.count(("GET", CHECK_ALERTS)) == 1, created.calls
    check = created["check"]
    assert (check["type"], check["target"], check["enabled"]) == ("https", "https://api.oxy.so", True)
    assert created["check"]["alerts"][1]["notifications"]["slack"][0]["url"] == "********"
    no_secret(created)
    # The API holds the real webhook (DigitalOcean shows it to the account), the module never returns it.
    stored = {a["name"]: a for a in do.uptime.list_alerts(check["id"])["alerts"]}
    assert stored["api down"]["notifications"]["slack"][0]["url"] == SLACK_URL
    assert stored["api certificate"]["threshold"] == 14

    reordered = dict(CHECK, regions=["us_east", "eu_west"], alerts=list(reversed(ALERTS)))
    again = run("uptime_check", **reordered)
    assert (again["changed"], again.writes) == (False, [])
    no_secret(again)

    # A threshold edited in the console is drift: the plan names it, the next run puts it back.
    cert = stored["api certificate"]
    do.uptime.update_alert(
        check["id"], cert["id"], dict({k: cert[k] for k in ("name", "type", "notifications", "period")}, threshold=3)
    )
    drift = run("uptime_check", check=True, **CHECK)
    assert (drift["changed"], drift.writes) == (True, [])
    was = {a["name"]: a for a in drift["diff"]["before"]["alerts"]}
    will = {a["name"]: a for a in drift["diff"]["after"]["alerts"]}
    assert (was["api certificate"]["threshold"], will["api certificate"]["threshold"]) == (3, 14)
    assert was["api down"] == will["api down"]
    back = run("uptime_check", **CHECK)
    assert back["changed"] is True and back.writes == [("PUT", CHECK_ALERT)]
    assert do.uptime.get_alert(check["id"], cert["id"])["alert"]["threshold"] == 14

    # A new webhook is a change the diff shows without showing either URL.
    rotated = copy.deepcopy(CHECK)
    rotated["alerts"][0]["notifications"]["slack"][0]["url"] = OTHER_URL
    plan = run_module("uptime_check", check=True, **rotated)
    assert plan["changed"] is True and plan.writes == []
    will = {a["name"]: a for a in plan["diff"]["after"]["alerts"]}
    assert will["api down"]["notifications"]["slack"][0]["url"] == "******** (changed)"
    no_secret(plan)

    # The list is complete by default: an alert added in the console goes; with purge_alerts=false it stays.
    extra = {
        "name": "slow",
        "type": "latency",
        "threshold": 900,
        "period": "5m",
        "notifications": {"email": ["a@oxy.so"]},
    }
    do.uptime.create_alert(check["id"], extra)
    kept = run("uptime_check", purge_alerts=False, **CHECK)
    assert (kept["changed"], kept.writes) == (False, [])
    assert "slow" in [a["name"] for a in kept["check"]["alerts"]]
    purged = run("uptime_check", **CHECK)
    assert purged["changed"] is True and purged.writes == [("DELETE", CHECK_ALERT)]
    assert "slow" not in [a["name"] for a in do.uptime.list_alerts(check["id"])["alerts"]]

    # name alone is a lookup: it writes nothing and returns the check.
    looked = run("uptime_check", name="api.oxy.so")
    assert (looked["changed"], looked.writes, looked["check"]["id"]) == (False, [], check["id"])

    info = run("uptime_check_info", name="api.oxy.so")
    (listed,) = info["checks"]
    assert set(listed["state"]["regions"]) == {"eu_west", "us_east"}
    assert listed["state"]["regions"]["us_east"]["status"] in ("CHECKING", "UP", "DOWN")
    assert sorted(a["name"] for a in listed["alerts"]) == ["api certificate", "api down"]
    no_secret(info)

    # Deleting is guarded; confirmed, it deletes the check (and its alerts with it).
    mark = sandbox.log()[-1]["seq"]
    refused = run("uptime_check", name="api.oxy.so", state="absent", expect_fail=True)
    assert "uptime check 'api.oxy.so'" in refused["msg"] and "allow_delete=true" in refused["msg"]
    protected = run(
        "uptime_check",
        name="api.oxy.so",
        state="absent",
        allow_delete=True,
        protected_names=["api.oxy.so"],
        expect_fail=True,
    )
    assert "protected_names" in protected["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    gone = run("uptime_check", name="api.oxy.so", state="absent", allow_delete=True)
    assert gone["changed"] is True and gone.writes == [("DELETE", "/v2/uptime/checks/{check_id}")]
    assert gone["diff"]["after"] == {} and gone["diff"]["before"]["name"] == "api.oxy.so"
    no_secret(gone)
    assert do.uptime.list_checks()["checks"] == []


def test_uptime_check_bad_input_is_refused_before_any_write(in_controller, sandbox):
    run = in_controller

    def alerts(**change):
        return [ALERTS[0], dict(ALERTS[1], **change)]

    cases = [
        (dict(alerts=alerts(threshold=None)), "alerts[1].threshold: a ssl_expiry alert needs a threshold (days)"),
        (dict(alerts=alerts(threshold=-1)), "alerts[1].threshold: -1 is negative"),
        (dict(alerts=alerts(name="api down")), "alerts[1].name: 'api down' is also alerts[0]'s name"),
        (dict(alerts=alerts(notifications={"email": []})), "alerts[1].notifications: at least one email or slack"),
        (dict(alerts=alerts(notifications={"email": ["ops"]})), "alerts[1].notifications.email[0]: 'ops' is not"),
        (
            dict(
                alerts=alerts(notifications={"slack": [{"channel": "#x", "url": "http://hooks.example/never-printed"}]})
            ),
            "alerts[1].notifications.slack[0].url: an https:// incoming-webhook URL is required",
        ),
        (dict(target="http://api.oxy.so"), "target: a https check needs a https:// URL"),
        (dict(type="http", target="http://api.oxy.so"), "alerts[1].type: ssl_expiry needs an https check"),
        (dict(regions=[]), "regions: at least one region is required"),
        (dict(type=None, target=None), "type, target: required to create uptime check 'api.oxy.so'"),
    ]
    mark = sandbox.log()[-1]["seq"] if sandbox.log() else 0
    for change, message in cases:
        failed = run("uptime_check", expect_fail=True, **dict(CHECK, **change))
        assert message in failed["msg"], (message, failed["msg"])
        assert failed.writes == []
        assert "never-printed" not in failed["_stdout"]
    # Ansible's own validation names the option too (a region DigitalOcean has not got).
    failed = run("uptime_check", expect_fail=True, **dict(CHECK, regions=["ams3"]))
    assert "regions" in failed["msg"] and failed.writes == []
    assert sandbox.summary(since=mark)["writes"] == 0


def test_uptime_check_named_twice_is_an_error(in_controller, do):
    run = in_controller
    body = {
        "name": "api.oxy.so",
        "type": "https",
        "target": "https://api.oxy.so",
        "regions": ["us_east"],
        "enabled": True,
    }
    ids = [do.uptime.create_check(body)["check"]["id"] for _ in range(2)]
    failed = run("uptime_check", expect_fail=True, **CHECK)
    assert "uptime check name 'api.oxy.so' matches 2 resources" in failed["msg"] and failed.writes == []
    assert all(i in failed["msg"] for i in ids)


def test_alert_policy_as_code(in_controller, run_module, do, sandbox):
    run = in_controller
    plan = run("monitoring_alert_policy", check=True, **POLICY)
    assert (plan["changed"], plan.writes) == (True, [])
    assert plan["resource"] == {"kind": "monitoring alert policy", "name": POLICY["description"]}
    assert plan["diff"]["after"]["value"] == 80.0 and plan["diff"]["after"]["enabled"] is True
    no_secret(plan)

    created = run_module("monitoring_alert_policy", **POLICY)
    assert created["changed"] is True and created.writes == [("POST", POLICIES)]
    uuid = created["policy"]["uuid"]
    assert created["policy"]["alerts"]["slack"] == [{"channel": "#oxy-alerts", "url": "********"}]
    no_secret(created)
    assert do.monitoring.get_alert_policy(uuid)["policy"]["alerts"]["slack"][0]["url"] == SLACK_URL

    again = run("monitoring_alert_policy", **dict(POLICY, value=80.0, alerts=dict(NOTIFY, email=["ops@oxy.so"] * 2)))
    assert (again["changed"], again.writes) == (False, [])

    # The threshold edited in the console is drift: named in the plan, put back by the next run.
    edited = dict(do.monitoring.get_alert_policy(uuid)["policy"], value=95)
    edited.pop("uuid")
    do.monitoring.update_alert_policy(uuid, edited)
    drift = run("monitoring_alert_policy", check=True, **POLICY)
    assert (drift["changed"], drift.writes) == (True, [])
    assert (drift["diff"]["before"]["value"], drift["diff"]["after"]["value"]) == (95.0, 80.0)
    assert drift["diff"]["before"]["alerts"] == drift["diff"]["after"]["alerts"]
    no_secret(drift)
    back = run("monitoring_alert_policy", **POLICY)
    assert back["changed"] is True and back.writes == [("PUT", POLICIES + "/{alert_uuid}")]
    assert do.monitoring.get_alert_policy(uuid)["policy"]["value"] == 80

    looked = run("monitoring_alert_policy", description=POLICY["description"])
    assert (looked["changed"], looked.writes, looked["policy"]["uuid"]) == (False, [], uuid)

    do.monitoring.create_alert_policy(
        dict(POLICY, description="db-oxy CPU", type="v1/dbaas/alerts/cpu_alerts", tags=[], entities=[], enabled=True)
    )
    info = run("monitoring_alert_policy_info", type="v1/insights/droplet/cpu")
    assert [p["uuid"] for p in info["policies"]] == [uuid]
    assert info["policies"][0]["alerts"]["slack"][0]["url"] == "********"
    no_secret(info)
    assert len(run("monitoring_alert_policy_info")["policies"]) == 2

    mark = sandbox.log()[-1]["seq"]
    refused = run("monitoring_alert_policy", description=POLICY["description"], state="absent", expect_fail=True)
    assert "monitoring alert policy 'oxy-api-backend CPU above 80%'" in refused["msg"], refused["msg"]
    protected = run(
        "monitoring_alert_policy",
        description=POLICY["description"],
        state="absent",
        allow_delete=True,
        protected_names=[POLICY["description"]],
        expect_fail=True,
    )
    assert "protected_names" in protected["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    gone = run("monitoring_alert_policy", description=POLICY["description"], state="absent", allow_delete=True)
    assert gone["changed"] is True and gone.writes == [("DELETE", POLICIES + "/{alert_uuid}")]
    no_secret(gone)
    assert [p["description"] for p in do.monitoring.list_alert_policy()["policies"]] == ["db-oxy CPU"]


def test_alert_policy_bad_input_is_refused_before_any_write(in_controller, do, sandbox):
    run = in_controller
    cases = [
        (dict(type="v1/insights/droplet/cpu_percent"), "type: 'v1/insights/droplet/cpu_percent' is not an alert"),
        (dict(value=150), "value: 150 is not a percentage (0-100)"),
        (dict(entities=["oxy-api-backend"]), "entities[0]: 'oxy-api-backend' is not a Droplet id"),
        (dict(alerts={"email": []}), "alerts: at least one email or slack recipient is required"),
        (dict(alerts={"email": ["ops@", "x"]}), "alerts.email[0]: 'ops@' is not an email address"),
        (
            dict(alerts={"slack": [{"channel": "#x", "url": "hooks.slack.com/never-printed"}]}),
            "alerts.slack[0].url: an https:// incoming-webhook URL is required",
        ),
        (dict(window=None, compare=None), "compare, window: required to create alert policy"),
    ]
    mark = sandbox.log()[-1]["seq"] if sandbox.log() else 0
    for change, message in cases:
        failed = run("monitoring_alert_policy", expect_fail=True, **dict(POLICY, **change))
        assert message in failed["msg"], (message, failed["msg"])
        assert failed.writes == [] and "never-printed" not in failed["_stdout"]
    failed = run("monitoring_alert_policy", expect_fail=True, **dict(POLICY, window="2m"))
    assert "window" in failed["msg"] and failed.writes == []
    assert sandbox.summary(since=mark)["writes"] == 0

    # Several policies with one description: the module cannot tell which is meant, and says so.
    body = dict(POLICY, entities=[], enabled=True)
    for _ in range(2):
        do.monitoring.create_alert_policy(body)
    failed = run("monitoring_alert_policy", expect_fail=True, **POLICY)
    assert "alert policy description 'oxy-api-backend CPU above 80%' matches 2 resources" in failed["msg"]
    assert failed.writes == []


def test_a_check_the_module_made_tells_who_it_names(in_controller, sandbox):
    """End to end on loopback: the check and its down alert, as the module made them, are probed by the sandbox;
    stopping the target records the down notification for the email and the Slack channel, never the URL."""
    server = Target().start()
    default = sandbox.control("GET", "config")["uptime_interval"]
    sandbox.configure(uptime_interval=0.2)
    try:
        target = f"http://127.0.0.1:{server.port}/health"
        down = {"name": "local down", "type": "down", "period": "2m", "notifications": NOTIFY}
        made = in_controller(
            "uptime_check", name="local", type="http", target=target, regions=["eu_west"], alerts=[down]
        )
        assert made["changed"] is True

        def status():
            info = in_controller("uptime_check_info", name="local")["checks"][0]
            return info["state"]["regions"]["eu_west"]["status"]

        until(lambda: status() == "UP")
        since = sandbox.control("GET", "notifications")["last_id"]
        server.stop()
        until(lambda: len(sandbox.control("GET", f"notifications?since={since}")["notifications"]) >= 2)
        notes = sandbox.control("GET", f"notifications?since={since}")["notifications"]
        assert {(n["channel"], n["recipient"], n["status"]) for n in notes} == {
            ("email", "ops@oxy.so", "firing"),
            ("slack", "#oxy-alerts", "firing"),
        }
        assert all(n["subject"] == "[FIRING] local is down" for n in notes)
        assert "never-printed" not in json.dumps(notes)
        assert status() == "DOWN"
    finally:
        sandbox.configure(uptime_interval=default)
        if server.server is not None:
            with contextlib.suppress(OSError):
                server.stop()


def until(what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s")


def test_a_play_with_vvv_and_diff_never_prints_the_webhook(sandbox, do, tmp_path):
    """In a play (the action plugin, in the controller), with -vvv, --diff and the plan callback's JSON: the
    check and the policy are created (with their diff) and found converged, and no webhook URL is printed or written."""
    plan_json = tmp_path / "plan.json"
    (tmp_path / "play.yml").write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              gather_facts: false
              vars:
                hook: "{{ lookup('ansible.builtin.env', 'OXY_TEST_SLACK_HOOK') }}"
                recipients: {email: [ops@oxy.so], slack: [{channel: "#oxy-alerts", url: "{{ hook }}"}]}
              tasks:
                - name: Uptime check
                  oxy.infra.uptime_check:
                    name: api.oxy.so
                    type: https
                    target: https://api.oxy.so
                    regions: [us_east]
                    alerts: [{name: api down, type: down, notifications: "{{ recipients }}"}]
                - name: Alert policy
                  oxy.infra.monitoring_alert_policy:
                    description: disk
                    type: v1/insights/droplet/disk_utilization_percent
                    compare: GreaterThan
                    value: 85
                    window: 5m
                    alerts: "{{ recipients }}"
            """
        )
    )
    # The webhook comes from outside the play (as from account.yml or AWX), so no source line shown holds it.
    env = {
        "OXY_TEST_SLACK_HOOK": SLACK_URL,
        "ANSIBLE_CALLBACKS_ENABLED": "oxy.infra.plan",
        "OXY_PLAN_JSON": str(plan_json),
    }
    outputs = []
    for _ in range(2):
        run = ansible_playbook(sandbox, str(tmp_path / "play.yml"), "-vvv", "--diff", env=env)
        assert run.rc == 0, run.out
        outputs.append(run)
    assert [r.hosts["localhost"]["changed"] for r in outputs] == [2, 0]
    for run in outputs:
        at = run.out.find("never-printed")
        assert at < 0, run.out[max(0, at - 1500) : at + 300]
        assert "WARNING" not in run.out, run.out
    written = plan_json.read_text()
    assert "uptime check" in written and "monitoring alert policy" in written
    assert "never-printed" not in written
    assert do.monitoring.list_alert_policy()["policies"][0]["alerts"]["slack"][0]["url"] == SLACK_URL
