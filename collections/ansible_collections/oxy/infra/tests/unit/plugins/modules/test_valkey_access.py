"""oxy.infra.valkey_access in process, redis-py on the wire against real redis-server processes on 127.0.0.1.

Debian's redis-server speaks Valkey's protocol. Each server here runs with TLS only (as DigitalOcean's
``rediss://``) and the password of its ``default`` user, or as the misconfigured variants the module must
catch. Skipped, with the reason, where no redis-server is installed (scripts/setup --docker installs it).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from urllib.parse import quote

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.modules import valkey_access

PASSWORD = "Pa55:w/rd@%3Cret+x"  # every character that must be percent-encoded in a URL
SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(SERVER is None, reason="redis-server is not installed (scripts/setup --docker)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One redis-server on 127.0.0.1; ``tls`` serves rediss:// only, like a managed cluster."""

    def __init__(self, folder, pki, tls=True, acl="on >%s ~* &* +@all" % PASSWORD):
        self.port = free_port()
        args = [SERVER, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)]
        if tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", str(pki / "server.pem"), "--tls-key-file", str(pki / "server.pem")]
            args += ["--tls-ca-cert-file", str(pki / "ca.pem")]
        else:
            args += ["--port", str(self.port)]
        (folder / "users.acl").write_text("user default %s\n" % acl)
        args += ["--aclfile", str(folder / "users.acl")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def server(tmp_path, pki):
    started = []

    def start(**kwargs):
        folder = tmp_path / ("server%d" % len(started))
        folder.mkdir()
        started.append(Server(folder, pki, **kwargs))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def url(port, password=PASSWORD, scheme="rediss"):
    return "%s://default:%s@127.0.0.1:%d" % (scheme, quote(password, safe=""), port)


def run(capsys, check_mode=False, **args):
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        valkey_access.main()
    out = capsys.readouterr().out
    assert PASSWORD not in out and quote(PASSWORD, safe="") not in out, "the password leaked"
    return exited.value.code, json.loads(out)


def keys(port, pki):
    import redis

    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        password=PASSWORD,
        ssl=True,
        ssl_ca_certs=str(pki / "ca.pem"),
        ssl_check_hostname=False,
    )
    try:
        return client.keys("*")
    finally:
        client.close()


def test_a_working_url_passes_every_check_and_leaves_nothing(server, pki, capsys):
    valkey = server()
    code, out = run(capsys, url=url(valkey.port), tls_ca_file=str(pki / "ca.pem"), ttl=30)
    assert code == 0, out
    assert out["changed"] is False and out["host"] == "127.0.0.1"
    assert [c["name"] for c in out["checks"]] == [
        "authenticate",
        "set and get a key with a time to live",
        "refuse a wrong password",
    ]
    assert all(c["ok"] for c in out["checks"])
    assert "over TLS" in out["checks"][0]["detail"] and "of 30s" in out["checks"][1]["detail"]
    assert "invalid username-password pair" in out["checks"][2]["detail"]
    assert keys(valkey.port, pki) == []


def test_check_mode_proves_the_same(server, pki, capsys):
    valkey = server()
    code, out = run(capsys, check_mode=True, url=url(valkey.port), tls_ca_file=str(pki / "ca.pem"))
    assert code == 0 and len(out["checks"]) == 3, out


def test_a_stale_password_is_an_authentication_failure(server, pki, capsys):
    valkey = server()
    code, out = run(capsys, url=url(valkey.port, password="rotated-away"), tls_ca_file=str(pki / "ca.pem"))
    assert code == 1 and out["reason"] == "authentication", out
    assert "refused the URL's user and password" in out["msg"] and out["checks"] == []


def test_a_server_that_takes_any_password_fails(server, pki, capsys):
    valkey = server(acl="on nopass ~* &* +@all")
    code, out = run(capsys, url=url(valkey.port), tls_ca_file=str(pki / "ca.pem"))
    assert code == 1 and out["reason"] == "wrong_password_accepted", out
    assert [c["name"] for c in out["checks"]] == ["authenticate", "set and get a key with a time to live"]


def test_a_user_that_cannot_write_fails_with_the_servers_answer(server, pki, capsys):
    valkey = server(acl="on >%s ~* &* +@read +ping +@connection" % PASSWORD)
    code, out = run(capsys, url=url(valkey.port), tls_ca_file=str(pki / "ca.pem"))
    assert code == 1 and out["reason"] == "operation", out
    assert "refused to write and read a key" in out["msg"] and "no permissions to run the 'set' command" in out["msg"]


def test_another_ca_is_a_tls_failure(server, pki, capsys):
    valkey = server()
    code, out = run(capsys, url=url(valkey.port), tls_ca_file=str(pki / "other-ca.pem"), timeout=2)
    assert code == 1 and out["reason"] == "tls", out
    assert "certificate verify failed" in out["msg"] and "check tls_ca_file" in out["msg"]


def test_plain_redis_urls_work_too(server, pki, capsys):
    valkey = server(tls=False)
    code, out = run(capsys, url=url(valkey.port, scheme="redis"))
    assert code == 0 and "over TLS" not in out["checks"][0]["detail"], out


def test_a_server_that_never_answers_is_a_timeout(capsys):
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        code, out = run(capsys, url=url(listener.getsockname()[1]), timeout=0.5)
    finally:
        listener.close()
        for conn, _addr in accepted:
            conn.close()
    assert code == 1 and out["reason"] == "timeout", out
    assert "trusted source" in out["msg"]


@pytest.mark.parametrize(
    "bad, why",
    [
        ("https://default:x@127.0.0.1:1", "scheme 'https'"),
        ("rediss://default@127.0.0.1:1", "carries no password"),
        ("rediss://default:x@127.0.0.1:notaport", "not a valid URL"),
    ],
)
def test_bad_urls_are_refused_before_connecting(capsys, bad, why):
    code, out = run(capsys, url=bad)
    assert code == 1 and out["reason"] == "configuration" and why in out["msg"], out
