"""The status page's parts that need no API: where it points pydo, which alerts it calls firing, how it
writes a rule, and a page drawn from a hand-made environment (Graphviz runs, nothing else)."""

from __future__ import annotations

import http.server
import json
import shutil
import threading

import pytest

from scripts import status_page as sp


class _Api(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps({"vpcs": [{"id": "v1"}], "links": {}, "meta": {"total": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_the_client_reads_the_variables_the_modules_read():
    with pytest.raises(sp.StatusPageError, match="no API token: set DIGITALOCEAN_TOKEN"):
        sp.client_from_environment({})
    _, url = sp.client_from_environment({"DO_API_TOKEN": "t"})
    assert url == "https://api.digitalocean.com"
    # Plain http (a local sandbox): pydo would not send the token; the page sends it as the modules do.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        where = f"http://127.0.0.1:{server.server_address[1]}/"
        client, url = sp.client_from_environment({"DIGITALOCEAN_ACCESS_TOKEN": "tok", "DIGITALOCEAN_API_URL": where})
        assert url == where.rstrip("/")
        assert sp.Reader(client).every("vpcs.list", "vpcs") == [{"id": "v1"}]
    finally:
        server.shutdown()
        server.server_close()
    assert _Api.seen == [("/v2/vpcs?per_page=200&page=1", "Bearer tok")]


def _check(regions: dict[str, str], *alerts: str, enabled: bool = True) -> sp.Check:
    return sp.Check(
        name="api",
        kind="https",
        target="https://api.oxy.so",
        enabled=enabled,
        regions=regions,
        since="",
        alerts=[{"name": a, "type": a, "threshold": None, "period": "2m"} for a in alerts],
        uptime="",
    )


@pytest.mark.parametrize(
    ("regions", "enabled", "firing"),
    [
        ({"us_east": "UP", "eu_west": "UP"}, True, []),
        ({"us_east": "DOWN", "eu_west": "UP"}, True, ["down"]),
        ({"us_east": "DOWN", "eu_west": "DOWN"}, True, ["down", "down_global"]),
        ({"us_east": "DOWN", "eu_west": "DOWN"}, False, []),  # a disabled check tells nobody
        ({"us_east": "CHECKING"}, True, []),
    ],
)
def test_down_alerts_fire_from_the_checks_state(regions, enabled, firing):
    check = _check(regions, "down", "down_global", "latency", "ssl_expiry", enabled=enabled)
    found = sp.firing_uptime_alerts(check)
    assert [line.split(": ")[1].split(" alert")[0] for line in found] == firing


def test_inbound_rules_read_as_a_person_says_them():
    assert sp.inbound_rule({"protocol": "tcp", "ports": "22", "sources": {"addresses": ["198.51.100.1/32"]}}) == (
        "tcp 22 from 198.51.100.1/32"
    )
    assert sp.inbound_rule({"protocol": "icmp", "ports": "0", "sources": {"droplet_ids": [7], "tags": ["oxy"]}}) == (
        "icmp all from droplet 7, tag oxy"
    )
    assert sp.inbound_rule({"protocol": "udp", "sources": {}}) == "udp all from nowhere"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Debian's graphviz is not installed (scripts/setup --docker)")
def test_names_are_escaped_in_the_drawing_and_the_page():
    env = sp.Environment(api_url="https://api.example", read_at="now")
    env.nodes.append(sp.Node("app <b>&x", "app", "<b>&x", "ERROR", ["a & b"]))
    env.nodes.append(sp.Node("vpc v", "vpc", "v", ""))
    env.edges.append(sp.Edge("app <b>&x", "vpc v", "vpc"))
    env.checks.append(_check({"us_east": "DOWN"}, "down"))
    env.firing += sp.firing_uptime_alerts(env.checks[0])
    page = sp.render(env)
    assert "<b>&x" not in page and "&lt;b&gt;&amp;x" in page
    assert "1/1 uptime checks up" not in page and "0/1 uptime checks up" in page
    assert "Something needs attention" in page


def test_two_resources_of_one_name_are_two_nodes():
    keys = sp._keys("droplet", [("1", "web"), ("2", "web"), ("3", "db")])
    assert keys == {"1": "droplet web (1)", "2": "droplet web (2)", "3": "droplet db"}
