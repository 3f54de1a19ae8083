"""scripts/status-page against the sandbox (without machines): the seed's account, an uptime check that is
up (a server of this test on loopback), one that is down (api.oxy.so: without machines the sandbox never
probes the droplet's address) and an alert policy; then the page is read as text and opened in Debian's
chromium, headless.
"""

from __future__ import annotations

import html
import http.server
import os
import re
import shutil
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.fixtures import lived_in

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "dop_v1_status-page-token-never-shown"
HOOK = "https://hooks.slack.com/services/T000/B000/status-page-secret-hook"
NOTIFY = {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy-alerts", "url": HOOK}]}
INTERVAL = 0.2
RESOURCES = [
    "vpc default-ams3",
    "droplet oxy-api-backend",
    "firewall oxy-api-backend",
    "database db-oxy",
    "database db-valkey-ams3-04785",
    *(f"app {name}" for name, *_ in lived_in.APPS),
]
IN_VPC = [
    "droplet oxy-api-backend",
    "database db-oxy",
    "database db-valkey-ams3-04785",
    *(f"app {name}" for name, _, _, _, in_vpc, _ in lived_in.APPS if in_vpc),
]
TRUSTED = ["droplet oxy-api-backend", *(f"app {name}" for name, *_ in lived_in.APPS)]


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def account(sandbox_process):
    """The seed's account with two uptime checks (one up, one down), their alerts and an alert policy."""
    sandbox = sandbox_process
    sandbox.reset()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    do = sandbox.client()
    key = Path(os.environ["OXY_SSH_KEY_FILE"] + ".pub").read_text().strip()
    ids = lived_in.fill(do, key, ["198.51.100.1/32"])
    # alia-production is told of failed deployments, and its next one fails.
    sandbox.configure(deploy_failures={"alia-production": "the build failed: npm ERR! code ELIFECYCLE"})
    alia = do.apps.get(ids["app"]["alia-production"])["app"]
    do.apps.update(alia["id"], {"spec": {**alia["spec"], "alerts": [{"rule": "DEPLOYMENT_FAILED"}]}})
    lived_in.wait(
        lambda: do.apps.list_deployments(alia["id"])["deployments"][0], lambda d: d["phase"] == "ERROR", timeout=15
    )
    default = sandbox.control("GET", "config")["uptime_interval"]
    sandbox.configure(uptime_interval=INTERVAL)
    try:
        checks = {
            "api.oxy.so": {"type": "https", "target": "https://api.oxy.so", "regions": ["us_east", "eu_west"]},
            "status-probe": {
                "type": "http",
                "target": f"http://127.0.0.1:{server.server_address[1]}/",
                "regions": ["eu_west"],
            },
        }
        ids = {}
        for name, check in checks.items():
            ids[name] = do.uptime.create_check({"name": name, **check, "enabled": True})["check"]["id"]
            for kind, threshold in (("down", None), ("ssl_expiry", 14)):
                alert = {"name": f"{name} {kind}", "type": kind, "notifications": NOTIFY, "period": "2m"}
                do.uptime.create_alert(ids[name], {**alert, **({"threshold": threshold} if threshold else {})})
        do.monitoring.create_alert_policy(
            {
                "type": "v1/insights/droplet/cpu",
                "description": "oxy-api-backend CPU",
                "compare": "GreaterThan",
                "value": 80,
                "window": "5m",
                "entities": [],
                "tags": ["oxy"],
                "alerts": {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy-alerts", "url": HOOK}]},
                "enabled": True,
            }
        )
        wanted = {"api.oxy.so": {"DOWN"}, "status-probe": {"UP"}}
        deadline = time.monotonic() + 15
        while True:
            states = {
                name: {r["status"] for r in do.uptime.get_check_state(i)["state"]["regions"].values()}
                for name, i in ids.items()
            }
            if states == wanted:
                break
            assert time.monotonic() < deadline, f"the checks did not settle: {states}"
            time.sleep(INTERVAL)
        # Stop probing: the page reads a state that stays as it was asserted.
        sandbox.configure(uptime_interval=default)
        yield sandbox
    finally:
        sandbox.configure(uptime_interval=default)
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def written(account, tmp_path_factory):
    """scripts/status-page run as an operator runs it, pointed at the sandbox; (page path, its output)."""
    out = tmp_path_factory.mktemp("status") / "index.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGITALOCEAN_", "DO_API"))}
    env.update(account.running.env(token=TOKEN))
    proc = subprocess.run(
        [str(ROOT / "scripts/status-page"), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"written to {out}" in proc.stdout
    return out, proc.stdout + proc.stderr


def _svg_titles(page: str) -> set[str]:
    """The titles of the diagram's nodes ("droplet oxy-api-backend") and edges ("tail->head")."""
    return {html.unescape(m) for m in re.findall(r"<title>([^<]*)</title>", page)}


def _node_texts(page: str) -> dict[str, list[str]]:
    """Each diagram node's lines of text, by the node's title."""
    found = {}
    for title, body in re.findall(r'class="node">\s*<title>([^<]*)</title>(.*?)</g>', page, re.S):
        found[html.unescape(title)] = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", body)]
    return found


def test_the_page_shows_every_resource_edge_and_check_state(account, written):
    path, _ = written
    page = path.read_text()
    titles = _svg_titles(page)
    assert set(RESOURCES) <= titles, f"missing nodes: {set(RESOURCES) - titles}"
    assert {f"{member}->vpc default-ams3" for member in IN_VPC} <= titles
    assert "app allo-app->vpc default-ams3" not in titles  # nyc: not a member
    for cluster in ("database db-oxy", "database db-valkey-ams3-04785"):
        assert {f"{source}->{cluster}" for source in TRUSTED} <= titles, f"trusted sources of {cluster}"
    assert "firewall oxy-api-backend->droplet oxy-api-backend" in titles
    # The checks beside what they probe: api.oxy.so is the droplet (its A record in the account's DNS).
    assert {"check api.oxy.so", "check status-probe", "check api.oxy.so->droplet oxy-api-backend"} <= titles
    assert not [t for t in titles if t.startswith("check status-probe->")]  # loopback: no resource of the account
    # The firewall's inbound rules, SSH restricted and the mail ports open.
    for rule in ("tcp 22 from 198.51.100.1/32", "tcp 25 from 0.0.0.0/0, ::/0", "tcp 443 from 0.0.0.0/0, ::/0"):
        assert rule in page
    # Each node's state as the API reads: the droplet active, clusters online, apps' deployments ACTIVE.
    nodes = _node_texts(page)
    assert nodes["droplet oxy-api-backend"][:3] == ["Droplet", "oxy-api-backend", "active"]
    for cluster in ("db-oxy", "db-valkey-ams3-04785"):
        assert nodes[f"database {cluster}"][:3] == ["Database cluster", cluster, "online"]
    for name, *_ in lived_in.APPS:
        assert nodes[f"app {name}"][2] == ("ERROR" if name == "alia-production" else "ACTIVE"), nodes[f"app {name}"]
    # The app whose newest deployment failed: red, still serving the previous one, its alert fired.
    assert "live: the previous deployment, ACTIVE" in nodes["app alia-production"]
    assert re.search(r'id="node-app-alia-production" class="node">.*?fill="#ffd6d6"', html.unescape(page), re.S)
    assert "alia-production: DEPLOYMENT_FAILED alert fired (its newest deployment is ERROR)" in page
    assert "mention-production: DEPLOYMENT_FAILED" not in page
    # The checks' states, the down one as down with its firing alert; the policy with its caveat.
    assert re.search(r'data-check="api.oxy.so".*?<td class="state bad">DOWN</td>', page)
    assert re.search(r'data-check="status-probe".*?<td class="state good">UP</td>', page)
    assert "api.oxy.so: down alert fires (https://api.oxy.so is DOWN from us_east, eu_west)" in page
    assert "status-probe: down" not in page
    assert "1/2 uptime checks up" in page and "2 alerts firing" in page
    assert "oxy-api-backend CPU" in page and "GreaterThan 80 over 5m" in page and "tag oxy" in page
    assert "public API says what each alert policy watches" in page
    # Self-contained: nothing is loaded from anywhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page


def test_no_secret_reaches_the_page_or_the_output(account, written):
    path, output = written
    page = path.read_text()
    secrets = account.control("GET", "secrets")
    found = [*secrets["secrets"], *secrets["registry"]]
    assert found, "the seeded account has database passwords"
    for secret in [*found, TOKEN, HOOK, "status-page-secret-hook"]:
        assert secret not in page, "a secret is on the page"
        assert secret not in output, "a secret was printed"


def test_a_read_that_fails_says_which_and_writes_nothing(account, tmp_path):
    out = tmp_path / "index.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGITALOCEAN_", "DO_API"))}
    env.update(account.running.env(token=account.mint("droplet:read")))  # no vpc:read, the first read
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/status_page.py"), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "status-page: vpcs.list failed (HTTP 403)" in proc.stderr
    assert not out.exists()


# -- in a real browser --------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # --no-sandbox: the tests run as root in an unprivileged container, where chromium's setuid/namespace
    # sandbox cannot start (it refuses to run as root without it). The page has no script to contain.
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, check=True)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup --docker installs it)")
def test_the_page_renders_in_headless_chromium(written, tmp_path):
    path, _ = written
    dom = _chromium("--dump-dom", path.as_uri()).stdout
    assert '<svg width="' in dom and 'id="graph0"' in dom, "the diagram is not in the rendered DOM"
    assert set(RESOURCES) <= _svg_titles(dom)
    nodes = _node_texts(dom)
    assert nodes["check api.oxy.so"][2] == "DOWN" and nodes["check status-probe"][2] == "UP"
    assert nodes["app alia-production"][2] == "ERROR"
    shot = tmp_path / "page.png"
    _chromium(f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars", path.as_uri())
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 900)
    colours = {pixels[i : i + 3] for i in range(0, len(pixels), 3 * 7)}  # every 7th pixel
    assert len(colours) > 50, f"the screenshot is nearly blank ({len(colours)} colours)"
    # The header's dark band is drawn (the page's CSS applied), and the page is not one colour.
    assert pixels[: 3 * 20] == bytes.fromhex("1f2733") * 20


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of an 8-bit RGB/RGBA, non-interlaced PNG (what chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    rgb = bytearray()
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        previous = line
        if channels == 4:
            rgb += b"".join(bytes(line[i : i + 3]) for i in range(0, stride, 4))
        else:
            rgb += line
    return width, height, bytes(rgb)
