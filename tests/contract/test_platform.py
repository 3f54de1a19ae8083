"""Cross-cutting API behaviour: auth, envelopes, pagination, rate limits, faults, log, persistence."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError
from oxy_sandbox import process


def test_request_without_bearer_token_gets_401(sandbox):
    resp = sandbox.api("GET", "/v2/account", token=None)
    assert resp.status_code == 401
    body = resp.json()
    assert body["id"] == "unauthorized"
    assert body["message"] == "Unable to authenticate you."
    assert body["request_id"]


def test_every_response_carries_rate_limit_headers(sandbox):
    ok = sandbox.api("GET", "/v2/account")
    missing = sandbox.api("GET", "/v2/droplets/1")
    for resp in (ok, missing):
        assert int(resp.headers["ratelimit-limit"]) == 1_000_000
        assert int(resp.headers["ratelimit-remaining"]) > 0
        assert int(resp.headers["ratelimit-reset"]) > time.time()
    assert int(missing.headers["ratelimit-remaining"]) == int(ok.headers["ratelimit-remaining"]) - 1


def test_not_found_is_returned_as_a_body_by_pydo(do):
    body = do.droplets.get(123)
    assert body["id"] == "not_found"
    assert body["message"] == "The resource you were accessing could not be found."


def test_pagination_walks_every_page_with_links(sandbox, do):
    first = do.sizes.list(per_page=7, page=1)
    total = first["meta"]["total"]
    assert total >= 20
    assert set(first["links"]["pages"]) == {"next", "last"}
    slugs, page = [], first
    while True:
        slugs += [s["slug"] for s in page["sizes"]]
        nxt = page["links"].get("pages", {}).get("next")
        if not nxt:
            break
        number = int(nxt.split("page=")[1].split("&")[0])
        page = do.sizes.list(per_page=7, page=number)
    assert len(slugs) == len(set(slugs)) == total
    last = do.sizes.list(per_page=7, page=-(-total // 7))
    assert set(last["links"]["pages"]) == {"first", "prev"}
    assert do.sizes.list(per_page=200)["links"] == {}


def test_per_page_is_capped_at_200(sandbox):
    for i in range(3):
        sandbox.api("POST", "/v2/tags", json={"name": f"t{i}"})
    body = sandbox.api("GET", "/v2/tags?per_page=500").json()
    assert body["meta"]["total"] == 3
    assert body["links"] == {}


def test_burst_limit_answers_429_with_retry_after(sandbox):
    sandbox.configure(burst_limit=3)
    statuses = [sandbox.api("GET", "/v2/account").status_code for _ in range(3)]
    limited = sandbox.api("GET", "/v2/account")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["id"] == "too_many_requests"
    assert limited.json()["message"] == "API rate limit exceeded."
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # A different token has its own window.
    assert sandbox.api("GET", "/v2/account", token="other").status_code == 200


def test_pydo_retries_injected_429_then_succeeds(sandbox, do):
    sandbox.faults(statuses=[429], count=2, retry_after=1, path_regex="^/v2/account$")
    started = time.monotonic()
    assert do.account.get()["account"]["status"] == "active"
    assert time.monotonic() - started >= 2  # it honoured retry-after twice
    statuses = [e["status"] for e in sandbox.log() if e["path"] == "/v2/account"]
    assert statuses == [429, 429, 200]


def test_persistent_500_surfaces_as_http_error(sandbox, do):
    sandbox.faults(rate=1.0, statuses=[500], path_regex="^/v2/regions")
    with pytest.raises(HttpResponseError) as err:
        do.regions.list()
    assert err.value.status_code == 500
    assert err.value.response.json()["id"] == "server_error"


def test_fault_after_the_change_still_applies_it(sandbox, do):
    sandbox.faults(statuses=[500], count=1, phase="after", methods=["POST"])
    resp = sandbox.api("POST", "/v2/vpcs", json={"name": "ambiguous", "region": "ams3"})
    assert resp.status_code == 500
    assert [v["name"] for v in do.vpcs.list()["vpcs"]] == ["ambiguous"]


def test_faults_can_be_limited_to_methods_and_paths(sandbox):
    sandbox.faults(rate=1.0, statuses=[503], methods=["POST"], path_regex="^/v2/tags")
    assert sandbox.api("GET", "/v2/tags").status_code == 200
    assert sandbox.api("POST", "/v2/tags", json={"name": "x"}).status_code == 503
    assert sandbox.api("POST", "/v2/vpcs", json={"name": "y", "region": "ams3"}).status_code == 201
    sandbox.control("DELETE", "faults")
    assert sandbox.api("POST", "/v2/tags", json={"name": "x"}).status_code == 201


def test_injected_latency_delays_answers(sandbox):
    sandbox.faults(latency_ms=300, path_regex="^/v2/account$")
    started = time.monotonic()
    assert sandbox.api("GET", "/v2/account").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_request_log_and_summary(sandbox, do):
    start = sandbox.log()[-1]["seq"] if sandbox.log() else 0
    do.vpcs.create({"name": "logged", "region": "ams3"})
    do.vpcs.list()
    do.vpcs.list()
    entries = sandbox.log(since=start)
    assert [(e["method"], e["route"], e["status"]) for e in entries] == [
        ("POST", "/v2/vpcs", 201),
        ("GET", "/v2/vpcs", 200),
        ("GET", "/v2/vpcs", 200),
    ]
    assert all(e["ms"] >= 0 for e in entries)
    summary = sandbox.summary(since=start)
    assert summary["total"] == 3
    assert summary["writes"] == 1
    by_route = {(r["method"], r["route"]): r for r in summary["routes"]}
    assert by_route[("GET", "/v2/vpcs")]["count"] == 2
    assert by_route[("GET", "/v2/vpcs")]["statuses"] == {"200": 2}


def test_reset_forgets_everything(sandbox, do):
    do.vpcs.create({"name": "gone-soon", "region": "ams3"})
    sandbox.control("POST", "reset")
    sandbox.configure(burst_limit=0)
    assert do.vpcs.list()["vpcs"] == []
    assert do.projects.get_default()["project"]["is_default"] is True


@pytest.mark.slow
def test_state_survives_a_restart(tmp_path):
    first = process.start(tmp_path, reset=True)
    try:
        import requests

        headers = {"Authorization": "Bearer t"}
        created = requests.post(
            f"{first.url}/v2/vpcs",
            json={"name": "kept", "region": "ams3"},
            headers=headers,
            verify=first.ca,
            timeout=10,
        ).json()["vpc"]
    finally:
        process.stop(first)
    second = process.start(tmp_path)
    try:
        got = requests.get(f"{second.url}/v2/vpcs/{created['id']}", headers=headers, verify=second.ca, timeout=10)
        assert got.json()["vpc"] == created
    finally:
        process.stop(second)
