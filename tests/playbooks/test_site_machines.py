"""site.yml whole, against a sandbox whose droplets are machines: an empty account to a droplet that
answers HTTPS for api.oxy.so and mail on 25/587, verified from outside, its images pulled while the
database clusters provision (a new release too, before its deployment) and Docker installed at its first
boot; every app and the droplet's
API hold their own database credentials, Valkey's checked from the droplet; a second run changes
nothing, its droplet's roles skipped while the droplet is as their converge left it (and converged in full
again when someone changed it); rotating one app's password redeploys that app only; a new API tag with a new Valkey
password redeploys the API blue/green with no failed request, and the old password stops working.

Needs a Docker engine, the droplet image and the stack's images (scripts/test builds them and exports
OXY_SANDBOX_DROPLET_IMAGE and OXY_IMAGE_*); skipped with that reason otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.fixtures.credentials import (
    APPS,
    DROPLET,
    MONGODB,
    VALKEY,
    WITHOUT_VIEW_CREDENTIALS,
    app_secrets,
    assert_apps_have_their_credentials,
    assert_settings,
    clusters,
    env_file,
)
from tests.fixtures.mail import authenticate, session, tls_context, wait_for_message
from tests.fixtures.playbooks import ROOT, ansible_playbook
from tests.fixtures.probe import summarize


def run_site(sandbox, key: Path, *extra: str) -> tuple[int, str, dict]:
    """site.yml, whole; the recap of every host."""
    run = ansible_playbook(sandbox, "site.yml", *extra, env={"OXY_SSH_KEY_FILE": str(key)})
    return run.rc, run.out, run.hosts


@pytest.fixture
def environment(sandbox, tmp_path):
    """The sandbox with machines, the stack's images in its registry, and the operators' key pair."""
    sandbox.with_the_stack()
    # The droplet's disk a filesystem of its own, as on DigitalOcean (here 4 GiB), so filling it is what fires its
    # disk alert (the sandbox's droplet_disk_gib).
    sandbox.configure(droplet_disk_gib=4)
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def droplet_address(do) -> str:
    droplet = do.droplets.list(name="oxy-api-backend")["droplets"][0]
    return next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public")


CADDY_ROOT = "/var/lib/docker/volumes/oxy-caddy-data/_data/caddy/pki/authorities/local/root.crt"
API_ENV_FILE = "/opt/oxy/api/api.env"


def on_droplet(key: Path, address: str, command: str) -> str:
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    ssh = ["ssh", "-i", str(key), *options, f"root@{address}", command]
    return subprocess.run(ssh, capture_output=True, text=True, check=True, timeout=60).stdout


def caddy_ca(key: Path, address: str) -> str:
    return on_droplet(key, address, f"cat {CADDY_ROOT}")


def droplet_settings(key: Path, address: str) -> dict[str, str]:
    """The droplet API's env file, checked to be root's alone."""
    assert on_droplet(key, address, f"stat -c '%a %U' {API_ENV_FILE}").split() == ["600", "root"]
    return env_file(on_droplet(key, address, f"cat {API_ENV_FILE}"))


def deployments(do) -> dict[str, int]:
    return {a["spec"]["name"]: len(do.apps.list_deployments(a["id"])["deployments"]) for a in do.apps.list()["apps"]}


def valkey_answers(sandbox, do, password: str) -> bool:
    """Whether the sandbox's live Valkey server takes ``password`` (from this machine, at its public address)."""
    import redis

    cluster = clusters(do)[VALKEY]
    server = sandbox.control("GET", "machines")["databases"][cluster["id"]]
    client = redis.Redis(
        host=server["public_ip"],
        port=server["port"],
        password=password,
        ssl=True,
        ssl_ca_certs=sandbox.ca,
        ssl_check_hostname=False,
        socket_timeout=10,
    )
    try:
        return client.ping()
    except redis.AuthenticationError:
        return False
    finally:
        client.close()


def secrets_of(sandbox, do) -> dict[str, str]:
    """Every secret the sandbox holds: database passwords (and so their URIs), the registry's credentials."""
    found = {f"database password {i}": p for i, p in enumerate(sandbox.control("GET", "secrets")["secrets"])}
    # every registry credential handed out (each read makes new ones), the run's own among them
    for i, password in enumerate(sandbox.control("GET", "secrets")["registry"]):
        found[f"registry password {i}"] = password
        found[f"registry auth {i}"] = base64.b64encode(f"{password}:{password}".encode()).decode()
    found["API token"] = sandbox.running.env()["DIGITALOCEAN_TOKEN"]
    found["relay password"] = ACCOUNT["oxy_mail_relay_password"]
    found.update({f"{user}'s SASL password": p for user, p in ACCOUNT["oxy_mail_sender_passwords"].items()})
    for app, settings in app_secrets(do).items():
        found.update({f"{app} {key}": value for key, value in settings.items()})
    return found


def written_since(started: float) -> list[Path]:
    """Files the run wrote: in the project (but the virtualenv and git) and in ~/.ansible."""
    roots = [ROOT, Path.home() / ".ansible"]
    skip = {ROOT / ".venv", ROOT / ".git"}
    files = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
            for name in filenames:
                path = Path(dirpath, name)
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime >= started:
                        files.append(path)
    return files


def dkim_key_lines(key: Path, address: str) -> dict[str, str]:
    """Lines of the droplet's DKIM private keys (made there: none may ever be shown or leave it)."""
    pems = on_droplet(key, address, "cat /opt/oxy/dkim/*.pem")
    lines = [line for line in pems.splitlines() if line and not line.startswith("-----")]
    assert len(lines) > 10, "no DKIM key on the droplet"
    return {f"DKIM private key line {i}": line for i, line in enumerate(lines)}


def assert_no_secret_in(output: str, secrets: dict[str, str], since: float) -> None:
    # two admin passwords, five users, the registry's credentials, the token, ten URIs, mail's passwords
    assert len(secrets) >= 21
    leaks = [f"{what} in the output" for what, value in secrets.items() if value in output]
    for path in written_since(since):
        with contextlib.suppress(OSError):
            content = path.read_bytes()
            leaks += [f"{what} in {path}" for what, value in secrets.items() if value.encode() in content]
    assert not leaks, leaks


REGISTRY = "registry.digitalocean.com/oxy"
STACK_PLAY = "PLAY [Deploy the API droplet's stack]"  # playbooks/api_backend_stack.yml
NOTHING = {"changed": 0, "unreachable": 0, "failed": 0}


def pulled_ahead(out: str) -> set[str]:
    """The images whose pulls the droplet started in its preparation play, before its stack's play began, and that the
    stack's play then waited for, each pulled: site.yml prepares the droplet while the clusters provision (and the
    controller converges the services beside it), and the images download meanwhile."""
    start = out.index("TASK [oxy.infra.api_stack : Pull the stack's images that are not here yet]")
    end = out.index(STACK_PLAY, start)
    item = r"\[oxy-api-backend\] => \(item=([^)\s]+)\)"
    started = set(re.findall(rf"^(?:ok|changed): {item}", out[start:end], re.MULTILINE))
    wait = out.index("TASK [oxy.infra.api_stack : Wait for the stack's images to be pulled]", end)
    waited = out[wait : out.index("\nTASK [", wait + 1)]
    pulled = set(re.findall(rf"^changed: {item}", waited, re.MULTILINE))
    return started & pulled


def task_block(out: str, task: str) -> str:
    """What the task headed ``TASK [task]`` printed, up to the next task, wherever its banner is: in a play of the
    free strategy, a result that follows another host's task comes under the banner printed again."""
    parts = out.split(f"TASK [{task}]")
    assert len(parts) > 1, f"no task {task!r} in the output"
    return "".join(part.split("\nTASK [", 1)[0] for part in parts[1:])


def assert_roles_skipped(out: str) -> None:
    """No task of the droplet's roles ran but their entry points `managed` (the stamp's inputs) and `user_data` (the
    droplet's first-boot script, made on the controller for the droplet task), and the droplet's plays ended there."""
    ran = set(re.findall(r"^TASK \[oxy\.infra\.(?:docker_host|api_stack) : ([^\]]+)\]", out, re.MULTILINE))
    validations = tuple(f"Validating arguments against arg spec '{entry}'" for entry in ("managed", "user_data"))
    assert ran - {name for name in ran if name.startswith(validations)} == {
        "What docker_host manages, and a digest of its inputs",
        "What api_stack manages, and digests of its inputs",
        "The first-boot script that installs Docker",
    }, sorted(ran)
    # Both droplet plays end for the droplet once they know it current (meta end_host), and for the controller at
    # once: no task after that is even announced.
    assert "TASK [Gather the droplet's distribution]" not in out, out
    assert "TASK [The API stack]" not in out, out


class Load:
    """GET https://api.oxy.so/ at the droplet's address, one request after another, until stopped."""

    def __init__(self, address: str, ca_pem: str):
        self.address = address
        self.context = ssl.create_default_context(cadata=ca_pem)
        self.results: list[dict] = []  # as molecule/shared/probe.py's load loop records them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _get(self) -> dict:
        sock = socket.create_connection((self.address, 443), timeout=10)
        conn = http.client.HTTPSConnection(self.address, 443, timeout=10, context=self.context)
        conn.sock = self.context.wrap_socket(sock, server_hostname="api.oxy.so")
        try:
            conn.request("GET", "/", headers={"Host": "api.oxy.so"})
            resp = conn.getresponse()
            body = resp.read()
            version = json.loads(body).get("version") if resp.status == 200 else None
            return {"ok": resp.status == 200, "status": resp.status, "version": version}
        finally:
            conn.close()

    def _run(self) -> None:
        deadline = time.monotonic() + 900
        while not self._stop.is_set() and time.monotonic() < deadline and len(self.results) < 20000:
            try:
                self.results.append(self._get())
            except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
                self.results.append({"ok": False, "status": None, "error": repr(exc)})
            time.sleep(0.05)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.mark.slow
def test_site_brings_up_the_whole_environment_and_then_changes_nothing(sandbox, do, environment):
    key = environment
    mark = sandbox.log()[-1]["seq"]  # after the image pushes, which created the registry
    rc, out, stats = run_site(sandbox, key, "--check", "--diff")
    assert rc == 0, out
    assert sandbox.summary(since=mark)["writes"] == 0, "the plan wrote to the API"
    assert "oxy-api-backend" not in stats  # nothing to configure yet: the droplet does not exist

    started = time.time()
    rc, out, stats = run_site(sandbox, key, "-vvv")
    assert rc == 0, out
    assert stats["oxy-api-backend"]["failed"] == 0 and stats["oxy-api-backend"]["changed"] > 0
    address = droplet_address(do)
    assert_no_secret_in(out, {**secrets_of(sandbox, do), **dkim_key_lines(key, address)}, since=started)
    assert "Check the droplet's public services" in out  # the verification ran, and passed (rc 0)
    assert pulled_ahead(out) == {f"{REGISTRY}/caddy:2.11", f"{REGISTRY}/api:2026.11.1", f"{REGISTRY}/smtp:2026.11.1"}
    # The controller converged the services in the droplet's preparation play, beside it: the apps were started there,
    # and the play between it and the stack's published the zone's records alone.
    prepare = out.split("PLAY [Prepare the API droplet]", 1)[1].split("\nPLAY [", 1)[0]
    assert "TASK [Start the App Platform apps]" in prepare
    assert "TASK [Wait for the droplet's first boot to end]" in prepare
    services = out.split("PLAY [Converge the Oxy services on DigitalOcean]", 1)[1].split("\nPLAY [", 1)[0]
    assert re.findall(r"^TASK \[([^\]]+)\]", services, re.MULTILINE) == [
        "Databases, credentials, apps, trusted sources and project",
        "DNS records of the API droplet and of mail (API, mail host, MX, SPF, DMARC, DKIM)",
    ], services
    # Monitoring is made once what it watches serves (after the stack and the apps' deployments): each new uptime
    # check's first probe (the sandbox probes a minute apart) found its target up, and the verification read it at once.
    assert (
        out.index("TASK [oxy.infra.api_stack : Wait until postfix runs]")
        < out.index("TASK [Wait for the apps' deployments]")
        < out.index("TASK [Uptime checks of the API, every app's domain and the mail host, with their alerts]")
    )
    assert "RETRYING: [localhost]: Read every uptime check's state" not in out, out
    # Docker, SSH's hardening and the daily updates came with the droplet's first boot (its user_data), and the role
    # found them done: nothing changed, sshd not reloaded, and apt not even opened (dpkg said every package is there).
    assert "Setting up docker.io" in on_droplet(key, address, "cat /var/lib/cloud/instance/user-data.log")

    def ran(task: str) -> str:
        return task_block(out, f"oxy.infra.docker_host : {task}")

    for task in (
        "SSH without passwords and without forwarding",
        "Docker's configuration, and apt's daily security updates",
    ):
        assert "ok: [oxy-api-backend]" in ran(task) and "changed: [oxy-api-backend]" not in ran(task), ran(task)
    assert "skipping: [oxy-api-backend]" in ran("Docker from the distribution's packages"), ran(
        "Which of the packages dpkg has installed"
    )
    assert "ok: [oxy-api-backend]" in ran("Which of the packages dpkg has installed"), out[-3000:]
    assert "RUNNING HANDLER [oxy.infra.docker_host : Reload SSH]" not in out
    assert "daemon.json as it was" in ran("Whether Docker restarts for its daemon.json"), ran("Docker service")
    assert "RUNNING HANDLER [oxy.infra.docker_host : Restart Docker]" not in out
    hardened = on_droplet(key, address, "sshd -T | grep '^passwordauthentication '")
    assert hardened.split() == ["passwordauthentication", "no"]
    records = {(r["type"], r["name"]): r["data"] for r in do.domains.list_records("oxy.so")["domain_records"]}
    assert records[("A", "api")] == address and records[("A", "mail")] == address
    assert records[("MX", "@")] == "mail.oxy.so."
    assert records[("TXT", "@")] == "v=spf1 mx include:relay.oxy-sandbox.test -all"  # oxy_mail's relay
    apps = {a["spec"]["name"]: a["spec"] for a in do.apps.list()["apps"]}
    assert apps["oxy-api"]["domains"] == [{"domain": "auth.oxy.so", "type": "PRIMARY", "zone": "oxy.so"}]
    assert apps["mention-production"]["domains"] == [{"domain": "mention.earth", "type": "PRIMARY"}]
    # Credentials: every app's own, each deployed once with them; the droplet's API the oxy app's, private.
    assert_apps_have_their_credentials(do)
    assert set(deployments(do).values()) == {1}
    name, user, database = DROPLET
    assert_settings(do, name, droplet_settings(key, address), user, database, private=True)
    assert "Every consumer's Valkey URL works, and a wrong password is refused" in out
    assert "MongoDB access is not verified" in out  # and says why: no MongoDB server here
    valkey_password = clusters(do)[VALKEY]["connection"]["password"]
    assert valkey_answers(sandbox, do, valkey_password) and not valkey_answers(sandbox, do, valkey_password + "x")

    mark = sandbox.log()[-1]["seq"]
    rc, out, stats = run_site(sandbox, key)
    assert rc == 0, out
    assert {host: s["changed"] for host, s in stats.items()} == {"localhost": 0, "oxy-api-backend": 0}, out
    # The droplet is as the first run's converge left it (its stamp, read in one task): the roles are skipped.
    assert "not as its last complete converge left it" not in out and "The stack's inputs changed" not in out, out
    assert_roles_skipped(out)
    # and a plan of the converged environment, the droplet's stack included, has nothing to do
    rc, out, stats = run_site(sandbox, key, "--check", "--diff")
    assert rc == 0, out
    assert {host: s["changed"] for host, s in stats.items()} == {"localhost": 0, "oxy-api-backend": 0}, out
    assert_roles_skipped(out)
    assert sandbox.summary(since=mark)["writes"] == 0

    # Drift on the droplet, with nothing changed in the definition: the stamp names what differs and the roles run
    # in full, putting back the map and starting the signer again.
    on_droplet(key, address, "echo 'stray@oxy.so postmaster@oxy.so' >> /opt/oxy/smtp/aliases && docker stop oxy-dkim")
    rc, out, stats = run_site(sandbox, key)
    assert rc == 0, out
    assert stats["oxy-api-backend"]["changed"] > 0, out
    converging = " ".join(out.split()).split("not as its last complete converge left it: ", 1)[1][:600]  # unwrapped
    assert "path /opt/oxy/smtp/aliases: changed" in converging, converging
    assert "container oxy-dkim: changed" in converging, converging
    assert "stray@" not in on_droplet(key, address, "cat /opt/oxy/smtp/aliases")
    assert on_droplet(key, address, "docker inspect -f '{{.State.Status}}' oxy-dkim").strip() == "running"
    assert on_droplet(key, address, "stat -c '%a %U' /var/lib/oxy-infra/converge-stamp.json").split() == ["600", "root"]
    assert sandbox.summary(since=mark)["writes"] == 0

    # A token that may not see passwords is refused before anything is done: the clusters exist and show
    # their connections without one (playbooks/tasks/environment.yml), so the stack is left as it is.
    token = sandbox.mint(*WITHOUT_VIEW_CREDENTIALS)
    run = ansible_playbook(sandbox, "site.yml", env={"OXY_SSH_KEY_FILE": str(key), "DIGITALOCEAN_TOKEN": token})
    assert run.rc != 0
    assert "the token lacks database:view_credentials (needed to deliver" in run.out, run.out[-3000:]
    assert "TASK [Wait until the droplet answers over SSH]" not in run.out
    assert "oxy-api-backend" not in run.hosts
    assert sandbox.summary(since=mark)["writes"] == 0

    # Rotating one app's password: it changes, that app alone redeploys, the droplet is untouched. Here the
    # droplet also fails, on an API release not pushed yet: the DigitalOcean plays after it still run.
    mongo = clusters(do)[MONGODB]
    old = do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    before = deployments(do)
    unpushed = '{"api": "2026.11.9", "smtp": "2026.11.1", "caddy": "registry.digitalocean.com/oxy/caddy:2.11"}'
    rc, out, stats = run_site(
        sandbox, key, "-e", f'{{"oxy_rotate_credentials": ["mention"], "oxy_stack_images": {unpushed}}}'
    )
    assert rc != 0
    assert stats["oxy-api-backend"] == {"ok": stats["oxy-api-backend"]["ok"], **NOTHING, "failed": 1}, out
    assert f"{REGISTRY}/api:2026.11.9" in out.split(STACK_PLAY)[0]  # its pull started with the droplet's play
    # and failed in the background; the stack's play, waiting for it, fails with the pull's own error
    waited = task_block(out, "oxy.infra.api_stack : Wait for the stack's images to be pulled")
    assert f"failed: [oxy-api-backend] (item={REGISTRY}/api:2026.11.9)" in waited and "manifest unknown" in waited, out
    assert stats["localhost"]["failed"] == 0, out
    assert do.databases.get_user(mongo["id"], "mention")["user"]["password"] != old
    assert_apps_have_their_credentials(do)
    assert deployments(do) == {**before, "mention-production": before["mention-production"] + 1}

    # A new API tag and a new Valkey password, through site.yml: every app redeploys once, the API
    # blue/green under load with not one failed request, and the old Valkey password stops working.
    before = deployments(do)
    started = time.time()
    with Load(address, caddy_ca(key, address)) as load:
        rc, out, stats = run_site(
            sandbox,
            key,
            "-vvv",
            "-e",
            '{"oxy_stack_images": {"api": "2026.11.2", '
            '"smtp": "2026.11.1", "caddy": "registry.digitalocean.com/oxy/caddy:2.11"}, '
            '"oxy_rotate_credentials": ["valkey"]}',
        )
        time.sleep(1)
    assert rc == 0, out
    assert stats["oxy-api-backend"]["changed"] > 0
    assert pulled_ahead(out) == {f"{REGISTRY}/api:2026.11.2"}  # the new release, while nothing else moved yet
    assert deployments(do) == {app: count + 1 for app, count in before.items()}
    assert_apps_have_their_credentials(do)
    assert_settings(do, name, droplet_settings(key, address), user, database, private=True)
    assert not valkey_answers(sandbox, do, valkey_password)
    assert_no_secret_in(out, secrets_of(sandbox, do), since=started)  # the rotation's and redelivery's output too
    assert valkey_answers(sandbox, do, clusters(do)[VALKEY]["connection"]["password"])
    assert sorted(APPS) == sorted(before)
    summary = summarize(load.results)
    assert summary["total"] > 50 and summary["failures"] == 0, summary
    assert (summary["first_version"], summary["last_version"], summary["switches"]) == ("2026.11.1", "2026.11.2", 1)

    # Someone is told (oxy_monitoring): every run above verified its uptime checks up. Caddy stopped, the
    # api.oxy.so check goes down within a few probes, its down alert tells the definition's recipients and the
    # verification names it; started again, the check is up, the alert resolves and the verification passes.
    sandbox.configure(uptime_interval=1)
    caddy = "registry.digitalocean.com/oxy/caddy:2.11"
    deployed = json.dumps({"oxy_stack_images": {"api": "2026.11.2", "smtp": "2026.11.1", "caddy": caddy}})
    try:
        since = max((n["id"] for n in notifications(sandbox)), default=0)
        on_droplet(key, address, "docker stop oxy-caddy")
        told = wait_for_notes(sandbox, since, "api.oxy.so", "firing")
        assert {n["recipient"] for n in told} == {"ops@oxy.so", "#oxy-alerts"}, told
        assert told[0]["subject"] == "[FIRING] api.oxy.so is down", told
        run = ansible_playbook(
            sandbox, "site.yml", "--tags", "verify", "-e", deployed, env={"OXY_SSH_KEY_FILE": str(key)}
        )
        assert run.rc != 0
        assert "uptime check api.oxy.so (https://api.oxy.so) is DOWN" in run.out, run.out[-3000:]
        on_droplet(key, address, "docker start oxy-caddy")
        wait_for_notes(sandbox, since, "api.oxy.so", "resolved")
        run = ansible_playbook(
            sandbox, "site.yml", "--tags", "verify", "-e", deployed, env={"OXY_SSH_KEY_FILE": str(key)}
        )
        assert run.rc == 0, run.out[-3000:]
        up = re.search(r"Up: ([a-z., ]+)", run.out)
        assert up and sorted(up.group(1).strip(" .").split(", ")) == ["api.oxy.so", "mail.oxy.so"], run.out[-3000:]

        # An app's deployment fails: its DEPLOYMENT_FAILED alert, which site.yml gave the same recipients, tells them.
        app = next(a for a in do.apps.list()["apps"] if a["spec"]["name"] == "alia-production")
        sandbox.configure(deploy_failures={"alia-production": "npm ERR! missing script: start"})
        do.apps.create_deployment(app["id"], {"force_build": False})
        told = [n for n in notifications(sandbox, since) if n.get("rule") == "DEPLOYMENT_FAILED"]
        assert {(n["recipient"], n["app_id"]) for n in told} == {("ops@oxy.so", app["id"]), ("#oxy-alerts", app["id"])}
        assert "hooks.slack.com" not in str(notifications(sandbox)) and WEBHOOK not in str(notifications(sandbox))

        # The droplet's disk filled past the definition's threshold (oxy_monitoring.droplet_alerts: above 85 %):
        # the policy on the droplet's tags tells the recipients; the file removed, it resolves.
        disk = next(
            p
            for p in do.monitoring.list_alert_policy()["policies"]
            if p["description"] == "droplets tagged oxy,api disk_utilization_percent"
        )
        fill = "set -e; df -k --output=size,used /var/lib/docker | tail -1 | (read size used; "
        fill += "fallocate -l $(( size * 92 / 100 - used ))k /var/lib/docker/oxy-filler); sync"
        on_droplet(key, address, fill)
        told = wait_for_policy(sandbox, since, disk["uuid"], "firing")
        assert {n["recipient"] for n in told} == {"ops@oxy.so", "#oxy-alerts"}, told
        assert "disk_utilization_percent above 85" in told[0]["subject"], told
        on_droplet(key, address, "rm /var/lib/docker/oxy-filler && sync")
        wait_for_policy(sandbox, since, disk["uuid"], "resolved")
    finally:
        sandbox.configure(uptime_interval=60, deploy_failures={})

    # Mail (oxy_mail) works from outside, as the internet sees it.
    assert_mail_from_outside(sandbox, key, address)


def assert_mail_from_outside(sandbox, key: Path, address: str) -> None:
    """Mail as the internet sees it (oxy_mail), from the sandbox's outside address: submission on 587 only after
    STARTTLS and authentication, signed on the droplet and relayed, passing DKIM, SPF and DMARC at the relay as
    a receiver checks them through DNS; 25 takes mail for oxy.so's mailboxes and relays nothing; a certificate
    Caddy renews is served by postfix without anyone doing anything."""
    info = sandbox.control("GET", "machines")
    outside, dns_server = info["outside_address"], info["dns_address"]
    ca = tls_context(caddy_ca(key, address))
    password = ACCOUNT["oxy_mail_sender_passwords"]["oxy-api"]

    with session(outside, address, 587) as client:
        assert not client.has_extn("auth"), "AUTH offered before STARTTLS"
        assert client.mail("no-reply@oxy.so")[0] == 530  # STARTTLS first
        client.starttls(context=ca)
        client.ehlo("outside.example")
        assert client.has_extn("auth")
        refused = client.mail("no-reply@oxy.so")  # authentication first
        assert refused == (553, b"5.7.1 <no-reply@oxy.so>: Sender address rejected: not logged in"), refused
    with session(outside, address, 587) as client:
        client.starttls(context=ca)
        client.ehlo("outside.example")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("oxy-api", password + "x")
    with session(outside, address, 587) as client:
        client.starttls(context=ca)
        client.ehlo("outside.example")
        client.login("oxy-api", password)
        assert client.mail("ops@oxy.so")[0] == 553  # not one of this sender's addresses
    subject = f"submitted {time.time_ns()}"
    with session(outside, address, 587) as client:
        client.starttls(context=ca)
        client.ehlo("outside.example")
        client.login("oxy-api", password)
        body = f"From: no-reply@oxy.so\r\nTo: someone@example.net\r\nSubject: {subject}\r\n\r\nhello\r\n"
        client.sendmail("no-reply@oxy.so", ["someone@example.net"], body)
    message = wait_for_message(sandbox, subject)
    assert (message["port"], message["tls"], message["auth_user"]) == (587, True, "oxy-relay"), message
    assert message["client_address"] == address and message["rcpt_tos"] == ["someone@example.net"]
    found = authenticate(message, dns_server)
    assert (found["dkim"], found["spf"], found["dmarc"]) == ("pass", "pass", "pass"), found["header"]
    assert "header.d=oxy.so" in found["header"] and "s=oxy2026" in message["data"], found["header"]

    subject = f"inbound {time.time_ns()}"
    with session(outside, address, 25) as client:
        assert not client.has_extn("auth")
        assert client.mail("someone@example.net")[0] == 250
        assert client.rcpt("someone@example.org")[0] == 554  # no relaying for strangers
        assert client.rcpt("nobody@oxy.so")[0] == 550  # not a mailbox of the domain
        assert client.rcpt("postmaster@oxy.so")[0] == 250
        assert client.data(f"Subject: {subject}\r\n\r\nhello\r\n")[0] == 250
    deadline = time.monotonic() + 30
    kept = ""
    while subject not in kept and time.monotonic() < deadline:
        kept = on_droplet(key, address, f"grep -rl '{subject}' /var/lib/docker/volumes/oxy-smtp-mail/_data || true")
        time.sleep(0.5)
    assert "postmaster" in kept, "the message to postmaster@oxy.so is not in its Maildir"

    # Caddy renews the mail host's certificate (here: it has none and makes a new one): postfix serves it.
    served = served_certificate(outside, address, ca)
    on_droplet(key, address, f"rm -f {MAIL_CERT}.crt {MAIL_CERT}.key {MAIL_CERT}.json && docker restart oxy-caddy")
    deadline = time.monotonic() + 90
    while served_certificate(outside, address, ca) == served and time.monotonic() < deadline:
        time.sleep(1)
    renewed = served_certificate(outside, address, ca)
    assert renewed != served, "postfix still serves the certificate Caddy replaced"
    stored = on_droplet(key, address, f"openssl x509 -in {MAIL_CERT}.crt -outform DER | base64 -w0")
    assert base64.b64decode(stored) == renewed


MAIL_CERT = "/var/lib/docker/volumes/oxy-caddy-data/_data/caddy/certificates/local/mail.oxy.so/mail.oxy.so"


def served_certificate(outside: str, address: str, ca) -> bytes:
    """The certificate postfix shows on 587 after STARTTLS (DER)."""
    with session(outside, address, 587) as client:
        client.starttls(context=ca)
        return client.sock.getpeercert(binary_form=True)


ACCOUNT = yaml.safe_load((ROOT / "inventory/sandbox/group_vars/all/account.yml").read_text())
WEBHOOK = ACCOUNT["oxy_monitoring_slack_webhook"]


def notifications(sandbox, since: int = 0) -> list[dict]:
    """What the sandbox's monitoring would have emailed or posted (recipient, subject, text; never a webhook)."""
    return sandbox.control("GET", f"notifications?since={since}")["notifications"]


def wait_for_policy(sandbox, since: int, uuid: str, status: str, timeout: float = 90) -> list[dict]:
    """The notifications of the alert policy ``uuid`` with ``status``, once there are some."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [n for n in notifications(sandbox, since) if n.get("policy_uuid") == uuid and n["status"] == status]
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {status} notification of policy {uuid} within {timeout}s")


def wait_for_notes(sandbox, since: int, check: str, status: str, timeout: float = 60) -> list[dict]:
    """The notifications of the down alert of the uptime check named ``check`` with ``status``, once there are some."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [
            n
            for n in notifications(sandbox, since)
            if n.get("alert_type") == "down" and n["status"] == status and f"] {check} is " in n["subject"]
        ]
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {status} down notification of {check} in {timeout} s: {notifications(sandbox, since)}")
