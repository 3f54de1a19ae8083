"""oxy.infra.database_cluster in process against a scripted API: a confirmed upgrade together with a resize."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.modules import database_cluster as cluster_module

CLUSTER = {
    "id": "c-1",
    "name": "db-oxy",
    "engine": "mongodb",
    "version": "7.0",
    "size": "db-s-1vcpu-2gb",
    "num_nodes": 3,
    "region": "ams3",
    "status": "online",
    "private_network_uuid": "v-1",
    "tags": [],
}
OPTIONS = {
    "options": {
        "mongodb": {
            "versions": ["8.0", "7.0"],
            "regions": ["ams3"],
            "layouts": [{"num_nodes": 3, "sizes": ["db-s-1vcpu-2gb", "db-s-2vcpu-4gb"]}],
        }
    }
}


def run(api_server, capsys, **args):
    args = dict(dict(token="dop_v1_test", api_url=api_server.url, retries=0, wait=False), **args)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        cluster_module.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_the_upgrade_goes_before_a_resize(api_server, capsys):
    """A resize leaves the cluster resizing and DigitalOcean upgrades online clusters only: upgrade first."""
    api_server.reply(200, {"databases": [CLUSTER]})
    api_server.reply(200, OPTIONS)
    api_server.reply(204, None)
    api_server.reply(202, None)
    resizing = dict(CLUSTER, version="8.0", size="db-s-2vcpu-4gb", status="resizing")
    api_server.reply(200, {"database": resizing}, times=2)  # read after the writes, and the (no-)wait's look
    code, out = run(
        api_server, capsys, name="db-oxy", engine="mongodb", version="8.0", size="db-s-2vcpu-4gb",
        confirm_major_upgrade="db-oxy",
    )  # fmt: skip
    assert code == 0 and out["changed"] is True, out
    assert (out["plan_action"], out["plan_note"]) == (
        "upgrade",
        "major upgrade of MongoDB 7.0 -> 8.0, irreversible; confirmed",
    )
    writes = [(method, path, body) for method, path, body, _headers in api_server.requests if method != "GET"]
    assert writes == [
        ("PUT", "/v2/databases/c-1/upgrade", {"version": "8.0"}),
        ("PUT", "/v2/databases/c-1/resize", {"size": "db-s-2vcpu-4gb", "num_nodes": 3}),
    ]


@pytest.mark.parametrize(
    ("running", "wanted", "older"),
    [("7.0", "6.0", True), ("8.0", "7.0", True), ("10.0", "9.0", True), ("9.0", "10.0", False)],
)
def test_versions_compare_as_numbers(running, wanted, older):
    assert (cluster_module._version(wanted) < cluster_module._version(running)) is older
