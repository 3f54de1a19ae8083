"""The status page: one HTML file of the environment as the live account shows it.

``scripts/status-page`` runs this. It reads the account through DigitalOcean's public API with pydo,
as the collection's modules do and from the same environment variables (the token from
``DIGITALOCEAN_TOKEN``, ``DIGITALOCEAN_ACCESS_TOKEN`` or ``DO_API_TOKEN``; the API from
``DIGITALOCEAN_API_URL``, default ``https://api.digitalocean.com``; a CA bundle from
``DIGITALOCEAN_CA_BUNDLE``), so it works against production and the sandbox alike. It only reads.

The page: the architecture (droplets, apps, database clusters, VPCs, cloud firewalls), each node with
its state, edges for VPC membership, database trusted sources and the droplets a firewall protects,
drawn by Graphviz (``dot``) as SVG inlined in the page; then every uptime check with its state per
region, the uptime alerts that fire, and the alert policies. One self-contained file: inline CSS and
SVG, no script, nothing fetched when it is opened.

Secrets never reach the page: what is shown is picked field by field from the API's answers
(connection strings, passwords, Slack webhook URLs and app env values are never read into the model).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import graphviz
import pydo
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline.policies import HeadersPolicy

DEFAULT_API_URL = "https://api.digitalocean.com"
TOKEN_VARIABLES = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DO_API_TOKEN")

# Node colours by state: good, changing, bad; anything else is shown neutral.
GOOD = {"active", "online", "ACTIVE", "UP", "succeeded"}
CHANGING = {
    "new",
    "creating",
    "resizing",
    "migrating",
    "forking",
    "PENDING_BUILD",
    "BUILDING",
    "PENDING_DEPLOY",
    "DEPLOYING",
    "CHECKING",
    "waiting",
}
BAD = {"off", "archive", "offline", "ERROR", "CANCELED", "DOWN", "failed", "no deployment", "missing"}
COLOURS = {"good": "#d7f5dd", "changing": "#fff1c2", "bad": "#ffd6d6", "neutral": "#eef1f5"}


class StatusPageError(Exception):
    """The account could not be read; the message says what failed (never the token)."""


def tone(state: str) -> str:
    if state in GOOD:
        return "good"
    if state in CHANGING:
        return "changing"
    if state in BAD:
        return "bad"
    return "neutral"


# -- reading the account ----------------------------------------------------------------------
def client_from_environment(environ=os.environ) -> tuple[pydo.Client, str]:
    """pydo pointed where the modules point: the same variables, the same plain-http allowance."""
    token = next((environ[name] for name in TOKEN_VARIABLES if environ.get(name)), None)
    if not token:
        raise StatusPageError("no API token: set DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN, DO_API_TOKEN)")
    url = (environ.get("DIGITALOCEAN_API_URL") or DEFAULT_API_URL).rstrip("/")
    kwargs = dict(endpoint=url, retry_total=3, retry_backoff_factor=0.5, user_agent="oxy.infra-status-page")
    if environ.get("DIGITALOCEAN_CA_BUNDLE"):
        kwargs["connection_verify"] = environ["DIGITALOCEAN_CA_BUNDLE"]
    if url.startswith("http://"):
        # pydo refuses to send a bearer token over plain http; a local sandbox may still serve it.
        kwargs["authentication_policy"] = HeadersPolicy({"Authorization": f"Bearer {token}"})
    return pydo.Client(token, **kwargs), url


class Reader:
    """Every read of the page, each failing with the operation's name and the API's message."""

    def __init__(self, client: pydo.Client):
        self.client = client

    def call(self, operation: str, *args, **kwargs) -> dict:
        group, _, method = operation.partition(".")
        try:
            body = getattr(getattr(self.client, group), method)(*args, **kwargs)
        except HttpResponseError as exc:
            raise StatusPageError(f"{operation} failed (HTTP {exc.status_code}): {_message(exc)}") from None
        except AzureError as exc:
            raise StatusPageError(f"{operation} failed: {exc.__class__.__name__}: {exc.message}") from None
        if isinstance(body, dict) and "id" in body and "message" in body and len(body) <= 3:
            raise StatusPageError(f"{operation} failed ({body['id']}): {body['message']}")
        return body

    def every(self, operation: str, key: str, *args) -> list[dict]:
        """Every page of a list."""
        found, page = [], 1
        while True:
            body = self.call(operation, *args, per_page=200, page=page)
            found += body.get(key) or []
            if not ((body.get("links") or {}).get("pages") or {}).get("next"):
                return found
            page += 1


def _message(exc: HttpResponseError) -> str:
    try:
        body = exc.response.json()
    except (ValueError, AttributeError):
        return exc.reason or "no message"
    return body.get("message") or exc.reason or "no message"


@dataclass
class Node:
    key: str  # the graph's node id, shown as the SVG node's <title>: "<kind> <name>"
    kind: str
    name: str
    state: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Edge:
    tail: str
    head: str
    kind: str  # "vpc", "trusted", "firewall", "check"
    label: str = ""


@dataclass
class Check:
    name: str
    kind: str
    target: str
    enabled: bool
    regions: dict[str, str]  # region -> UP/DOWN/CHECKING
    since: str
    alerts: list[dict]  # {type, threshold, period}
    uptime: str

    @property
    def state(self) -> str:
        if not self.enabled:
            return "disabled"
        states = set(self.regions.values())
        if "DOWN" in states:
            return "DOWN"
        if states == {"UP"}:
            return "UP"
        return "CHECKING" if states else "unknown"


@dataclass
class Environment:
    api_url: str
    read_at: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    firewall_rules: dict[str, list[str]] = field(default_factory=dict)  # firewall name -> inbound rules
    checks: list[Check] = field(default_factory=list)
    firing: list[str] = field(default_factory=list)
    policies: list[dict] = field(default_factory=list)


def _rule_sources(sources: dict) -> str:
    parts = list(sources.get("addresses") or [])
    parts += [f"droplet {d}" for d in sources.get("droplet_ids") or []]
    parts += [f"tag {t}" for t in sources.get("tags") or []]
    parts += [f"load balancer {lb}" for lb in sources.get("load_balancer_uids") or []]
    parts += [f"kubernetes {k}" for k in sources.get("kubernetes_ids") or []]
    return ", ".join(parts) or "nowhere"


def inbound_rule(rule: dict) -> str:
    ports = rule.get("ports") or "all"
    ports = "all" if ports in ("0", "all") else ports
    return f"{rule.get('protocol', '?')} {ports} from {_rule_sources(rule.get('sources') or {})}"


def _keys(kind: str, resources: list[tuple[str, str]]) -> dict[str, str]:
    """Each resource's node by id: "<kind> <name>", with the id too where several share the name, so
    that two resources are never drawn as one."""
    names = [name for _, name in resources]
    return {rid: f"{kind} {name}" + (f" ({rid})" if names.count(name) > 1 else "") for rid, name in resources}


def read_environment(reader: Reader, api_url: str) -> Environment:
    """The environment as the account shows it, picked field by field (nothing secret is kept)."""
    env = Environment(api_url=api_url, read_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    vpcs = reader.every("vpcs.list", "vpcs")
    droplets = reader.every("droplets.list", "droplets")
    clusters = reader.call("databases.list_clusters").get("databases") or []  # one answer, not paginated
    apps = reader.every("apps.list", "apps")
    firewalls = reader.every("firewalls.list", "firewalls")

    vpc_key = _keys("vpc", [(v["id"], v["name"]) for v in vpcs])
    droplet_key = _keys("droplet", [(str(d["id"]), d["name"]) for d in droplets])
    app_key = _keys("app", [(a["id"], a["spec"]["name"]) for a in apps])
    for vpc in vpcs:
        lines = [vpc["region"], vpc.get("ip_range") or ""]
        env.nodes.append(Node(vpc_key[vpc["id"]], "vpc", vpc["name"], "", [x for x in lines if x]))
    for d in droplets:
        public = next((n["ip_address"] for n in d["networks"]["v4"] if n["type"] == "public"), "")
        lines = [f"{d['size_slug']} · {d['region']['slug']}", public]
        env.nodes.append(Node(droplet_key[str(d["id"])], "droplet", d["name"], d["status"], [x for x in lines if x]))
        if d.get("vpc_uuid") in vpc_key:
            env.edges.append(Edge(droplet_key[str(d["id"])], vpc_key[d["vpc_uuid"]], "vpc"))
    for a in apps:
        spec = a["spec"]
        active = (a.get("active_deployment") or {}).get("phase")
        pending = (a.get("in_progress_deployment") or {}).get("phase")
        # The app's object shows the live and the running deployment, not one that failed since: the
        # newest deployment (the list is newest first) tells whether the last deploy failed.
        newest = (reader.call("apps.list_deployments", a["id"], per_page=1).get("deployments") or [{}])[0]
        failed = newest.get("phase") if newest.get("phase") in ("ERROR", "CANCELED") else None
        state = pending or failed or active or "no deployment"
        lines = [", ".join(d["domain"] for d in spec.get("domains") or []), a.get("region", {}).get("slug", "")]
        if (pending or failed) and active:
            lines.append(f"live: the previous deployment, {active}" if failed else f"live: {active}")
        env.nodes.append(Node(app_key[a["id"]], "app", spec["name"], state, [x for x in lines if x]))
        rules = {rule.get("rule") for rule in spec.get("alerts") or []}
        if failed == "ERROR" and "DEPLOYMENT_FAILED" in rules:
            env.firing.append(f"{spec['name']}: DEPLOYMENT_FAILED alert fired (its newest deployment is ERROR)")
        vpc_id = (spec.get("vpc") or {}).get("id") or (a.get("vpc") or {}).get("id")
        if vpc_id in vpc_key:
            env.edges.append(Edge(app_key[a["id"]], vpc_key[vpc_id], "vpc"))
    cluster_key = _keys("database", [(c["id"], c["name"]) for c in clusters])
    for c in clusters:
        key = cluster_key[c["id"]]
        lines = [f"{c['engine']} {c.get('version') or ''}".strip(), f"{c['num_nodes']} x {c['size']} · {c['region']}"]
        env.nodes.append(Node(key, "database", c["name"], c["status"], lines))
        if c.get("private_network_uuid") in vpc_key:
            env.edges.append(Edge(key, vpc_key[c["private_network_uuid"]], "vpc"))
        for rule in reader.call("databases.list_firewall_rules", c["id"]).get("rules") or []:
            source = _trusted_source(rule, droplet_key, app_key, env)
            env.edges.append(Edge(source, key, "trusted"))
    firewall_key = _keys("firewall", [(fw["id"], fw["name"]) for fw in firewalls])
    for fw in firewalls:
        key = firewall_key[fw["id"]]
        rules = [inbound_rule(r) for r in fw.get("inbound_rules") or []]
        env.firewall_rules[key.removeprefix("firewall ")] = rules
        env.nodes.append(Node(key, "firewall", fw["name"], fw.get("status") or "", rules))
        for droplet_id in fw.get("droplet_ids") or []:
            if str(droplet_id) in droplet_key:
                env.edges.append(Edge(key, droplet_key[str(droplet_id)], "firewall", "protects"))
        for tag in fw.get("tags") or []:
            for d in droplets:
                if tag in (d.get("tags") or []) and str(d["id"]) in droplet_key:
                    env.edges.append(Edge(key, droplet_key[str(d["id"])], "firewall", f"protects (tag {tag})"))

    # What an uptime check's target can name: an app's domain, a droplet's public address.
    targets = {d["domain"].lower(): app_key[a["id"]] for a in apps for d in a["spec"].get("domains") or []}
    for d in droplets:
        for net in d["networks"]["v4"]:
            if net["type"] == "public":
                targets[net["ip_address"]] = droplet_key[str(d["id"])]
    read_monitoring(reader, env, Resolver(reader, targets))
    return env


class Resolver:
    """Which drawn resource a check's host is: an app's domain, a droplet's address, or a name whose A
    record in the account's own DNS is one (read once per zone, only when a check needs it)."""

    def __init__(self, reader: Reader, targets: dict[str, str]):
        self.reader = reader
        self.targets = targets
        self._zones: list[str] | None = None
        self._records: dict[str, list[dict]] = {}

    def resource(self, target: str) -> str | None:
        host = (urlsplit(target).hostname if "://" in target else target).lower().rstrip(".")
        if host in self.targets:
            return self.targets[host]
        if self._zones is None:
            self._zones = [d["name"] for d in self.reader.every("domains.list", "domains")]
        zones = [z for z in self._zones if host == z or host.endswith("." + z)]
        if not zones:
            return None
        zone = max(zones, key=len)
        if zone not in self._records:
            self._records[zone] = self.reader.every("domains.list_records", "domain_records", zone)
        name = "@" if host == zone else host[: -len(zone) - 1]
        for record in self._records[zone]:
            if record["type"] == "A" and record["name"] == name and record["data"] in self.targets:
                return self.targets[record["data"]]
        return None


def _trusted_source(rule: dict, droplet_key: dict, app_key: dict, env: Environment) -> str:
    """The node a trusted-source rule names; one is added for sources outside the drawn resources."""
    kind, value = rule["type"], str(rule["value"])
    known = {"droplet": droplet_key, "app": app_key}.get(kind, {})
    if value in known:
        return known[value]
    key = {"ip_addr": f"address {value}", "tag": f"tag {value}", "k8s": f"kubernetes {value}"}.get(
        kind, f"{kind} {value}"
    )
    if not any(n.key == key for n in env.nodes):
        state = "" if kind in ("ip_addr", "tag", "k8s") else "missing"
        env.nodes.append(Node(key, "source", value, state, [] if state == "" else ["not in the account"]))
    return key


def read_monitoring(reader: Reader, env: Environment, resolver: Resolver) -> None:
    """Uptime checks with their state and alerts; alert policies (their definition: see ``POLICY_NOTE``)."""
    checks = reader.every("uptime.list_checks", "checks")
    check_key = _keys("check", [(c["id"], c["name"]) for c in checks])
    for check in checks:
        state = reader.call("uptime.get_check_state", check["id"]).get("state") or {}
        regions = {r: (s or {}).get("status", "unknown") for r, s in (state.get("regions") or {}).items()}
        changed = sorted((s or {}).get("status_changed_at") or "" for s in (state.get("regions") or {}).values())
        shares = [(s or {}).get("thirty_day_uptime_percentage") for s in (state.get("regions") or {}).values()]
        shares = [s for s in shares if s is not None]
        alerts = [
            {"name": a.get("name", ""), "type": a["type"], "threshold": a.get("threshold"), "period": a.get("period")}
            for a in reader.every("uptime.list_alerts", "alerts", check["id"])
        ]
        item = Check(
            name=check["name"],
            kind=check["type"],
            target=check["target"],
            enabled=bool(check.get("enabled", True)),
            regions=regions,
            since=changed[-1] if changed else "",
            alerts=alerts,
            uptime=f"{min(shares):.2f}%" if shares else "",
        )
        env.checks.append(item)
        key = check_key[check["id"]]
        env.nodes.append(Node(key, "check", check["name"], item.state, [check["target"]]))
        probed = resolver.resource(check["target"])
        if probed:
            env.edges.append(Edge(key, probed, "check", "probes"))
        env.firing += firing_uptime_alerts(item)
    for policy in reader.every("monitoring.list_alert_policy", "policies"):
        recipients = list((policy.get("alerts") or {}).get("email") or [])
        recipients += [f"Slack {s.get('channel', '')}" for s in (policy.get("alerts") or {}).get("slack") or []]
        env.policies.append(
            {
                "description": policy.get("description") or policy.get("type", ""),
                "type": policy.get("type", ""),
                "condition": " ".join(
                    [policy.get("compare", ""), _number(policy.get("value")), "over", policy.get("window", "")]
                ),
                "on": ", ".join([*(policy.get("entities") or []), *(f"tag {t}" for t in policy.get("tags") or [])]),
                "enabled": bool(policy.get("enabled")),
                "recipients": ", ".join(recipients),
            }
        )


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def firing_uptime_alerts(check: Check) -> list[str]:
    """The check's down alerts that fire, as the check's state shows them.

    ``down`` fires when the check is down in any of its regions, ``down_global`` when in all of them.
    The API's state has no latency and no certificate expiry, so those alerts cannot be judged here.
    """
    if not check.enabled:
        return []
    down = [r for r, s in check.regions.items() if s == "DOWN"]
    out = []
    for alert in check.alerts:
        fires = (alert["type"] == "down" and down) or (
            alert["type"] == "down_global" and down and len(down) == len(check.regions)
        )
        if fires:
            where = ", ".join(down)
            out.append(f"{check.name}: {alert['type']} alert fires ({check.target} is DOWN from {where})")
    return out


POLICY_NOTE = (
    "DigitalOcean's public API says what each alert policy watches and whom it tells, but not whether it "
    "fires: a policy that fires is told to its recipients (email, Slack) and shown in the control panel's "
    "Monitoring page. This page lists the policies as the API defines them."
)
APP_NOTE = (
    "An app's DEPLOYMENT_FAILED alert is shown as fired while the app's newest deployment is in ERROR; its other "
    "alert rules (DOMAIN_FAILED, utilization) have no state in the API."
)
CHECK_NOTE = (
    "Uptime alerts of type down and down_global are judged from each check's state (/v2/uptime/checks/{id}/state); "
    "the API does not expose latency or certificate expiry, so latency and ssl_expiry alerts are listed with their "
    "check but not judged."
)


# -- drawing ----------------------------------------------------------------------------------
KIND_SHAPES = {
    "droplet": ("box3d", "Droplet"),
    "app": ("component", "App Platform"),
    "database": ("cylinder", "Database cluster"),
    "vpc": ("tab", "VPC"),
    "firewall": ("octagon", "Cloud firewall"),
    "source": ("note", "Trusted source"),
    "check": ("ellipse", "Uptime check"),
}
EDGE_MEANING = {
    "vpc": "is a member of",
    "trusted": "is a trusted source of",
    "firewall": "protects",
    "check": "probes",
}
EDGE_STYLES = {
    "vpc": dict(style="dashed", color="#7a8699", fontcolor="#5a6577", arrowhead="none"),
    "trusted": dict(color="#2c7be5", fontcolor="#2c7be5"),
    "firewall": dict(color="#c0392b", fontcolor="#c0392b", style="bold"),
    "check": dict(color="#8e44ad", fontcolor="#8e44ad", style="dotted"),
}


def _label(node: Node) -> str:
    """A Graphviz HTML-like label: the kind, the name in bold, the state, then details."""
    _, title = KIND_SHAPES[node.kind]

    def text(value: str) -> str:
        return html.escape(value, quote=False)

    rows = [f'<TR><TD><FONT POINT-SIZE="9" COLOR="#5a6577">{text(title)}</FONT></TD></TR>']
    rows.append(f"<TR><TD><B>{text(node.name)}</B></TD></TR>")
    if node.state:
        rows.append(f'<TR><TD><FONT POINT-SIZE="10">{text(node.state)}</FONT></TD></TR>')
    rows += [f'<TR><TD><FONT POINT-SIZE="9">{text(line)}</FONT></TD></TR>' for line in node.lines]
    return "<<TABLE BORDER='0' CELLBORDER='0' CELLSPACING='0' CELLPADDING='1'>" + "".join(rows) + "</TABLE>>"


def diagram(env: Environment) -> graphviz.Digraph:
    graph = graphviz.Digraph("environment", format="svg")
    graph.attr(rankdir="LR", bgcolor="transparent", fontname="Helvetica", nodesep="0.35", ranksep="0.9")
    graph.attr("node", fontname="Helvetica", style="filled", color="#3d4756", penwidth="1.2")
    graph.attr("edge", fontname="Helvetica", fontsize="9")
    for node in env.nodes:
        shape, _ = KIND_SHAPES[node.kind]
        graph.node(
            node.key,
            label=_label(node),
            shape=shape,
            fillcolor=COLOURS[tone(node.state)] if node.state else COLOURS["neutral"],
            id=_dom_id("node", node.key),
            tooltip=f"{node.key}: {node.state}" if node.state else node.key,
        )
    drawn = set()
    for edge in env.edges:
        if (edge.tail, edge.head, edge.kind) in drawn:  # a firewall naming a droplet by id and by tag
            continue
        drawn.add((edge.tail, edge.head, edge.kind))
        graph.edge(
            edge.tail,
            edge.head,
            label=edge.label,
            id=_dom_id(edge.kind, f"{edge.tail}--{edge.head}"),
            tooltip=f"{edge.tail} {EDGE_MEANING[edge.kind]} {edge.head}",
            **EDGE_STYLES[edge.kind],
        )
    return graph


def _dom_id(prefix: str, text: str) -> str:
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def svg(env: Environment) -> str:
    """The diagram as an inline <svg> element (Graphviz's own output, without its XML prolog)."""
    try:
        drawn = diagram(env).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        missing = "Graphviz's dot is missing (Debian's graphviz; scripts/setup --docker installs it)"
        raise StatusPageError(missing) from None
    return drawn[drawn.index("<svg") :]


# -- the page ---------------------------------------------------------------------------------
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
  color: #1f2733; background: #f6f8fb; }
header { background: #1f2733; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c8d0dc; }
main { padding: 20px 28px 40px; max-width: 1500px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 16px 20px; margin: 0 0 20px; }
h2 { font-size: 17px; margin: 0 0 12px; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 20px; }
.pill { border-radius: 999px; padding: 6px 14px; font-weight: 600; border: 1px solid #dde3ea; background: #fff; }
.good { background: #d7f5dd; } .changing { background: #fff1c2; } .bad { background: #ffd6d6; }
.neutral { background: #eef1f5; }
.diagram { overflow-x: auto; } .diagram svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e8edf2; vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #5a6577; }
td.state { font-weight: 700; }
.note { color: #5a6577; font-size: 13px; }
ul.firing li { color: #a61b1b; font-weight: 600; }
code { font-size: 12px; }
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def render(env: Environment) -> str:
    """The whole page: one HTML document with its CSS and SVG inline."""
    down = [c for c in env.checks if c.state == "DOWN"]
    bad_nodes = [n for n in env.nodes if n.state and tone(n.state) == "bad"]
    overall = "bad" if env.firing or down or bad_nodes else "good"
    headline = "Something needs attention" if overall == "bad" else "All checks up, nothing firing"
    summary = [
        (overall, headline),
        ("neutral", f"{sum(n.kind in ('droplet', 'app', 'database') for n in env.nodes)} resources"),
        ("bad" if down else "good", f"{len(env.checks) - len(down)}/{len(env.checks)} uptime checks up"),
        ("bad" if env.firing else "good", f"{len(env.firing)} alert{'' if len(env.firing) == 1 else 's'} firing"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing on this page loads anything: no scripts, styles, images or fonts from anywhere.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        "<title>Oxy environment status</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>Oxy environment status</h1><p>Read from {_esc(env.api_url)} at {_esc(env.read_at)}</p></header>",
        "<main>",
        '<div class="summary">' + "".join(f'<span class="pill {t}">{_esc(s)}</span>' for t, s in summary) + "</div>",
        '<section id="firing"><h2>Firing alerts</h2>',
    ]
    if env.firing:
        parts.append('<ul class="firing">' + "".join(f"<li>{_esc(f)}</li>" for f in env.firing) + "</ul>")
    else:
        parts.append("<p>Nothing fires.</p>")
    parts.append(f'<p class="note">{_esc(CHECK_NOTE)} {_esc(APP_NOTE)} {_esc(POLICY_NOTE)}</p></section>')
    parts.append('<section id="architecture"><h2>Architecture</h2><div class="diagram">')
    parts.append(svg(env))
    parts.append("</div>")
    parts.append(
        '<p class="note">Dashed grey: member of a VPC. Blue: a trusted source of a database cluster. '
        "Red: a cloud firewall and the droplets it protects. Dotted purple: an uptime check and what it probes. "
        "Green: running; yellow: changing; red: failed or down."
        "</p></section>"
    )
    parts.append('<section id="uptime"><h2>Uptime checks</h2>')
    if env.checks:
        parts.append(
            "<table><thead><tr><th>Check</th><th>State</th><th>Target</th><th>Regions</th><th>Since</th>"
            "<th>Uptime</th><th>Alerts</th></tr></thead><tbody>"
        )
        for c in env.checks:
            regions = ", ".join(f"{r} {s}" for r, s in c.regions.items())
            alerts = ", ".join(
                a["type"] + (f" {a['threshold']}" if a["threshold"] not in (None, 0) else "") for a in c.alerts
            )
            parts.append(
                f'<tr data-check="{_esc(c.name)}"><td>{_esc(c.name)} <code>{_esc(c.kind)}</code></td>'
                f'<td class="state {tone(c.state)}">{_esc(c.state)}</td><td><code>{_esc(c.target)}</code></td>'
                f"<td>{_esc(regions)}</td><td>{_esc(c.since)}</td><td>{_esc(c.uptime)}</td>"
                f"<td>{_esc(alerts or 'none')}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>The account has no uptime checks.</p>")
    parts.append("</section>")
    parts.append('<section id="firewalls"><h2>Cloud firewalls: inbound rules</h2>')
    for name, rules in env.firewall_rules.items():
        parts.append(f"<h3>{_esc(name)}</h3><ul>" + "".join(f"<li>{_esc(r)}</li>" for r in rules) + "</ul>")
    if not env.firewall_rules:
        parts.append("<p>The account has no cloud firewalls.</p>")
    parts.append("</section>")
    parts.append('<section id="policies"><h2>Alert policies</h2>')
    if env.policies:
        parts.append(
            "<table><thead><tr><th>Policy</th><th>Metric</th><th>Condition</th><th>On</th><th>Enabled</th>"
            "<th>Tells</th></tr></thead><tbody>"
        )
        for p in env.policies:
            parts.append(
                f"<tr><td>{_esc(p['description'])}</td><td><code>{_esc(p['type'])}</code></td>"
                f"<td>{_esc(p['condition'])}</td><td>{_esc(p['on'])}</td>"
                f"<td>{'yes' if p['enabled'] else 'no'}</td><td>{_esc(p['recipients'])}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>The account has no alert policies.</p>")
    parts.append(f'<p class="note">{_esc(POLICY_NOTE)}</p></section>')
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/status-page",
        description="Write an HTML status page of the environment, read from the live DigitalOcean account.",
    )
    parser.add_argument("-o", "--output", default=".status/index.html", help="the page to write (%(default)s)")
    args = parser.parse_args(argv)
    try:
        client, url = client_from_environment()
        page = render(read_environment(Reader(client), url))
    except StatusPageError as exc:
        print(f"status-page: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"status-page: written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
