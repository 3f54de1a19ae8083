"""state: absent is refused unless confirmed (allow_delete), and protected resources are refused even then.

Every refusal happens before any write: the sandbox's request log shows none.
"""

from __future__ import annotations

import pytest

APP_SPEC = {"services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "oxy", "tag": "1.0.0"}}]}


def make_environment(do, tags=()):
    """A VPC that is not the region's default, with a droplet, a cluster, an app and a domain."""
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
    app = do.apps.create({"spec": dict(APP_SPEC, name="web-app", region="ams")})["app"]
    do.domains.create({"name": "web.example"})
    return dict(vpc=vpc, droplet=droplet, cluster=cluster, app=app)


TARGETS = [
    ("droplet", dict(name="web"), "Droplet 'web'"),
    ("database_cluster", dict(name="db-web", engine="valkey"), "database cluster 'db-web'"),
    ("app", dict(name="web-app"), "app 'web-app'"),
    ("vpc", dict(name="spare"), "VPC 'spare'"),
    ("domain", dict(name="web.example"), "domain 'web.example'"),
]


def counts(do):
    return dict(
        vpcs=len(do.vpcs.list()["vpcs"]),
        droplets=len(do.droplets.list()["droplets"]),
        clusters=len(do.databases.list_clusters()["databases"]),
        apps=len(do.apps.list()["apps"]),
        domains=len(do.domains.list()["domains"]),
    )


@pytest.mark.parametrize("check", [False, True], ids=["apply", "plan"])
def test_delete_without_confirmation_is_refused_before_any_write(run_module, do, sandbox, check):
    make_environment(do)
    before = counts(do)
    mark = sandbox.log()[-1]["seq"]
    for module, args, named in TARGETS:
        refused = run_module(module, state="absent", check=check, expect_fail=True, **args)
        assert named in refused["msg"] and "allow_delete=true" in refused["msg"], refused["msg"]
        assert refused["refused"] is True and refused.writes == []
    assert sandbox.summary(since=mark)["writes"] == 0
    assert counts(do) == before


def test_already_absent_still_needs_the_confirmation(run_module, sandbox):
    for module, args, named in TARGETS:
        refused = run_module(module, state="absent", expect_fail=True, **args)
        assert named in refused["msg"] and "mistyped" in refused["msg"]
        confirmed = run_module(module, state="absent", allow_delete=True, **args)
        assert (confirmed["changed"], confirmed.writes) == (False, [])
    assert sandbox.summary()["writes"] == 0


def test_protected_tag_refuses_even_when_confirmed(run_module, do, sandbox):
    env = make_environment(do, tags=["protected"])
    mark = sandbox.log()[-1]["seq"]
    for module, args, named in TARGETS[:2]:
        for check in (True, False):
            refused = run_module(module, state="absent", allow_delete=True, check=check, expect_fail=True, **args)
            assert named in refused["msg"] and "protected tag 'protected'" in refused["msg"], refused["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert do.droplets.get(env["droplet"]["id"])["droplet"]["name"] == "web"

    # A different protection tag is honoured; the default one then no longer protects.
    kept = run_module("droplet", name="web", state="absent", allow_delete=True, protected_tag="keep", check=True)
    assert kept["changed"] is True and kept.writes == []


def test_protected_names_refuse_even_when_confirmed(run_module, do, sandbox):
    make_environment(do)
    mark = sandbox.log()[-1]["seq"]
    for module, args, named in TARGETS:
        refused = run_module(
            module, state="absent", allow_delete=True, protected_names=[args["name"]], expect_fail=True, **args
        )
        assert named in refused["msg"] and "protected_names" in refused["msg"], refused["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0


def test_confirmed_deletes_go_through(run_module, do, sandbox):
    make_environment(do)
    for module, args, _named in TARGETS:
        plan = run_module(module, state="absent", allow_delete=True, check=True, **args)
        assert plan["changed"] is True and plan.writes == []
        gone = run_module(module, state="absent", allow_delete=True, **args)
        assert gone["changed"] is True and len(gone.writes) == 1 and gone.writes[0][0] == "DELETE"
    assert counts(do) == dict(vpcs=1, droplets=0, clusters=0, apps=0, domains=0)


def test_the_default_vpc_is_refused_before_any_write(run_module, do, sandbox):
    do.vpcs.create({"name": "default-ams3", "region": "ams3"})
    mark = sandbox.log()[-1]["seq"]
    for check in (True, False):
        refused = run_module(
            "vpc", name="default-ams3", state="absent", allow_delete=True, check=check, expect_fail=True
        )
        assert "default VPC of ams3" in refused["msg"] and refused["status"] == 403
    assert sandbox.summary(since=mark)["writes"] == 0
