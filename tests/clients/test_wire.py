"""The sandbox on the wire, as any DigitalOcean client meets it: what the API accepts (nulls, empty
lists, unknown fields), and DigitalOcean's error body and rate-limit headers on every refusal, for
every path and method: unknown paths, wrong methods, malformed JSON, invalid bodies and the parts of
DigitalOcean the sandbox does not model.
"""

from __future__ import annotations

import functools
import re

import jsonschema
import pytest
import requests
import yaml

from tests.contract import operations
from tests.contract.spec import SPEC

RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
DROPLET = {"name": "api-1", "region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}


@functools.cache
def error_schema() -> dict:
    with SPEC.open() as handle:
        return yaml.load(handle, Loader=yaml.CSafeLoader)["components"]["schemas"]["error"]


def assert_error(resp: requests.Response, status: int, error_id: str, message: str = "") -> dict:
    """DigitalOcean's error: the status, ``{"id", "message", "request_id"}`` and the rate-limit headers."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    jsonschema.validate(body, error_schema())
    assert body["id"] == error_id and body["request_id"], body
    assert re.search(message, body["message"]), body["message"]
    assert all(h in resp.headers for h in RATE_HEADERS), dict(resp.headers)
    return body


def outside_the_spec(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    """A request the spec has no operation for (so nothing to validate it against but the error schema)."""
    headers = {"Authorization": "Bearer t", **kwargs.pop("headers", {})}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, verify=sandbox.ca, timeout=30, **kwargs)


def _fill(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "x1", template)


def _ops() -> list[tuple[str, str]]:
    return [tuple(op.split(" ", 1)) for op in operations.spec_operations()]


def _matches(template: str, path: str) -> bool:
    pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$"
    return re.match(pattern, path) is not None


# -- what the API accepts ----------------------------------------------------------------
def test_optional_fields_sent_as_null_are_absent(sandbox):
    nulls = {"ssh_keys": None, "tags": None, "volumes": None, "vpc_uuid": None, "user_data": None, "backups": None}
    resp = sandbox.api("POST", "/v2/droplets", json={**DROPLET, **nulls})
    assert resp.status_code == 202, resp.text
    droplet = resp.json()["droplet"]
    assert droplet["tags"] == [] and droplet["volume_ids"] == [] and droplet["vpc_uuid"]

    vpc = sandbox.api("POST", "/v2/vpcs", json={"name": "oxy", "region": "ams3", "description": None, "ip_range": None})
    assert vpc.status_code == 201, vpc.text
    assert vpc.json()["vpc"]["description"] == ""
    vpc_id = vpc.json()["vpc"]["id"]
    sandbox.api("PATCH", f"/v2/vpcs/{vpc_id}", json={"description": "kept"})
    patched = sandbox.api("PATCH", f"/v2/vpcs/{vpc_id}", json={"name": "oxy-2", "description": None})
    assert (patched.json()["vpc"]["name"], patched.json()["vpc"]["description"]) == ("oxy-2", "kept")

    rule = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"], "droplet_ids": None}}
    fw = sandbox.api(
        "POST", "/v2/firewalls", json={"name": "fw", "inbound_rules": [rule], "outbound_rules": None, "tags": None}
    )
    assert fw.status_code == 202, fw.text


def test_empty_lists_and_unknown_fields_are_accepted(sandbox):
    body = {**DROPLET, "ssh_keys": [], "tags": [], "volumes": [], "private_networking": True, "unheard_of": {"a": 1}}
    assert sandbox.api("POST", "/v2/droplets", json=body).status_code == 202
    key = {
        "name": "k",
        "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBlBv1c2tUeJ0Tq3S1m7yBQ3pWKt0qfLBKv8xk7Wg0Zd",
    }
    assert sandbox.api("POST", "/v2/account/keys", json={**key, "fingerprint": "ignored"}).status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v2/droplets", {**DROPLET, "size": None}, 422, "size"),  # required: null is no size
        ("/v2/droplets", {**DROPLET, "tags": [None]}, 422, r"tags\.0"),  # a null inside a list is a bad tag
        ("/v2/droplets", {**DROPLET, "tags": "web"}, 422, "tags"),
        ("/v2/vpcs", {"name": None, "region": "ams3"}, 422, "name"),
        ("/v2/vpcs", {"name": "oxy", "region": "ams3", "ip_range": "8.8.0.0/16"}, 422, "ip_range"),
        ("/v2/firewalls", {"name": "fw", "inbound_rules": None, "outbound_rules": None}, 400, "rule"),
    ],
)
def test_what_the_api_refuses_is_still_refused_by_name(sandbox, path, body, status, field):
    resp = sandbox.api("POST", path, json=body)
    assert_error(resp, status, "unprocessable_entity" if status == 422 else "bad_request", field)


def test_malformed_json_is_a_400(sandbox):
    for path in ("/v2/droplets", "/v2/vpcs", "/v2/projects"):
        resp = outside_the_spec(sandbox, "POST", path, data=b'{"name": ', headers={"Content-Type": "application/json"})
        sandbox.seen.append(resp)  # a POST the spec has: its answer is checked against it too
        assert_error(resp, 400, "bad_request", "not valid JSON")


# -- errors, everywhere ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v2/nothing", "/v2/droplets/1/nothing", "/v3/droplets", "/", "/v2"])
def test_unknown_paths_are_digitaloceans_404(sandbox, path):
    assert_error(outside_the_spec(sandbox, "GET", path), 404, "not_found", "could not be found")


def test_a_token_is_needed_first(sandbox):
    resp = outside_the_spec(sandbox, "GET", "/v2/volumes", headers={"Authorization": ""})
    assert_error(resp, 401, "unauthorized", "Unable to authenticate")


def test_every_spec_path_refuses_a_method_it_does_not_have(sandbox):
    ops = _ops()
    by_path: dict[str, set[str]] = {}
    for method, template in ops:
        by_path.setdefault(template, set()).add(method)
    walked = 0
    for template, methods in by_path.items():
        path = _fill(template)
        for method in ("PATCH", "PUT", "DELETE", "POST", "GET"):
            if method in methods:
                continue
            if any(m == method and _matches(t, path) for m, t in ops):
                continue  # the filled-in path is another operation's (GET /v2/droplets/actions is a droplet's GET)
            resp = outside_the_spec(sandbox, method, path)
            assert_error(resp, 405, "method_not_allowed", f"{method} is not allowed")
            assert set(resp.headers["allow"].split(", ")) >= methods
            walked += 1
            break
    assert walked > 400


def test_what_the_sandbox_does_not_model_answers_501_naming_it(sandbox):
    coverage = sandbox.control("GET", "coverage")
    expected = sorted({template.split("/")[2] for _, template in _ops()} - set(coverage["modelled"]))
    assert coverage["not_modelled"] == expected
    assert {"volumes", "kubernetes", "load_balancers", "cdn", "certificates", "spaces", "functions"} <= set(expected)
    assert {"registries"} <= set(expected)
    assert not {"monitoring", "uptime"} & set(expected)  # modelled: uptime checks, alert policies
    listed = set(_ops())
    for family in expected:
        call = sandbox.api if ("GET", f"/v2/{family}") in listed else functools.partial(outside_the_spec, sandbox)
        body = assert_error(call("GET", f"/v2/{family}"), 501, "not_implemented", f"/v2/{family}")
        assert "does not model it" in body["message"]
    # Paths of an unmodelled family the spec does not list either: still said as such.
    assert_error(outside_the_spec(sandbox, "GET", "/v2/volumes/x1/y/z"), 501, "not_implemented", "/v2/volumes")


def test_every_operation_not_implemented_answers_501(sandbox):
    coverage = sandbox.control("GET", "coverage")
    missing = [op for family in coverage["families"].values() for op in family["not_implemented"]]
    assert "GET /v2/droplets/{droplet_id}/destroy_with_associated_resources" in missing
    for op in missing:
        method, template = op.split(" ", 1)
        # 3 schema-registry operations declare no error response to validate a 501 against.
        unchecked = "schema-registry/{subject_name}" in template
        call = functools.partial(outside_the_spec, sandbox) if unchecked else sandbox.api
        resp = call(method, _fill(template))
        assert_error(resp, 501, "not_implemented", re.escape(template))


def test_trailing_slashes_are_the_same_path(sandbox):
    resp = outside_the_spec(sandbox, "POST", "/v2/droplets/", json=DROPLET)
    assert resp.status_code == 202, resp.text
    listed = outside_the_spec(sandbox, "GET", "/v2/droplets/")
    assert [d["name"] for d in listed.json()["droplets"]] == ["api-1"]


def test_the_sandbox_serves_only_digitaloceans_operations(sandbox):
    coverage = sandbox.control("GET", "coverage")
    implemented = {op for family in coverage["families"].values() for op in family["implemented"]}
    assert {"GET /v2/droplets", "POST /v2/droplets/{droplet_id}/actions", "GET /v2/projects/default"} <= implemented
    # A route the sandbox has but the spec does not would be missing from the coverage: count them.
    from oxy_sandbox import routes

    served = {
        (method, re.sub(r"\{[^}]*\}", "{}", route.path))
        for router in routes.ROUTERS
        for route in router.routes
        for method in getattr(route, "methods", ())
        if route.path.startswith("/v2/")
    }
    spec_shapes = {(m, re.sub(r"\{[^}]*\}", "{}", t)) for m, t in _ops()}
    assert served <= spec_shapes, sorted(served - spec_shapes)


def test_the_operation_table_follows_the_spec():
    assert operations.MODULE.read_text() == operations.module_text(), "run: python -m tests.contract.operations"
