"""oxy.infra.database_connection in process against a scripted API: where a user's password is read from."""

from __future__ import annotations

import functools
from urllib.parse import unquote, urlsplit

import pytest
from ansible_collections.oxy.infra.plugins.modules import database_connection as connection_module

HOST = "private-db-oxy-0a1b2c3d.mongo.ondigitalocean.com"
BLOCK = {
    "uri": f"mongodb+srv://doadmin:adminpw@{HOST}/admin?tls=true&authSource=admin&replicaSet=db-oxy",
    "database": "admin",
    "host": HOST,
    "port": 27017,
    "user": "doadmin",
    "password": "adminpw",
    "ssl": True,
}


def cluster(users):
    return {
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "name": "db-oxy",
        "engine": "mongodb",
        "status": "online",
        "connection": dict(BLOCK, host=HOST.removeprefix("private-")),
        "private_connection": BLOCK,
        "users": users,
    }


@pytest.fixture
def run(run_main):
    return functools.partial(run_main, connection_module, cluster="db-oxy")


def paths(api_server):
    return [(method, urlsplit(path).path) for method, path, _body, _headers in api_server.requests]


def test_a_user_the_cluster_lists_costs_no_read_of_its_own(api_server, run):
    users = [{"name": "doadmin", "role": "primary", "password": "adminpw"}, {"name": "mention", "password": "m3nt"}]
    api_server.reply(200, {"databases": [cluster(users)]})
    code, out = run(user="mention", database="mention-production")
    assert code == 0, out
    assert unquote(urlsplit(out["uri"]).password) == "m3nt" and out["user"] == "mention"
    assert paths(api_server) == [("GET", "/v2/databases")]


@pytest.mark.parametrize("users", [None, [{"name": "doadmin", "role": "primary", "password": "adminpw"}]])
def test_a_user_the_cluster_does_not_list_is_read_on_its_own(api_server, run, users):
    api_server.reply(200, {"databases": [cluster(users)]})
    api_server.reply(200, {"user": {"name": "mention", "role": "normal", "password": "fr3sh"}})
    code, out = run(user="mention", database="mention-production")
    assert code == 0, out
    assert unquote(urlsplit(out["uri"]).password) == "fr3sh"
    assert paths(api_server) == [
        ("GET", "/v2/databases"),
        ("GET", "/v2/databases/" + cluster(users)["id"] + "/users/mention"),
    ]


def test_no_such_user_is_named_and_a_listed_user_without_password_names_the_scope(api_server, run):
    api_server.reply(200, {"databases": [cluster([])]})
    api_server.reply(404, {"id": "not_found", "message": "user not found"})
    code, out = run(user="ghost")
    assert code == 1 and out["msg"] == "user: cluster 'db-oxy' has no user 'ghost'"
    api_server.requests.clear()
    api_server.reply(200, {"databases": [cluster([{"name": "mention", "role": "normal"}])]})
    code, out = run(user="mention")
    assert code == 1 and "lacks the database:view_credentials scope" in out["msg"]
    assert paths(api_server) == [("GET", "/v2/databases")]
