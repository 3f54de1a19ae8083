"""A CA handed over to Caddy in place of another: what api_stack does about the certificates the old one signed.

Caddy keeps the certificates it issued in its storage and in its memory, and a reload (even ``--force``) goes on
serving them after its CA changed, until they are due for renewal: clients that trust the new CA alone are
refused for weeks. The role (tasks/caddy.yml) removes the local issuer's certificates and restarts Caddy when
the CA's files changed; this runs the same in the stack's Caddy image and shows both halves: the reload alone
keeps the old certificate, the role's way serves one of the new CA at once.

Needs a Docker engine and the Caddy image (scripts/test builds it and exports OXY_IMAGE_CADDY).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import time
import uuid
from pathlib import Path

import pytest
import yaml
from oxy_sandbox.tls import ensure_public_ca

from tests.roles.test_caddyfile import ROLE, render_caddyfile

STORAGE = "caddy/pki/authorities/local"  # inside Caddy's data folder, as the role puts it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _verifies(port: int, root: Path) -> bool:
    """Whether Caddy's certificate for api.oxy.so on ``port`` verifies against ``root`` alone."""
    context = ssl.create_default_context(cafile=str(root))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname="api.oxy.so"),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


def _wait(what, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"not within {timeout}s"
        time.sleep(0.25)


def _hand_over(folder: Path, data: Path) -> None:
    for name in ("root.crt", "root.key", "intermediate.crt", "intermediate.key"):
        shutil.copy(folder / name, data / STORAGE / name)


def _role_task(name: str) -> dict:
    tasks = yaml.safe_load((ROLE / "tasks/caddy.yml").read_text())
    return next(task for task in tasks if task["name"] == name)


@pytest.mark.slow
def test_a_new_ca_is_served_at_once_and_a_reload_alone_would_not(tmp_path):
    image = os.environ.get("OXY_IMAGE_CADDY")
    if not image:
        pytest.skip("the stack's Caddy image is not built (OXY_IMAGE_CADDY; scripts/test builds it)")
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - no engine: skip with the reason
        pytest.skip(f"no Docker engine: {exc}")

    # The role's two steps, as it writes them: the local issuer's certificates removed, Caddy restarted.
    removal = _role_task("The certificates the previous CA signed")
    assert removal["when"] == "_api_stack_caddy_ca | bool and __api_stack_caddy_ca_copied is changed"
    assert removal["ansible.builtin.file"]["state"] == "absent"
    certificates = removal["ansible.builtin.file"]["path"].replace("{{ _api_stack_caddy_data_host }}", "/data")
    assert certificates == "/data/caddy/certificates/local"
    assert _role_task("Caddy")["community.docker.docker_container"]["restart"] == (
        "{{ __api_stack_caddy_ca_copied is changed }}"
    )

    old, new = ensure_public_ca(tmp_path / "old"), ensure_public_ca(tmp_path / "new")
    conf, data = tmp_path / "conf", tmp_path / "data"
    (data / STORAGE).mkdir(parents=True)
    _hand_over(old, data)
    conf.mkdir()
    (conf / "Caddyfile").write_text(
        render_caddyfile(
            api_stack_tls_internal=True,
            api_stack_tls_internal_ca_dir="/handed-over",
            api_stack_smtp_enabled=False,
            _api_stack_api_prefix="",
            __api_stack_serving="127.0.0.1",
            api_stack_api_port=3000,
        )
    )
    port = _free_port()
    container = client.containers.run(
        image,
        [
            "sh",
            "-c",
            "python3 -m http.server 3000 --bind 127.0.0.1 --directory /etc/caddy >/dev/null 2>&1 & "
            "exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile",
        ],
        name=f"oxy-test-caddy-ca-{uuid.uuid4().hex[:8]}",
        detach=True,
        ports={"443/tcp": ("127.0.0.1", port)},
        volumes={str(conf): {"bind": "/etc/caddy", "mode": "ro"}, str(data): {"bind": "/data", "mode": "rw"}},
        labels={"oxy.test": "caddy-ca"},
    )
    try:
        _wait(lambda: _verifies(port, old / "root.crt"), 30)

        # The CA's files replaced, and a forced reload: the certificate the old CA signed is still served.
        _hand_over(new, data)
        reload = ["caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile", "--force"]
        done = container.exec_run(reload)
        assert done.exit_code == 0, done.output
        time.sleep(2)
        assert _verifies(port, old / "root.crt") and not _verifies(port, new / "root.crt")

        # The role's way: the old certificates removed, Caddy restarted; the new CA's certificate at once.
        done = container.exec_run(["rm", "-rf", certificates])
        assert done.exit_code == 0, done.output
        container.restart(timeout=5)
        _wait(lambda: _verifies(port, new / "root.crt"), 30)
        assert not _verifies(port, old / "root.crt")
    finally:
        container.remove(force=True)
