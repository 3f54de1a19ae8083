"""playbooks/restore.yml (issue 22): db-oxy restored to a point in time into a new cluster, verified, then the
environment switched to it; refused without its confirmation (no write), a plan first, no duplicate cluster after a
kill, and a second run that changes nothing. site.yml's DigitalOcean side against the sandbox (droplets without
machines: the droplet's env file is its stack's, tests/machines)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.fixtures.credentials import APPS, app_secrets, clusters, parse
from tests.fixtures.playbooks import ROOT, ansible_env, ansible_playbook
from tests.playbooks.test_plan import SKIP, apply

SOURCE = "db-oxy"
CONFIRM = ("-e", f"oxy_restore_confirm={SOURCE}")


def restore(sandbox, *extra: str):
    return ansible_playbook(sandbox, "playbooks/restore.yml", *SKIP, *extra)


def flat(text: str) -> str:
    """``text`` with its lines joined (the YAML callback folds long messages)."""
    return " ".join(text.split())


def mark(sandbox) -> int:
    return sandbox.log()[-1]["seq"]


def writes(sandbox, since: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.log(since=since) if r["method"] != "GET"]


def secrets_in(out: str, do) -> list[str]:
    """Every password of the account's database users that ``out`` shows."""
    passwords = {
        f"{cluster['name']}/{user['name']}": user["password"]
        for cluster in do.databases.list_clusters()["databases"]
        for user in cluster.get("users") or []
        if user.get("password")
    }
    assert len(passwords) > 10  # the sandbox shows them to this token: there is something to look for
    return [name for name, password in passwords.items() if password in out]


def run_killed_after_first_write(sandbox, *extra: str, timeout: float = 120) -> bool:
    """restore.yml SIGKILLed (its whole process group) right after its first write was answered."""
    since = mark(sandbox)
    proc = subprocess.Popen(
        ["ansible-playbook", "-i", "inventory/sandbox", "playbooks/restore.yml", *SKIP, *extra],
        cwd=ROOT,
        env=ansible_env(sandbox),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if sandbox.summary(since=since)["writes"] >= 1:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    return killed


@pytest.mark.slow
def test_restore_to_a_point_in_time_then_switch(sandbox, do):
    apply(sandbox)
    source = clusters(do)[SOURCE]
    at = sandbox.control("POST", f"databases/{source['id']}/backup")["created_at"]
    # Written after that backup: the restore to its time must not have them.
    do.databases.add(source["id"], {"name": "analytics"})
    do.databases.add_user(source["id"], {"name": "analyst"})
    restored_name = f"{SOURCE}-restore-" + "".join(c for c in at if c.isdigit())
    to = ("-e", f"oxy_restore_to={at}")

    # Without the confirmation: refused before any write, saying how to confirm.
    since = mark(sandbox)
    refused = restore(sandbox, *to)
    assert refused.rc != 0
    assert "oxy_restore_confirm is not set: nothing was changed" in flat(refused.out), refused.out[-3000:]
    assert f"-e oxy_restore_confirm={SOURCE}" in flat(refused.out)
    assert writes(sandbox, since) == []
    # (A time outside the backups kept is refused before any write: the module's unit tests.)

    # The plan (of the default time, the latest backup: that one): the restore, and nothing written.
    since = mark(sandbox)
    planned = restore(sandbox, "--check", "--diff")
    assert planned.rc == 0, planned.out[-3000:]
    assert f"Plan: restore {SOURCE} as at {at} into {restored_name}, then switch" in flat(planned.out)
    assert f"+ create database cluster {restored_name}" in flat(planned.out)
    assert writes(sandbox, since) == []

    # Confirmed, killed just after its first write (the cluster's create), then run again: one cluster.
    assert run_killed_after_first_write(sandbox, *to, *CONFIRM)
    assert restored_name in clusters(do)
    run = restore(sandbox, *to, *CONFIRM)
    assert run.rc == 0, run.out[-4000:]
    found = [c["name"] for c in do.databases.list_clusters()["databases"]]
    assert sorted(found) == sorted([SOURCE, restored_name, "db-valkey-ams3-04785"]), found

    # The data as at that time: the apps' databases and users, not what came after.
    restored = clusters(do)[restored_name]
    assert restored["region"] == source["region"] and restored["private_network_uuid"] == source["private_network_uuid"]
    assert "analytics" not in restored["db_names"] and "analyst" not in {u["name"] for u in restored["users"]}
    assert {db for _user, db, _vpc in APPS.values()} <= set(restored["db_names"])
    assert "analytics" in clusters(do)[SOURCE]["db_names"]  # the old cluster is kept as it was

    # Switched: every app's MONGODB_URI is its user on the restored cluster, with that user's password there.
    for app, settings in app_secrets(do).items():
        user, database, private = APPS[app]
        uri = parse(settings["MONGODB_URI"])
        block = restored["private_connection" if private else "connection"]
        assert (uri["host"], uri["user"], uri["path"]) == (block["host"], user, database), app
        assert uri["password"] == do.databases.get_user(restored["id"], user)["user"]["password"], app
    # Its trusted sources: the droplet and every app; the old cluster keeps its own.
    rules = do.databases.list_firewall_rules(restored["id"])["rules"]
    assert {r["type"] for r in rules} == {"droplet", "app"} and len(rules) == len(APPS) + 1
    assert len(do.databases.list_firewall_rules(source["id"])["rules"]) == len(APPS) + 1
    assert f"Set oxy_mongodb.name: {restored_name} in the definition" in flat(run.out)
    assert secrets_in(refused.out + planned.out + run.out, do) == []

    # Run again: nothing changes, nothing is written. Its switch is site.yml's plays with oxy_mongodb.name the
    # restored cluster, so this is also site.yml once the definition names it: clean, the old cluster an orphan.
    since = mark(sandbox)
    again = restore(sandbox, *to, *CONFIRM)
    assert again.rc == 0, again.out[-3000:]
    assert again.hosts["localhost"]["changed"] == 0, again.out[-3000:]
    assert writes(sandbox, since) == []
    assert f"! orphan database cluster {SOURCE} " in flat(again.out), again.out[-3000:]
    assert secrets_in(again.out, do) == []

    # Restored to a time before the apps' users existed (the backup taken when db-oxy was created): the
    # verification refuses it before anything is switched, naming what is missing; the apps stay where they were.
    first = do.databases.list_backups(source["id"])["backups"][0]["created_at"]
    before = app_secrets(do)
    since = mark(sandbox)
    empty = restore(sandbox, "-e", f"oxy_restore_to={first}", *CONFIRM)
    assert empty.rc != 0
    refusal = "is not what the environment needs, so nothing was switched: no database"
    assert refusal in flat(empty.out), empty.out[-3000:]
    # The restore alone, in the project (an orphan of the plan, kept to read data out of), then the refusal.
    project = do.projects.list()["projects"]
    (oxy,) = [p["id"] for p in project if p["name"] == "Oxy"]
    assert writes(sandbox, since) == ["POST /v2/databases", f"POST /v2/projects/{oxy}/resources"]
    assert app_secrets(do) == before
