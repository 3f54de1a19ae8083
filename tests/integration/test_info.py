"""The *_info modules against the sandbox."""

from __future__ import annotations

import pytest

DROPLET = {"size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}


@pytest.fixture
def account(do):
    do.vpcs.create({"name": "default-ams3", "region": "ams3"})
    do.droplets.create({"names": ["oxy-api-backend", "spare"], **DROPLET})
    do.droplets.create({"name": "tagged", **DROPLET, "tags": ["api"]})
    do.firewalls.create(
        {
            "name": "oxy-api-backend",
            "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.7/32"]}}],
        }
    )
    do.databases.create_cluster(
        {
            "name": "db-oxy",
            "engine": "mongodb",
            "num_nodes": 1,
            "size": "db-s-1vcpu-1gb",
            "region": "ams3",
            "tags": ["oxy"],
        }
    )
    do.apps.create(
        {
            "spec": {
                "name": "allo-app",
                "region": "nyc",
                "envs": [{"key": "TOKEN", "value": "s3cr3t-token-value", "type": "SECRET"}],
            }
        }
    )


@pytest.mark.parametrize(
    ("module", "key", "args", "names"),
    [
        ("vpc_info", "vpcs", {}, ["default-ams3"]),
        ("droplet_info", "droplets", {}, ["oxy-api-backend", "spare", "tagged"]),
        ("droplet_info", "droplets", {"name": "spare"}, ["spare"]),
        ("droplet_info", "droplets", {"tag": "api"}, ["tagged"]),
        ("firewall_info", "firewalls", {"name": "oxy-api-backend"}, ["oxy-api-backend"]),
        ("database_cluster_info", "databases", {"tag": "oxy"}, ["db-oxy"]),
        ("app_info", "apps", {"name": "allo-app"}, ["allo-app"]),
        ("app_info", "apps", {"name": "nope"}, []),
    ],
)
def test_info_modules_list_and_filter(run_module, account, module, key, args, names):
    result = run_module(module, check=True, **args)
    assert result["changed"] is False and result.writes == []
    found = sorted(i["spec"]["name"] if key == "apps" else i["name"] for i in result[key])
    assert found == names


def test_info_hides_credentials(run_module, account, do, sandbox):
    clusters = run_module("database_cluster_info")["databases"]
    assert clusters[0]["connection"]["password"] == "********"
    assert not [s for s in sandbox.control("GET", "secrets")["secrets"] if s in str(clusters)]
    app = run_module("app_info", name="allo-app")["apps"][0]
    assert app["spec"]["envs"][0]["value"].startswith("EV[")
