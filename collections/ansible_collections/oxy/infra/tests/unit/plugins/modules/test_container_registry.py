"""oxy.infra.container_registry in process against a scripted API: what it asks DigitalOcean for credentials."""

from __future__ import annotations

import base64
import functools
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from ansible_collections.oxy.infra.plugins.modules import container_registry as registry_module

REGISTRY = {"name": "oxy", "region": "ams3", "subscription": {"tier": {"slug": "basic"}}}
SECRET = "0123abcd"
CONFIG = {"auths": {"registry.digitalocean.com": {"auth": base64.b64encode(f"{SECRET}:{SECRET}".encode()).decode()}}}


@pytest.fixture
def run(run_main):
    return functools.partial(run_main, registry_module, name="oxy")


def credential_queries(api_server):
    return [
        parse_qs(urlsplit(path).query)
        for method, path, _body, _headers in api_server.requests
        if urlsplit(path).path == "/v2/registry/docker-credentials"
    ]


def test_read_only_credentials_with_an_expiry_are_asked_for_and_dated(api_server, run):
    api_server.reply(200, {"registry": REGISTRY})
    api_server.reply(200, CONFIG)
    before = int(time.time())
    code, out = run(credentials="read", credentials_expiry=86400)
    assert code == 0, out
    assert credential_queries(api_server) == [{"expiry_seconds": ["86400"], "read_write": ["false"]}]
    assert before + 86400 <= out["expires_at"] <= int(time.time()) + 86400
    assert (out["username"], out["password"], out["changed"]) == (SECRET, SECRET, False)
    assert SECRET not in json.dumps(
        {k: v for k, v in out.items() if k not in ("username", "password", "docker_config")}
    )


def test_read_write_credentials_without_expiry_say_they_never_expire(api_server, run):
    api_server.reply(200, {"registry": REGISTRY})
    api_server.reply(200, CONFIG)
    code, out = run(credentials="read_write")
    assert code == 0, out
    # pydo sends its default, 0: "will not expire"
    assert credential_queries(api_server) == [{"expiry_seconds": ["0"], "read_write": ["true"]}]
    assert out["expires_at"] == 0


def test_a_negative_expiry_is_refused_before_any_request(api_server, run):
    code, out = run(credentials="read", credentials_expiry=-1, subscription_tier="basic")
    assert code == 1
    assert out["msg"].startswith("credentials_expiry: -1 ")
    assert api_server.requests == []
