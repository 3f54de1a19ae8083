"""The registry's credentials as DigitalOcean hands them out: read-only unless asked, dead after their expiry.

The sandbox's registry (Debian's docker-registry behind the sandbox's token service, as DOCR works) is
reached from this machine at its address on the sandbox's public network, by this machine's Docker
engine (which trusts the sandbox's CA there) and by plain HTTPS; nothing leaves that network. Then the
role oxy.infra.api_stack's registry login (tasks/login.yml) against it: kept while fresh, renewed once
lapsed, with pulls working.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sys
import time

import pytest
import requests

from tests.fixtures.playbooks import ansible_playbook

HOST = "registry.digitalocean.com"
REPOSITORY = "oxy/credentials-probe"


@pytest.fixture
def registry(sandbox, do) -> str:
    """The registry's address, with the account's registry created."""
    info = sandbox.control("GET", "machines")
    if not info.get("enabled") and info.get("reason"):
        pytest.skip(f"this sandbox has no machines: {info['reason']}")
    if not info.get("registry"):
        pytest.skip("this sandbox runs no registry (Debian's docker-registry is not installed)")
    do.registry.create({"name": "oxy", "subscription_tier_slug": "basic", "region": "ams3"})
    return info["registry"]


@pytest.fixture
def engine(registry):
    """This machine's Docker engine, with a tiny image (no layers) to push as REPOSITORY:1."""
    docker = pytest.importorskip("docker")
    client = docker.from_env(timeout=120)
    image, _logs = client.images.build(
        fileobj=io.BytesIO(b"FROM scratch\nLABEL oxy.test=registry-credentials\n"), rm=True
    )
    image.tag(f"{registry}/{REPOSITORY}", "1")
    yield client
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(f"{registry}/{REPOSITORY}:1", noprune=True)


def credentials(do, **query) -> tuple[str, str]:
    auth = do.registry.get_docker_credentials(**query)["auths"][HOST]["auth"]
    user, _sep, password = base64.b64decode(auth).decode().partition(":")
    return user, password


def push(engine, registry: str, user: str, password: str) -> str:
    """The push's last status or error line."""
    lines = engine.images.push(
        f"{registry}/{REPOSITORY}", "1", auth_config={"username": user, "password": password}, stream=True, decode=True
    )
    last = [line for line in lines if "error" in line or "status" in line][-1]
    return last.get("error") or last["status"]


def login(engine, registry: str, user: str, password: str) -> bool:
    import docker

    try:
        engine.login(user, password, registry=registry, reauth=True, dockercfg_path="/nonexistent/config.json")
        return True
    except docker.errors.APIError as exc:
        assert "unauthorized" in str(exc), exc
        return False


def token(sandbox, registry: str, user: str, password: str, scope: str) -> requests.Response:
    """What a client does on the registry's challenge: ask the realm it names for a token."""
    challenge = requests.get(f"https://{registry}/v2/", verify=sandbox.ca, timeout=10)
    assert challenge.status_code == 401
    fields = dict(
        part.split("=", 1) for part in challenge.headers["WWW-Authenticate"].removeprefix("Bearer ").split(",")
    )
    realm, service = fields["realm"].strip('"'), fields["service"].strip('"')
    assert service == HOST
    return requests.get(
        realm, params={"service": service, "scope": scope}, auth=(user, password), verify=sandbox.ca, timeout=10
    )


def granted(answer: requests.Response) -> list[str]:
    claims = answer.json()["token"].split(".")[1]
    return [a for access in json.loads(base64.urlsafe_b64decode(claims + "==="))["access"] for a in access["actions"]]


@pytest.mark.slow
def test_read_only_credentials_pull_but_cannot_push(sandbox, do, registry, engine):
    writer, reader = credentials(do, read_write=True), credentials(do)
    assert writer != reader  # every call makes new credentials
    scope = f"repository:{REPOSITORY}:pull,push"
    assert granted(token(sandbox, registry, *writer, scope)) == ["pull", "push"]
    assert granted(token(sandbox, registry, *reader, scope)) == ["pull"]

    assert "denied" in push(engine, registry, *reader)
    assert push(engine, registry, *writer).startswith("1: digest: sha256:")
    engine.images.remove(f"{registry}/{REPOSITORY}:1", noprune=True)
    pulled = engine.images.pull(
        f"{registry}/{REPOSITORY}", "1", auth_config={"username": reader[0], "password": reader[1]}
    )
    assert f"{registry}/{REPOSITORY}:1" in pulled.tags


@pytest.mark.slow
def test_credentials_with_an_expiry_stop_working_at_the_registry_then(sandbox, do, registry, engine):
    assert push(engine, registry, *credentials(do, read_write=True)).startswith("1: digest:")
    started = time.time()
    short, lasting = credentials(do, expiry_seconds=4), credentials(do, expiry_seconds=3600)
    assert login(engine, registry, *short)
    before = token(sandbox, registry, *short, f"repository:{REPOSITORY}:pull")
    assert before.status_code == 200 and granted(before) == ["pull"]
    manifest = f"https://{registry}/v2/{REPOSITORY}/manifests/1"
    headers = {
        "Authorization": f"Bearer {before.json()['token']}",
        "Accept": "application/vnd.docker.distribution.manifest.v2+json",
    }
    assert requests.get(manifest, headers=headers, verify=sandbox.ca, timeout=10).status_code == 200

    time.sleep(max(0.0, started + 5 - time.time()))
    assert not login(engine, registry, *short)  # the engine's login is refused
    assert token(sandbox, registry, *short, f"repository:{REPOSITORY}:pull").status_code == 401
    # and a token handed out before the end dies with the credentials, at the registry itself
    assert requests.get(manifest, headers=headers, verify=sandbox.ca, timeout=10).status_code == 401
    assert login(engine, registry, *lasting)  # others are untouched
    assert sandbox.api("GET", "/v2/registry/docker-credentials?expiry_seconds=-1").status_code == 400


LOGIN_PLAYBOOK = """
- name: The registry login of oxy.infra.api_stack, then a pull with it
  hosts: localhost
  connection: local
  gather_facts: false
  environment:
    HOME: "{{ probe_home }}"
  tasks:
    - name: Registry login
      ansible.builtin.include_role:
        name: oxy.infra.api_stack
        tasks_from: login
    - name: Pull with the stored login
      community.docker.docker_image_pull:
        name: "{{ api_stack_registry_url }}/oxy/credentials-probe:1"
        pull: not_present
"""


@pytest.mark.slow
def test_the_droplets_login_is_renewed_once_lapsed_and_kept_while_fresh(sandbox, do, registry, engine, tmp_path):
    """The role's login against the real registry: four runs, each with new credentials from the API."""
    assert push(engine, registry, *credentials(do, read_write=True)).startswith("1: digest:")
    engine.images.remove(f"{registry}/{REPOSITORY}:1", noprune=True)
    playbook = tmp_path / "login.yml"
    playbook.write_text(LOGIN_PLAYBOOK)
    home, root = tmp_path / "home", tmp_path / "stack"
    home.mkdir()
    docker_config, record = home / ".docker/config.json", root / "registry-login.json"

    def run(expiry: int, *args: str):
        asked = int(time.time())
        user, password = credentials(do, expiry_seconds=expiry)
        extra = tmp_path / "credentials.json"
        extra.write_text(
            json.dumps(
                {
                    "probe_home": str(home),
                    # this virtualenv's (Docker's SDK is there; an interpreter found by discovery may need HOME)
                    "ansible_python_interpreter": sys.executable,
                    "api_stack_root": str(root),
                    "api_stack_registry_url": registry,
                    "api_stack_registry_username": user,
                    "api_stack_registry_password": password,
                    "api_stack_registry_expires_at": asked + expiry,
                    "api_stack_registry_refresh_margin": 5,
                }
            )
        )
        extra.chmod(0o600)
        env = {"OXY_PLAN_JSON": str(tmp_path / "plan.json")}
        extra_vars = ("-e", f"@{extra}", *args)
        rc, out, stats = ansible_playbook(sandbox, str(playbook), *extra_vars, inventory="localhost,", env=env)
        assert rc == 0, out
        assert password not in out
        return stats["changed"], (user, password)

    def stored() -> str:
        return json.loads(docker_config.read_text())["auths"][registry]["auth"]

    def auth(pair) -> str:
        return base64.b64encode(":".join(pair).encode()).decode()

    # First run: logs in (its credentials live 40s, a margin of 5s: time for the next run) and pulls.
    asked = time.time()
    changed, first = run(40, "-vvv")  # nothing secret in the output, even so
    assert changed == 3  # the login, its record (with the stack's directory, one task), the pull
    assert stored() == auth(first)
    kept = json.loads(record.read_text())
    assert kept["registry"] == registry and asked + 39 <= kept["expires_at"] <= time.time() + 40
    assert sorted(kept) == ["expires_at", "registry"]  # no secret
    assert oct(record.stat().st_mode & 0o777) == "0o600"

    # Fresh: the next run keeps the stored login, and a pull (a redeploy's new image) works with it.
    marks = (docker_config.stat().st_mtime_ns, record.stat().st_mtime_ns)
    engine.images.remove(f"{registry}/{REPOSITORY}:1", noprune=True)
    changed, _second = run(3600)
    assert changed == 1  # the pull alone
    assert stored() == auth(first)
    assert (docker_config.stat().st_mtime_ns, record.stat().st_mtime_ns) == marks

    # Lapsed: the stored login no longer pulls; the next run logs in again, and pulls work.
    time.sleep(max(0.0, kept["expires_at"] + 1 - time.time()))
    assert not login(engine, registry, *first)
    engine.images.remove(f"{registry}/{REPOSITORY}:1", noprune=True)
    changed, third = run(3600)
    assert changed == 3
    assert stored() == auth(third)
    assert json.loads(record.read_text())["expires_at"] > time.time() + 3000

    # And fresh again, nothing to pull: a run that changes nothing and writes nothing.
    marks = (docker_config.stat().st_mtime_ns, record.stat().st_mtime_ns)
    changed, _fourth = run(3600)
    assert changed == 0
    assert stored() == auth(third)
    assert (docker_config.stat().st_mtime_ns, record.stat().st_mtime_ns) == marks
