"""Connection strings built from a cluster's connection block (module_utils._connection)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from ansible_collections.oxy.infra.plugins.module_utils._connection import (
    ConnectionProblem,
    connection_uri,
    describe_uri,
)

MONGO = {
    "uri": "mongodb+srv://doadmin:adminpw@private-db-oxy-1a2b.mongo.ondigitalocean.com/admin"
    "?tls=true&authSource=admin&replicaSet=db-oxy",
    "host": "private-db-oxy-1a2b.mongo.ondigitalocean.com",
    "port": 27017,
    "user": "doadmin",
    "database": "admin",
}
VALKEY = {"uri": "rediss://default:adminpw@db-valkey-do-user-1-0.f.db.ondigitalocean.com:25061", "port": 25061}
AWKWARD = "p@ss:w/rd%?#&= +"


def test_mongodb_string_names_the_user_its_database_and_keeps_the_clusters_options():
    uri = connection_uri(MONGO, "mongodb", "mention", "s3cret", "mention-production")
    assert uri == (
        "mongodb+srv://mention:s3cret@private-db-oxy-1a2b.mongo.ondigitalocean.com/mention-production"
        "?tls=true&authSource=admin&replicaSet=db-oxy"
    )
    assert "adminpw" not in uri and "doadmin" not in uri


def test_any_password_survives_the_round_trip():
    uri = connection_uri(MONGO, "mongodb", "us:er@x", AWKWARD, "db")
    parts = urlsplit(uri)
    assert (unquote(parts.username), unquote(parts.password)) == ("us:er@x", AWKWARD)
    assert parts.hostname == MONGO["host"] and parts.path == "/db"
    assert dict(parse_qsl(parts.query))["replicaSet"] == "db-oxy"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"tls": "true", "authSource": "admin"}),
        ("?tls=false&authSource=oxy&w=majority", {"tls": "true", "authSource": "admin", "w": "majority"}),
    ],
)
def test_mongodb_strings_always_carry_tls_and_auth_source(query, expected):
    block = dict(MONGO, uri="mongodb://doadmin:pw@host.example:27017/admin" + query)
    uri = connection_uri(block, "mongodb", "oxy", "pw2", "oxy-prod")
    assert describe_uri(uri)["options"] == expected
    assert describe_uri(uri)["database"] == "oxy-prod" and describe_uri(uri)["port"] == 27017


def test_without_a_database_the_clusters_path_stays():
    assert urlsplit(connection_uri(MONGO, "mongodb", "oxy", "pw", None)).path == "/admin"


def test_valkey_url_has_no_path_and_the_new_password():
    uri = connection_uri(VALKEY, "valkey", "default", AWKWARD, "ignored")
    parts = urlsplit(uri)
    assert parts.scheme == "rediss" and parts.path == "" and parts.port == 25061
    assert unquote(parts.password) == AWKWARD and "adminpw" not in uri


@pytest.mark.parametrize(
    "block, engine, password, message",
    [
        ({}, "mongodb", "pw", "has no uri"),
        (MONGO, "mongodb", "", "no password for user 'oxy'"),
        (VALKEY, "mongodb", "pw", "scheme 'rediss'"),
        (MONGO, "kafka", "pw", "engine 'kafka'"),
    ],
)
def test_refusals_name_the_problem_and_never_the_secret(block, engine, password, message):
    with pytest.raises(ConnectionProblem) as raised:
        connection_uri(block, engine, "oxy", password, "db")
    assert message in str(raised.value)
    assert "adminpw" not in str(raised.value)
