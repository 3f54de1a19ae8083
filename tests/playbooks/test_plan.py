"""The plan (oxy.infra.plan callback, scripts/plan), drift (playbooks/drift.yml) and adopting a lived-in
account, on site.yml's DigitalOcean side against the sandbox (the droplet's stack: test_site_machines.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures import lived_in
from tests.fixtures.playbooks import ROOT, ansible_env, ansible_playbook

SKIP = ("--skip-tags", "stack,verify")


def plan(sandbox, tmp_path, *extra: str, playbook: str = "site.yml") -> tuple[int, str, dict]:
    """scripts/plan against the test's sandbox: its exit code, its output and the JSON plan."""
    report = tmp_path / "plan.json"
    env = ansible_env(sandbox, OXY_PLAN_JSON=str(report), OXY_PLAYBOOK=playbook)
    proc = subprocess.run(
        [str(ROOT / "scripts/plan"), *SKIP, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    found = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, found


def apply(sandbox, *extra: str, env: dict | None = None):
    run = ansible_playbook(sandbox, "site.yml", *SKIP, *extra, env=env)
    assert run.rc == 0, run.out
    return run


def actions(report: dict) -> dict[str, str]:
    return {f"{r['kind']} {r['name']}": r["action"] for r in report["resources"]}


def changed(report: dict) -> dict[str, list[str]]:
    """Each resource that would change, with the fields that differ."""
    return {
        f"{r['kind']} {r['name']}": sorted(f["field"] for f in r["fields"])
        for r in report["resources"]
        if r["action"] != "no change"
    }


@pytest.mark.slow
def test_plan_of_an_empty_then_a_converged_account_and_exit_codes(sandbox, do, tmp_path):
    code, out, report = plan(sandbox, tmp_path)
    assert code == 2, out  # changes pending
    assert report["mode"] == "plan" and report["final"] and report["changes_pending"]
    assert sandbox.summary()["writes"] == 0
    kinds = actions(report)
    assert kinds["VPC default-ams3"] == "create" and kinds["app allo-app"] == "create"
    assert kinds["DNS record MX oxy.so"] == "create" and kinds["database user db-oxy/mention"] == "create"
    assert set(kinds.values()) == {"create"}, out[-4000:]
    assert report["totals"] == {
        "create": len(kinds),
        **dict.fromkeys(("update", "delete", "replace", "rename", "upgrade", "orphan", "unchanged"), 0),
    }
    assert f"Plan: {len(kinds)} to create, 0 to update, 0 to delete, 0 unchanged" in out

    apply(sandbox)
    code, out, report = plan(sandbox, tmp_path)
    assert code == 0, out
    # The DKIM record's key is made on the droplet, whose plays SKIP leaves out: planned, then left as it is.
    dkim = [name for name in kinds if name.endswith("._domainkey.oxy.so")]
    assert len(dkim) == 1 and dkim[0] not in actions(report), dkim
    made = len(kinds) - len(dkim)
    assert not report["changes_pending"] and report["totals"]["unchanged"] == made
    assert f"Plan: 0 to create, 0 to update, 0 to delete, {made} unchanged" in out

    code, out, report = plan(sandbox, tmp_path, "-e", '{"oxy_ssh_allowed_cidrs": []}')
    assert code == 1, out  # the plan itself failed: not "changes pending", not "clean"


@pytest.mark.slow
def test_drift_names_each_out_of_band_change_and_is_clean_after_apply(sandbox, do, tmp_path):
    apply(sandbox)
    drift = str(Path("playbooks/drift.yml"))
    refused = ansible_playbook(sandbox, drift, *SKIP)
    assert refused.rc != 0 and "only plans; run it with --check" in refused.out
    code, out, report = plan(sandbox, tmp_path, playbook=drift)
    assert code == 0 and "No drift" in out, out

    # Out of band, through the API: what people do in the console.
    firewall = do.firewalls.list()["firewalls"][0]
    do.firewalls.add_rules(
        firewall["id"],
        {"inbound_rules": [{"protocol": "tcp", "ports": "8080", "sources": {"addresses": ["0.0.0.0/0"]}}]},
    )
    clusters = {c["name"]: c for c in do.databases.list_clusters()["databases"]}
    mongo = clusters["db-oxy"]
    rules = do.databases.list_firewall_rules(mongo["id"])["rules"]
    kept = [{"type": r["type"], "value": r["value"]} for r in rules if r["type"] != "droplet"]
    do.databases.update_firewall_rules(mongo["id"], {"rules": kept})
    app = next(a for a in do.apps.list()["apps"] if a["spec"]["name"] == "alia-production")
    spec = app["spec"]
    spec["envs"] = [dict(e, value="development") if e["key"] == "NODE_ENV" else e for e in spec["envs"]]
    do.apps.update(app["id"], {"spec": spec})
    droplet = do.droplets.list()["droplets"][0]
    for action in ({"type": "power_off"}, {"type": "resize", "size": "s-4vcpu-8gb"}, {"type": "power_on"}):
        posted = do.droplet_actions.post(droplet["id"], action)["action"]
        lived_in.wait(
            lambda a=posted: do.droplet_actions.get(droplet["id"], a["id"])["action"],
            lambda a: a["status"] == "completed",
        )
    record = next(r for r in do.domains.list_records("oxy.so")["domain_records"] if r["name"] == "api")
    do.domains.patch_record("oxy.so", record["id"], {"type": "A", "ttl": 60})
    do.databases.update_eviction_policy(clusters["db-valkey-ams3-04785"]["id"], {"eviction_policy": "allkeys_lru"})

    code, out, report = plan(sandbox, tmp_path, playbook=drift)
    assert code == 1 and "The environment drifted from its definition" in out, out
    drifted = changed(report)
    assert "inbound_rules" in " ".join(drifted["cloud firewall oxy-api-backend"])
    assert drifted["trusted sources db-oxy"]
    assert any("envs" in field for field in drifted["app alia-production"])
    assert "size" in drifted["Droplet oxy-api-backend"]
    assert "ttl" in drifted["DNS record A api.oxy.so"]
    assert "eviction_policy" in drifted["database settings db-valkey-ams3-04785"]
    assert set(drifted) == {
        "cloud firewall oxy-api-backend",
        "trusted sources db-oxy",
        "app alia-production",
        "Droplet oxy-api-backend",
        "DNS record A api.oxy.so",
        "database settings db-valkey-ams3-04785",
    }, drifted

    apply(sandbox)
    code, out, report = plan(sandbox, tmp_path, playbook=drift)
    assert code == 0 and "No drift" in out, out


@pytest.mark.slow
def test_adopting_a_lived_in_account_changes_only_what_differs(sandbox, do, tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    env = {"OXY_SSH_KEY_FILE": str(key)}
    before = lived_in.fill(do, (tmp_path / "id_ed25519.pub").read_text().strip(), ["198.51.100.1/32"])
    mongo = next(c for c in do.databases.list_clusters()["databases"] if c["name"] == "db-oxy")
    passwords = {u["name"]: u["password"] for u in do.databases.list_users(mongo["id"])["users"]}
    deployments = {
        a["spec"]["name"]: len(do.apps.list_deployments(a["id"])["deployments"]) for a in do.apps.list()["apps"]
    }

    report_path = tmp_path / "plan.json"
    run = ansible_playbook(
        sandbox, "site.yml", *SKIP, "--check", "--diff", env={**env, "OXY_PLAN_JSON": str(report_path)}
    )
    assert run.rc == 0, run.out
    report = json.loads(report_path.read_text())
    differs = changed(report)
    assert differs["cloud firewall oxy-api-backend"], differs  # the extra rule
    assert differs["project Oxy"] and differs["DNS record A api.oxy.so"] == ["ttl"]
    apps = {name: fields for name, fields in differs.items() if name.startswith("app ")}
    # Its credentials (mention loses a flag), and oxy_monitoring's alerts in its spec, told to the recipients.
    told = ["alert_destinations.DEPLOYMENT_FAILED", "alert_destinations.DOMAIN_FAILED", "spec.alerts"]
    assert apps == {f"app {a[0]}": [*told, "spec.envs"] for a in lived_in.APPS}
    # The account has no monitoring yet: its checks and policies are created.
    monitoring = {name for name in differs if name.startswith(("uptime check ", "monitoring alert policy "))}
    assert monitoring and {actions(report)[name] for name in monitoring} == {"create"}
    assert set(differs) == {*apps, *monitoring, "VPC default-ams3", "cloud firewall oxy-api-backend", "project Oxy"} | {
        "DNS record A api.oxy.so",
        "Droplet oxy-api-backend",
        "DNS record TXT oxy.so",  # SPF includes the relay (oxy_mail)
        "DNS record TXT _dmarc.oxy.so",  # DMARC, new
    }
    assert differs["DNS record TXT oxy.so"] == ["data"] and actions(report)["DNS record TXT _dmarc.oxy.so"] == "create"
    # The droplet had no backups: oxy_droplet.backups turns them on, with the defined policy, and nothing else.
    droplet = {field.split(".")[0] for field in differs["Droplet oxy-api-backend"]}
    assert droplet <= {"backups", "backup_policy"}, differs
    unchanged = {name for name, action in actions(report).items() if action == "no change"}
    assert differs["VPC default-ams3"] == ["description"]
    assert {"SSH key oxy-ops", "database cluster db-oxy"} <= unchanged, differs
    assert {"trusted sources db-oxy", "trusted sources db-valkey-ams3-04785"} <= unchanged  # order is no difference
    assert {f"database user db-oxy/{a[1]}" for a in lived_in.APPS} <= unchanged

    apply(sandbox, env=env)
    kept = lived_in.ids(do)
    assert kept["DNS record"].pop("TXT _dmarc")  # mail's DMARC record, which the lived-in account had not
    assert kept == before  # nothing replaced
    assert {u["name"]: u["password"] for u in do.databases.list_users(mongo["id"])["users"]} == passwords
    after = {a["spec"]["name"]: len(do.apps.list_deployments(a["id"])["deployments"]) for a in do.apps.list()["apps"]}
    assert after == {name: count + 1 for name, count in deployments.items()}  # once each, for its credentials
    run = ansible_playbook(sandbox, "site.yml", *SKIP, "--check", env={**env, "OXY_PLAN_JSON": str(report_path)})
    assert run.rc == 0 and not json.loads(report_path.read_text())["changes_pending"], run.out
