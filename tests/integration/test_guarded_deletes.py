"""state: absent is refused unless confirmed (allow_delete), and protected resources are refused even then.

Every module that can delete goes through the one guard (``ResourceManager.guard_delete``): TARGETS names
each of them, and a test keeps that list complete. Every refusal happens before any write: the sandbox's
request log shows none. The refusals run as plays run modules (in the controller, ``in_controller``); the
confirmed deletes run each module as its own process too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import pytest
import yaml

from tests.contract.test_projects_domains import FINGERPRINT, PUBLIC_KEY
from tests.fixtures.modules import MODULES

APP_SPEC = {"services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "oxy", "tag": "1.0.0"}}]}
MONGO = {"name": "db-docs", "engine": "mongodb", "size": "db-s-1vcpu-1gb", "num_nodes": 1}
ANYWHERE = ["0.0.0.0/0", "::/0"]


def make_environment(do, tags=()):
    """One of everything a module deletes, in a VPC that is not the region's default.

    A droplet with its cloud firewall, a Valkey cluster, a MongoDB cluster with a database and a user, an app,
    a domain with a record, an SSH key and an empty project.
    """
    do.vpcs.create({"name": "default-ams3", "region": "ams3"})  # the region's default
    vpc = do.vpcs.create({"name": "spare", "region": "ams3"})["vpc"]
    for tag in tags:
        do.tags.create({"name": tag})
    droplet = do.droplets.create(
        {"name": "web", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3", "tags": list(tags)}
    )["droplet"]
    cluster = do.databases.create_cluster(
        {
            "name": "db-web",
            "engine": "valkey",
            "version": "8",
            "size": "db-s-1vcpu-1gb",
            "num_nodes": 1,
            "region": "ams3",
            "tags": list(tags),
        }
    )["database"]
    mongo = do.databases.create_cluster(dict(MONGO, region="ams3"))["database"]
    do.databases.add(mongo["id"], {"name": "docs"})
    do.databases.add_user(mongo["id"], {"name": "reader"})
    app = do.apps.create({"spec": dict(APP_SPEC, name="web-app", region="ams")})["app"]
    do.domains.create({"name": "web.example"})
    do.domains.create_record("web.example", {"type": "A", "name": "api", "data": "192.0.2.10", "ttl": 300})
    do.firewalls.create(
        {
            "name": "web-fw",
            "inbound_rules": [{"protocol": "tcp", "ports": "443", "sources": {"addresses": ANYWHERE}}],
            "outbound_rules": [{"protocol": "tcp", "ports": "all", "destinations": {"addresses": ANYWHERE}}],
            "droplet_ids": [droplet["id"]],
        }
    )
    do.ssh_keys.create({"name": "ops", "public_key": PUBLIC_KEY})
    do.projects.create({"name": "scratch", "purpose": "Trying things out"})
    check = {"name": "web-check", "type": "https", "target": "https://web.example", "regions": ["us_east"]}
    do.uptime.create_check(dict(check, enabled=True))
    do.monitoring.create_alert_policy(
        {
            "type": "v1/insights/droplet/cpu",
            "description": "web CPU",
            "compare": "GreaterThan",
            "value": 80,
            "window": "5m",
            "entities": [str(droplet["id"])],
            "tags": [],
            "alerts": {"email": ["ops@oxy.so"]},
            "enabled": True,
        }
    )
    return dict(vpc=vpc, droplet=droplet, cluster=cluster, mongo=mongo, app=app)


@dataclass
class Target:
    """A module's state=absent on one resource of make_environment, and how a refusal must name it."""

    module: str
    args: dict
    named: str  # what the refusal says
    kind: str  # where inventory() lists it ...
    item: str  # ... and as what
    # protected_names entries that protect it (each form the module accepts)
    protected: list = field(default_factory=list)

    def __str__(self):
        return self.module


# In an order in which confirmed deletes can run one after the other (a record before its domain, a database
# before its cluster, the firewall before its droplet).
TARGETS = [
    Target("firewall", dict(name="web-fw"), "cloud firewall 'web-fw'", "firewalls", "web-fw", ["web-fw"]),
    Target("ssh_key", dict(name="ops"), "SSH key 'ops'", "ssh_keys", FINGERPRINT, ["ops", FINGERPRINT]),
    Target("project", dict(name="scratch"), "project 'scratch'", "projects", "scratch", ["scratch"]),
    Target("uptime_check", dict(name="web-check"), "uptime check 'web-check'", "checks", "web-check", ["web-check"]),
    Target(
        "monitoring_alert_policy",
        dict(description="web CPU"),
        "monitoring alert policy 'web CPU'",
        "policies",
        "web CPU",
        ["web CPU"],
    ),
    Target(
        "domain_record",
        dict(domain="web.example", type="A", name="api"),
        "DNS record A 'api' in domain 'web.example'",
        "records",
        "A api",
        ["api", "api.web.example", "API.Web.Example."],
    ),
    Target(
        "database_db",
        dict(cluster="db-docs", name="docs"),
        "database 'docs' in cluster 'db-docs'",
        "dbs",
        "docs",
        ["docs", "db-docs/docs"],
    ),
    Target(
        "database_user",
        dict(cluster="db-docs", name="reader"),
        "database user 'reader' in cluster 'db-docs'",
        "users",
        "reader",
        ["reader", "db-docs/reader"],
    ),
    Target("droplet", dict(name="web"), "Droplet 'web'", "droplets", "web", ["web"]),
    Target(
        "database_cluster",
        dict(name="db-web", engine="valkey"),
        "database cluster 'db-web'",
        "clusters",
        "db-web",
        ["db-web"],
    ),
    Target("app", dict(name="web-app"), "app 'web-app'", "apps", "web-app", ["web-app"]),
    Target("vpc", dict(name="spare"), "VPC 'spare'", "vpcs", "spare", ["spare"]),
    Target("domain", dict(name="web.example"), "domain 'web.example'", "domains", "web.example", ["web.example"]),
]
TAGGED = [t for t in TARGETS if t.module in ("droplet", "database_cluster")]


def inventory(do) -> dict:
    """Everything in the account, by kind (records of web.example, databases and users of db-docs)."""
    clusters = do.databases.list_clusters()["databases"]
    domains = [d["name"] for d in do.domains.list()["domains"]]
    found = dict(
        vpcs=sorted(v["name"] for v in do.vpcs.list()["vpcs"]),
        droplets=sorted(d["name"] for d in do.droplets.list()["droplets"]),
        clusters=sorted(c["name"] for c in clusters),
        apps=sorted(a["spec"]["name"] for a in do.apps.list()["apps"]),
        domains=sorted(domains),
        firewalls=sorted(f["name"] for f in do.firewalls.list()["firewalls"]),
        projects=sorted(p["name"] for p in do.projects.list()["projects"]),
        ssh_keys=sorted(k["fingerprint"] for k in do.ssh_keys.list()["ssh_keys"]),
        checks=sorted(c["name"] for c in do.uptime.list_checks()["checks"]),
        policies=sorted(p["description"] for p in do.monitoring.list_alert_policy()["policies"]),
        records=[],
        dbs=[],
        users=[],
    )
    if "web.example" in domains:
        records = do.domains.list_records("web.example")["domain_records"]
        found["records"] = sorted(f"{r['type']} {r['name']}" for r in records)
    mongo = next((c for c in clusters if c["name"] == "db-docs"), None)
    if mongo:
        found["dbs"] = sorted(d["name"] for d in do.databases.list(mongo["id"])["dbs"])
        found["users"] = sorted(u["name"] for u in do.databases.list_users(mongo["id"])["users"])
    return found


def documentation(path) -> dict:
    """A module's DOCUMENTATION, read without importing the module."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["DOCUMENTATION"]:
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{path.name} has no DOCUMENTATION")


def test_every_module_that_deletes_is_guarded_and_listed():
    """A module with state: absent is in TARGETS and documents the guard, so no future one skips it."""
    deleting = {}
    for path in sorted(MODULES.glob("*.py")):
        doc = documentation(path)
        state = (doc.get("options") or {}).get("state") or {}
        if "absent" in (state.get("choices") or []):
            deleting[path.stem] = doc
    assert sorted(deleting) == sorted(t.module for t in TARGETS)
    assert len(deleting) == 13
    for module, doc in deleting.items():
        fragments = doc.get("extends_documentation_fragment") or []
        assert "oxy.infra.digitalocean.DELETE" in fragments, module


@pytest.mark.parametrize("check", [False, True], ids=["apply", "plan"])
@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_delete_without_confirmation_is_refused_before_any_write(in_controller, do, sandbox, target, check):
    make_environment(do)
    before = inventory(do)
    assert target.item in before[target.kind]
    mark = sandbox.log()[-1]["seq"]
    refused = in_controller(target.module, state="absent", check=check, expect_fail=True, **target.args)
    assert target.named in refused["msg"] and "allow_delete=true" in refused["msg"], refused["msg"]
    assert "would delete it for good" in refused["msg"], refused["msg"]
    assert refused["refused"] is True and refused.writes == []
    assert sandbox.summary(since=mark)["writes"] == 0
    assert inventory(do) == before


def test_already_absent_still_needs_the_confirmation(in_controller, do, sandbox):
    # The cluster of the database and the user exists; nothing else does (no domain: a record's zone is missing).
    do.databases.create_cluster(dict(MONGO, region="ams3"))
    mark = sandbox.log()[-1]["seq"]
    for target in TARGETS:
        for check in (False, True):
            refused = in_controller(target.module, state="absent", check=check, expect_fail=True, **target.args)
            assert target.named in refused["msg"] and "mistyped" in refused["msg"], refused["msg"]
            assert refused["refused"] is True
        confirmed = in_controller(target.module, state="absent", allow_delete=True, **target.args)
        assert (confirmed["changed"], confirmed.writes) == (False, [])
    assert sandbox.summary(since=mark)["writes"] == 0

    # A record missing from a zone that exists.
    do.domains.create({"name": "web.example"})
    record = next(t for t in TARGETS if t.module == "domain_record")
    mark = sandbox.log()[-1]["seq"]
    refused = in_controller("domain_record", state="absent", expect_fail=True, **record.args)
    assert record.named in refused["msg"] and "mistyped" in refused["msg"], refused["msg"]
    confirmed = in_controller("domain_record", state="absent", allow_delete=True, **record.args)
    assert (confirmed["changed"], confirmed.writes) == (False, [])
    assert sandbox.summary(since=mark)["writes"] == 0


def test_protected_tag_refuses_even_when_confirmed(in_controller, do, sandbox):
    env = make_environment(do, tags=["protected"])
    mark = sandbox.log()[-1]["seq"]
    for target in TAGGED:
        for check in (True, False):
            refused = in_controller(
                target.module, state="absent", allow_delete=True, check=check, expect_fail=True, **target.args
            )
            assert target.named in refused["msg"] and "protected tag 'protected'" in refused["msg"], refused["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert do.droplets.get(env["droplet"]["id"])["droplet"]["name"] == "web"

    # A different protection tag is honoured; the default one then no longer protects.
    kept = in_controller("droplet", name="web", state="absent", allow_delete=True, protected_tag="keep", check=True)
    assert kept["changed"] is True and kept.writes == []


def test_protected_names_refuse_even_when_confirmed(in_controller, do, sandbox):
    make_environment(do)
    before = inventory(do)
    mark = sandbox.log()[-1]["seq"]
    for target in TARGETS:
        for i, name in enumerate(target.protected):
            for check in (True, False) if i == 0 else (False,):
                refused = in_controller(
                    target.module,
                    state="absent",
                    allow_delete=True,
                    protected_names=["someone-else", name],
                    check=check,
                    expect_fail=True,
                    **target.args,
                )
                assert target.named in refused["msg"] and "protected_names" in refused["msg"], (name, refused["msg"])
                assert refused["refused"] is True

    # A key the task finds by its fingerprint is protected by its name on the account too.
    renamed = in_controller(
        "ssh_key",
        name="laptop",
        fingerprint=FINGERPRINT,
        state="absent",
        allow_delete=True,
        protected_names=["ops"],
        expect_fail=True,
    )
    assert "SSH key 'laptop' (named 'ops' on the account" in renamed["msg"], renamed["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert inventory(do) == before

    # Names of the same thing elsewhere protect nothing here: the plan deletes.
    elsewhere = [
        ("domain_record", ["www", "api.other.example"]),
        ("database_db", ["db-other/docs"]),
        ("database_user", ["db-other/reader"]),
    ]
    for module, names in elsewhere:
        target = next(t for t in TARGETS if t.module == module)
        plan = in_controller(
            module, state="absent", allow_delete=True, protected_names=names, check=True, **target.args
        )
        assert plan["changed"] is True and plan.writes == [], plan


def test_confirmed_deletes_go_through(run_module, in_controller, do, sandbox):
    make_environment(do)
    for target in TARGETS:
        plan = in_controller(target.module, state="absent", allow_delete=True, check=True, **target.args)
        assert plan["changed"] is True and plan.writes == [], target
        assert target.item in inventory(do)[target.kind]
        gone = run_module(target.module, state="absent", allow_delete=True, **target.args)
        assert gone["changed"] is True and len(gone.writes) == 1 and gone.writes[0][0] == "DELETE", gone.writes
        assert target.item not in inventory(do)[target.kind]
    left = inventory(do)
    assert (left["vpcs"], left["clusters"], left["projects"]) == (["default-ams3"], ["db-docs"], ["first-project"])
    assert [left[k] for k in ("droplets", "apps", "domains", "firewalls", "ssh_keys")] == [[]] * 5


def test_special_refusals_hold_when_confirmed(in_controller, do, sandbox):
    """What can never be deleted is refused before any write, with the confirmation too."""
    mongo = do.databases.create_cluster(dict(MONGO, region="ams3"))["database"]
    do.projects.create({"name": "scratch", "purpose": "Trying things out"})
    droplet = do.droplets.create({"name": "web", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"})
    held = next(p for p in do.projects.list()["projects"] if p["name"] == "scratch")
    do.projects.assign_resources(held["id"], {"resources": [f"do:droplet:{droplet['droplet']['id']}"]})
    mark = sandbox.log()[-1]["seq"]
    cases = [
        ("project", dict(name="first-project"), "is the default project"),
        ("project", dict(name="scratch"), "still holds 1 resources"),
        ("database_user", dict(cluster="db-docs", name="doadmin"), "primary user"),
    ]
    for module, args, says in cases:
        for check in (True, False):
            refused = in_controller(module, state="absent", allow_delete=True, check=check, expect_fail=True, **args)
            assert says in refused["msg"] and refused.writes == [], refused["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert "doadmin" in [u["name"] for u in do.databases.list_users(mongo["id"])["users"]]


def test_the_default_vpc_is_refused_before_any_write(run_module, do, sandbox):
    do.vpcs.create({"name": "default-ams3", "region": "ams3"})
    mark = sandbox.log()[-1]["seq"]
    for check in (True, False):
        refused = run_module(
            "vpc", name="default-ams3", state="absent", allow_delete=True, check=check, expect_fail=True
        )
        assert "default VPC of ams3" in refused["msg"] and refused["status"] == 403
    assert sandbox.summary(since=mark)["writes"] == 0
