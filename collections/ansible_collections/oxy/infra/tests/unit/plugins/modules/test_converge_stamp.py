"""oxy.infra.converge_stamp in process: files in a temporary directory, Docker's API served on a Unix socket by a
fake engine whose containers, networks, volumes and images each test changes, packages from this machine's dpkg."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socketserver
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.modules import converge_stamp


class Engine:
    """Docker's engine API, the few read calls the module makes, over a Unix socket."""

    def __init__(self, socket_path):
        self.containers = {}
        self.networks = {}
        self.volumes = {}
        self.images = {}
        self.requests = []
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def address_string(self):
                return "engine"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                engine.requests.append(url.path)
                parts = [urllib.parse.unquote(part) for part in url.path.strip("/").split("/")]
                body = engine.answer(parts, urllib.parse.parse_qs(url.query))
                data = json.dumps(body).encode()
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self, parts, query):
        if parts == ["containers", "json"]:
            label = json.loads(query["filters"][0])["label"][0]
            return [{"Id": c["Id"]} for c in self.containers.values() if label in c["Config"]["Labels"]]
        if parts[0] == "containers" and len(parts) == 3:
            return next((c for c in self.containers.values() if c["Id"] == parts[1]), None)
        if parts[0] == "networks":
            return self.networks.get(parts[1])
        if parts[0] == "volumes":
            return self.volumes.get(parts[1])
        if parts[0] == "images" and parts[-1] == "json":
            return self.images.get("/".join(parts[1:-1]))
        return None

    def container(self, name, ident, status="running", labels=None, memory=512):
        self.containers[name] = {
            "Id": ident,
            "Name": "/" + name,
            "Image": "sha256:" + ident,
            "State": {"Status": status},
            "Config": {"Labels": labels if labels is not None else {"oxy.stack": name}},
            "HostConfig": {"Memory": memory},
        }

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def engine(tmp_path):
    engine = Engine(tmp_path / "docker.sock")
    engine.container("oxy-caddy", "c1")
    engine.container("oxy-api-blue", "a1")
    engine.container("unrelated", "u1", labels={})
    engine.networks["oxy"] = {"Id": "n1", "Driver": "bridge", "Internal": False}
    engine.volumes["oxy-caddy-data"] = {"Driver": "local", "Mountpoint": "/var/lib/docker/volumes/oxy-caddy-data/_data"}
    engine.images["registry.example/api:v1"] = {"Id": "sha256:i1"}
    yield engine
    engine.stop()


@pytest.fixture
def host(tmp_path, engine):
    """A host's managed files, and the options of a stamp of them."""
    root = tmp_path / "opt"
    (root / "caddy").mkdir(parents=True)
    (root / "caddy" / "Caddyfile").write_text("api.example {\n}\n")
    (root / "api.env").write_text("SECRET=x\n")
    os.chmod(root / "api.env", 0o600)
    (tmp_path / "daemon.json").write_text("{}\n")
    return {
        "path": str(tmp_path / "state" / "stamp.json"),
        "paths": [str(root), str(tmp_path / "daemon.json"), str(tmp_path / "missing.conf")],
        "docker": {
            "host": "unix://%s" % (tmp_path / "docker.sock"),
            "label": "oxy.stack",
            "networks": ["oxy", "oxy-signing"],
            "volumes": ["oxy-caddy-data"],
            "images": ["registry.example/api:v1"],
        },
        "packages": ["dpkg", "oxy-no-such-package"],
        "groups": ["root"],
    }


def run(args, check_mode=False, diff=False):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit):
        converge_stamp.main()


def result(capsys, args, **kwargs):
    run(args, **kwargs)
    return json.loads(capsys.readouterr().out)


def record(capsys, host, inputs=None, **extra):
    return result(capsys, {**host, "state": "present", "inputs": inputs or {"machine": "m1", "stack": "s1"}, **extra})


def read(capsys, host, inputs=None):
    return result(capsys, {"path": host["path"], "inputs": inputs or {"machine": "m1", "stack": "s1"}})


def test_no_stamp_is_not_current_and_reads_nothing(capsys, host, engine):
    out = read(capsys, host)
    assert (out["found"], out["current"]) == (False, False)
    assert out["reasons"] == ["no stamp: the host was never converged to the end"]
    assert engine.requests == []


def test_recorded_host_is_current_and_the_stamp_is_root_alone(capsys, host):
    written = record(capsys, host, data={"dkim_public_keys": {"k1": "MIIB"}})
    assert written["changed"] is True
    out = read(capsys, host)
    assert out["current"] is True, out["reasons"]
    assert out["data"] == {"dkim_public_keys": {"k1": "MIIB"}}
    assert out["inputs"] == {"machine": "m1", "stack": "s1"}
    # opt, opt/caddy and two files; daemon.json, missing.conf; two containers and their count; two networks, a
    # volume, an image; two packages; a group
    assert out["items"] == written["items"] == 4 + 2 + 3 + 2 + 1 + 1 + 2 + 1
    assert os.stat(host["path"]).st_mode & 0o777 == 0o600
    assert "SECRET" not in Path(host["path"]).read_text()


def test_recording_again_changes_nothing_and_check_mode_writes_nothing(capsys, host):
    record(capsys, host)
    before = Path(host["path"]).read_text()
    assert record(capsys, host)["changed"] is False
    planned = result(capsys, {**host, "state": "present", "inputs": {"machine": "m2"}}, check_mode=True, diff=True)
    assert planned["changed"] is True
    assert planned["diff"]["before"]["inputs"] == {"machine": "m1", "stack": "s1"}
    assert planned["diff"]["after"]["inputs"] == {"machine": "m2"}
    assert Path(host["path"]).read_text() == before


def test_changed_inputs_and_expiry_are_named(capsys, host):
    record(capsys, host, expires_at=int(time.time()) + 3600)
    assert read(capsys, host, {"machine": "m1"})["current"] is True  # only the sections given are compared
    assert read(capsys, host, {"machine": "m1", "stack": "s2"})["reasons"] == ["inputs of stack changed"]
    record(capsys, host, expires_at=int(time.time()) - 1)
    out = read(capsys, host)
    assert out["current"] is False
    assert [reason.split(" at ")[0] for reason in out["reasons"]] == ["expired"]


DRIFTS = {
    "file content": (lambda d, e: (d / "opt/caddy/Caddyfile").write_text("x"), "path {d}/opt/caddy/Caddyfile: changed"),
    "file mode": (lambda d, e: os.chmod(d / "opt/api.env", 0o644), "path {d}/opt/api.env: changed"),
    "file added": (lambda d, e: (d / "opt/caddy/stray").write_text(""), "path {d}/opt/caddy/stray: new"),
    "file removed": (lambda d, e: (d / "daemon.json").unlink(), "path {d}/daemon.json: changed"),
    "file made": (lambda d, e: (d / "missing.conf").write_text(""), "path {d}/missing.conf: changed"),
    "directory removed": (lambda d, e: shutil.rmtree(d / "opt/caddy"), "path {d}/opt/caddy: no longer read"),
    "container stopped": (lambda d, e: e.container("oxy-caddy", "c1", status="exited"), "container oxy-caddy: changed"),
    "container recreated": (lambda d, e: e.container("oxy-caddy", "c2"), "container oxy-caddy: changed"),
    "container updated": (lambda d, e: e.container("oxy-caddy", "c1", memory=1024), "container oxy-caddy: changed"),
    "container removed": (lambda d, e: e.containers.pop("oxy-api-blue"), "container oxy-api-blue: no longer read"),
    "container added": (lambda d, e: e.container("oxy-api-green", "a2"), "container oxy-api-green: new"),
    "network removed": (lambda d, e: e.networks.pop("oxy"), "network oxy: changed"),
    "volume removed": (lambda d, e: e.volumes.pop("oxy-caddy-data"), "volume oxy-caddy-data: changed"),
    "image replaced": (
        lambda d, e: e.images.update({"registry.example/api:v1": {"Id": "sha256:i2"}}),
        "image registry.example/api:v1: changed",
    ),
}


@pytest.mark.parametrize("drift, reason", DRIFTS.values(), ids=DRIFTS.keys())
def test_drift_is_named(capsys, tmp_path, host, engine, drift, reason):
    record(capsys, host)
    drift(tmp_path, engine)
    out = read(capsys, host)
    assert out["current"] is False
    assert reason.format(d=tmp_path) in out["reasons"], out["reasons"]


def test_an_unrelated_container_is_not_read(capsys, host, engine):
    record(capsys, host)
    engine.container("unrelated", "u2", labels={})
    assert read(capsys, host)["current"] is True


def test_docker_down_or_missing_is_state_too(capsys, host, engine, tmp_path):
    record(capsys, host)
    engine.stop()
    (tmp_path / "docker.sock").unlink()
    out = read(capsys, host)
    assert out["current"] is False
    assert "docker: new" in out["reasons"]
    assert "container oxy-caddy: no longer read" in out["reasons"]


def test_reasons_are_bounded(capsys, host, tmp_path):
    record(capsys, host)
    for index in range(30):
        (tmp_path / "opt" / f"stray{index}").write_text("")
    reasons = read(capsys, host)["reasons"]
    assert len(reasons) == converge_stamp.MAX_REASONS + 1
    assert reasons[-1] == "and 10 more"


def test_an_unreadable_stamp_is_not_current(capsys, host):
    record(capsys, host)
    Path(host["path"]).write_text("{not json")
    out = read(capsys, host)
    assert (out["found"], out["current"], out["reasons"]) == (True, False, ["unreadable stamp"])


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"inputs": {"machine": ""}}, "inputs maps each section to a digest (a non-empty string): not machine"),
        (
            {"docker": {"host": "tcp://10.0.0.1:2375"}},
            "docker.host must be a local socket (unix://PATH), not tcp://10.0.0.1:2375",
        ),
    ],
    ids=["empty digest", "remote engine"],
)
def test_bad_input_fails_before_writing(capsys, host, bad, message):
    run({**host, "state": "present", "inputs": {"machine": "m1"}, **bad})
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert out["msg"] == message
    assert not os.path.exists(host["path"])
