"""The shared DigitalOcean client base: retries, error mapping, pagination, lookups, creates."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from ansible_collections.oxy.infra.plugins.module_utils._api import (
    DigitalOceanAPI,
    DigitalOceanError,
    _error_from_body,
    build_client,
)

ERROR_500 = {"id": "server_error", "message": "boom", "request_id": "r-1"}


def api_for(server, retries=3):
    params = dict(
        api_url=server.url, token="dop_v1_test", ca_path=None, validate_certs=True, request_timeout=5, retries=retries
    )
    return DigitalOceanAPI(build_client(params), retries=retries)


def test_plain_http_sends_the_bearer_token(api_server, no_sleep):
    api_server.reply(200, {"account": {"status": "active"}})
    assert api_for(api_server).call("account.get")["account"]["status"] == "active"
    assert api_server.requests[0][3]["Authorization"] == "Bearer dop_v1_test"
    assert api_server.requests[0][3]["User-Agent"].startswith("oxy.infra/")


def test_get_is_retried_on_5xx_and_429(api_server, no_sleep):
    api_server.reply(503, ERROR_500)
    api_server.reply(429, {"id": "too_many_requests", "message": "API rate limit exceeded."})
    api_server.reply(500, ERROR_500)
    api_server.reply(200, {"vpcs": [], "links": {}, "meta": {"total": 0}})
    assert api_for(api_server).call("vpcs.list")["vpcs"] == []
    assert len(api_server.requests) == 4


def test_retry_after_is_honoured(api_server, no_sleep):
    api_server.reply(429, {"id": "too_many_requests", "message": "x"}, {"Retry-After": "7"})
    api_server.reply(200, {"account": {}})
    api_for(api_server).call("account.get")
    assert 7 in no_sleep


def test_spent_window_waits_for_ratelimit_reset(api_server, no_sleep):
    reset = int(time.time()) + 12
    api_server.reply(
        429, {"id": "too_many_requests", "message": "x"}, {"ratelimit-remaining": "0", "ratelimit-reset": str(reset)}
    )
    api_server.reply(201, {"vpc": {"id": "v1", "name": "n"}})
    assert api_for(api_server).call("vpcs.create", {"name": "n", "region": "ams3"})["vpc"]["id"] == "v1"
    assert any(10 <= nap <= 12 for nap in no_sleep), no_sleep
    assert len(api_server.requests) == 2  # a refused POST is safe to send again


def test_post_is_not_replayed_after_a_5xx(api_server, no_sleep):
    api_server.reply(500, ERROR_500)
    with pytest.raises(DigitalOceanError) as err:
        api_for(api_server).call("vpcs.create", {"name": "n", "region": "ams3"})
    assert len(api_server.requests) == 1
    assert err.value.status == 500 and err.value.ambiguous
    assert err.value.request_id == "r-1"
    assert "vpcs.create failed (HTTP 500): boom" in err.value.message


def test_idempotent_post_is_retried_after_a_5xx(api_server, no_sleep):
    api_server.reply(503, ERROR_500)
    api_server.reply(204)
    api = api_for(api_server)
    api.call(
        "tags.assign_resources", "t", {"resources": [{"resource_id": "1", "resource_type": "droplet"}]}, idempotent=True
    )
    assert [r[0] for r in api_server.requests] == ["POST", "POST"]


def test_retries_are_bounded(api_server, no_sleep):
    api_server.reply(500, ERROR_500, times=3)
    with pytest.raises(DigitalOceanError):
        api_for(api_server, retries=2).call("vpcs.list")
    assert len(api_server.requests) == 3


def test_declared_404_body_and_missing_ok(api_server, no_sleep):
    not_found = {"id": "not_found", "message": "The resource you were accessing could not be found."}
    api_server.reply(404, not_found)
    api_server.reply(404, not_found)
    api = api_for(api_server)
    assert api.call("droplets.get", 1, missing_ok=True) is None
    with pytest.raises(DigitalOceanError) as err:
        api.call("droplets.get", 1)
    assert (err.value.status, err.value.error_id) == (404, "not_found")
    assert not err.value.ambiguous


def test_undeclared_422_names_the_message(api_server, no_sleep):
    api_server.reply(422, {"id": "unprocessable_entity", "message": "size: 's-99' is not valid"})
    with pytest.raises(DigitalOceanError) as err:
        api_for(api_server).call("droplets.create", {"name": "x"})
    assert err.value.status == 422 and "size: 's-99' is not valid" in err.value.message
    assert not err.value.ambiguous


def test_list_follows_next_links_to_the_end(api_server, no_sleep):
    def page(method, path):
        number = int(parse_qs(urlparse(path).query)["page"][0])
        links = {"pages": {"next": "https://api.digitalocean.com/v2/vpcs?page=%d&per_page=200" % (number + 1)}}
        return 200, {"vpcs": [{"id": number}], "links": links if number < 3 else {}, "meta": {"total": 3}}, {}

    api_server.default = page
    assert [v["id"] for v in api_for(api_server).list("vpcs.list", "vpcs")] == [1, 2, 3]
    assert all("per_page=200" in r[1] for r in api_server.requests)


def test_find_one_fails_on_ambiguity_naming_ids():
    api = DigitalOceanAPI(client=None)
    assert api.find_one([], "x") is None
    assert api.find_one([{"id": 1}], "x") == {"id": 1}
    with pytest.raises(DigitalOceanError) as err:
        api.find_one([{"id": 1}, {"id": 2}], "Droplet name 'web'")
    assert "matches 2 resources (ids: 1, 2)" in err.value.message


class Flaky:
    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_create_adopts_what_an_ambiguous_failure_created(no_sleep):
    api = DigitalOceanAPI(client=None)
    create = Flaky(DigitalOceanError("boom", status=500))
    lookup = Flaky({"id": "made-anyway"})
    assert api.create(create, lookup) == {"id": "made-anyway"}
    assert (create.calls, lookup.calls) == (1, 1)


def test_create_tries_again_when_nothing_was_made(no_sleep):
    api = DigitalOceanAPI(client=None)
    create = Flaky(DigitalOceanError("boom", status=503), {"id": "second"})
    lookup = Flaky(None)
    assert api.create(create, lookup) == {"id": "second"}
    assert (create.calls, lookup.calls) == (2, 1)


def test_create_does_not_retry_a_refusal(no_sleep):
    api = DigitalOceanAPI(client=None)
    create = Flaky(DigitalOceanError("bad size", status=422))
    with pytest.raises(DigitalOceanError):
        api.create(create, Flaky())
    assert create.calls == 1


def test_create_gives_up_after_its_attempts(no_sleep):
    api = DigitalOceanAPI(client=None, retries=1)
    errors = [DigitalOceanError("boom", status=500) for _attempt in range(3)]
    lookups = Flaky(None, None, None)
    with pytest.raises(DigitalOceanError):
        api.create(Flaky(*errors), lookups)
    assert lookups.calls == 3  # before each new attempt, and once more at the end


# -- errors that pydo returns as a body ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error_id", "status"),
    [
        ("bad_request", 400),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("not_found", 404),
        ("conflict", 409),
        ("unprocessable_entity", 422),
        ("too_many_requests", 429),
        ("server_error", 500),
        ("service_unavailable", 503),
    ],
)
def test_error_body_keeps_its_status(error_id, status):
    err = _error_from_body({"id": error_id, "message": "no", "request_id": "r-9"}, "firewalls.create")
    assert (err.status, err.error_id, err.request_id) == (status, error_id, "r-9")
    assert err.ambiguous is (status >= 500)
    assert "firewalls.create failed (HTTP %d): no" % status in err.message


def test_error_body_prefers_the_status_seen_on_the_wire():
    err = _error_from_body({"id": "some_new_id", "message": "no"}, "x.y", status=418)
    assert err.status == 418 and not err.ambiguous
    unknown = _error_from_body({"id": "some_new_id", "message": "no"}, "x.y")
    assert unknown.status is None and unknown.ambiguous  # nothing tells us it was refused


def test_declared_400_body_is_a_refusal_and_the_create_is_sent_once(api_server, no_sleep):
    """pydo answers a firewall's declared 400 with its body; it must never be replayed as ambiguous."""
    refused = {"id": "bad_request", "message": "tags: tag 'ghost' does not exist", "request_id": "r-4"}
    api_server.reply(400, refused)
    api = api_for(api_server, retries=5)
    body = {"name": "fw", "inbound_rules": [], "outbound_rules": [], "tags": ["ghost"]}
    with pytest.raises(DigitalOceanError) as err:
        api.create(lambda: api.call("firewalls.create", body)["firewall"], lambda: None)
    assert (err.value.status, err.value.error_id, err.value.request_id) == (400, "bad_request", "r-4")
    assert not err.value.ambiguous
    assert "tag 'ghost' does not exist" in err.value.message
    assert [r[0] for r in api_server.requests] == ["POST"]
    assert no_sleep == []


def test_declared_error_body_with_an_unknown_id_keeps_the_wire_status(api_server, no_sleep):
    api_server.reply(400, {"id": "validation_failed", "message": "no"})
    with pytest.raises(DigitalOceanError) as err:
        api_for(api_server).call("firewalls.create", {"name": "fw"})
    assert err.value.status == 400 and not err.value.ambiguous


def test_the_run_read_cache_serves_lookups_and_a_tasks_own_reads_until_a_write(api_server, no_sleep, tmp_path):
    """In the controller: a lookup is answered to any task of the run, a module's own state only to the task that
    read it; a write, even a failed one, empties it; polls go past it and refresh it."""
    from ansible_collections.oxy.infra.plugins.plugin_utils import _read_cache

    params = dict(api_url=api_server.url, token="dop_v1_test")
    api = api_for(api_server)
    api.cache = _read_cache.read_cache_for(params, directory=str(tmp_path))
    later = api_for(api_server)  # another task of the same run: another worker process
    later.cache = _read_cache.read_cache_for(params, directory=str(tmp_path))

    def as_another_task(call, *args, **kwargs):
        mine = _read_cache.task_run()
        _read_cache._TASK["token"] = "another task"
        try:
            return call(*args, **kwargs)
        finally:
            _read_cache._TASK["token"] = mine

    api_server.reply(200, {"vpcs": [{"id": "v1", "name": "a"}], "links": {}})
    assert api.call("vpcs.list")["vpcs"][0]["id"] == "v1"
    assert api.call("vpcs.list")["vpcs"][0]["id"] == "v1"  # the same task (a later item of its loop)
    assert as_another_task(later.call, "vpcs.list", lookup=True)["vpcs"][0]["id"] == "v1"  # a lookup
    assert len(api_server.requests) == 1
    api_server.reply(200, {"vpcs": [{"id": "v1", "name": "a", "description": "changed"}], "links": {}})
    # Another task's own state is read afresh, and refreshes the cache.
    assert as_another_task(later.call, "vpcs.list")["vpcs"][0]["description"] == "changed"
    assert len(api_server.requests) == 2
    assert api.call("vpcs.list", lookup=True)["vpcs"][0]["description"] == "changed"
    api_server.reply(500, ERROR_500)  # a PATCH that failed may still have written
    api_server.reply(500, ERROR_500)
    api_server.reply(500, ERROR_500)
    api_server.reply(500, ERROR_500)
    with pytest.raises(DigitalOceanError):
        later.call("vpcs.patch", "v1", {"description": "x"})
    api_server.reply(200, {"vpcs": [], "links": {}})
    assert api.call("vpcs.list", lookup=True)["vpcs"] == []
    # A wait polls past the cache, and empties it when it ends (what it waited for changed the world).
    api_server.reply(200, {"vpcs": [{"id": "v2", "name": "b"}], "links": {}})
    with api.polls():
        assert api.call("vpcs.list")["vpcs"][0]["id"] == "v2"
    api_server.reply(200, {"vpcs": [{"id": "v3", "name": "c"}], "links": {}})
    assert later.call("vpcs.list", lookup=True)["vpcs"][0]["id"] == "v3"
    assert [r[0] for r in api_server.requests].count("GET") == 5


def test_a_task_that_retries_is_answered_nothing_and_refreshes_the_cache(api_server, no_sleep, tmp_path):
    from ansible_collections.oxy.infra.plugins.plugin_utils._read_cache import read_cache_for

    params = dict(api_url=api_server.url, token="dop_v1_test")
    retried = api_for(api_server)
    retried.cache = read_cache_for(params, directory=str(tmp_path), serves=False)
    later = api_for(api_server)
    later.cache = read_cache_for(params, directory=str(tmp_path))
    api_server.reply(200, {"vpcs": [], "links": {}})
    api_server.reply(200, {"vpcs": [{"id": "v1", "name": "a"}], "links": {}})
    assert retried.call("vpcs.list", lookup=True)["vpcs"] == []
    assert retried.call("vpcs.list", lookup=True)["vpcs"][0]["id"] == "v1"  # the second attempt read afresh
    assert later.call("vpcs.list", lookup=True)["vpcs"][0]["id"] == "v1"  # what it read is the newest answer
    assert len(api_server.requests) == 2


def test_answers_expire_and_a_hold_answers_nothing(tmp_path):
    from ansible_collections.oxy.infra.plugins.plugin_utils._read_cache import LIFETIME, ReadCache

    now = [1000.0]
    cache = ReadCache(str(tmp_path), "scope", clock=lambda: now[0])
    key = cache.key("vpcs.list", (), {})
    cache.keep(key, {"vpcs": []}, cache.generation())
    now[0] += LIFETIME
    assert cache.answer(key, lookup=True) == {"vpcs": []}
    now[0] += 1
    assert cache.answer(key, lookup=True) is None  # too old
    cache.keep(key, {"vpcs": []}, cache.generation())
    async_job = cache.hold(30)  # an async module process may write for 30 s
    assert async_job
    cache.keep(key, {"vpcs": []}, cache.generation())
    assert cache.answer(key, lookup=True) is None
    now[0] += 31
    assert cache.answer(key, lookup=True) is None  # read while it may have been writing: never answered
    cache.keep(key, {"vpcs": [1]}, cache.generation())
    assert cache.answer(key, lookup=True) == {"vpcs": [1]}
    # A module process holds it while it runs; its end releases the hold and empties the cache.
    running = cache.hold(86400)
    other = cache.hold(86400)  # another at the same time (the free strategy)
    assert cache.answer(key, lookup=True) is None
    now[0] += 1
    cache.release(running)
    cache.keep(key, {"vpcs": [2]}, cache.generation())
    assert cache.answer(key, lookup=True) is None  # the other one still runs
    now[0] += 1
    cache.release(other)
    cache.keep(key, {"vpcs": [3]}, cache.generation())
    now[0] += 1
    assert cache.answer(key, lookup=True) == {"vpcs": [3]}


def test_a_module_process_has_no_read_cache(api_server, no_sleep):
    api = api_for(api_server)
    assert api.cache is None
    api_server.reply(200, {"vpcs": [], "links": {}})
    api_server.reply(200, {"vpcs": [], "links": {}})
    api.call("vpcs.list")
    api.call("vpcs.list")
    assert len(api_server.requests) == 2


def test_a_run_that_only_waits_reads_as_lookups_and_tags_emptied_are_a_write(api_server):
    """``name`` alone cannot write; ``tags: []`` (remove every tag) and ``spec: {}`` are set, so they can."""
    from types import SimpleNamespace

    from ansible_collections.oxy.infra.plugins.modules.app import AppManager
    from ansible_collections.oxy.infra.plugins.modules.droplet import DropletManager

    def manager(cls, argument_spec, **params):
        values = dict((name, option.get("default")) for name, option in argument_spec.items())
        values.update(params, wait=False)
        module = SimpleNamespace(argument_spec=argument_spec)
        do = SimpleNamespace(api=api_for(api_server), params=values, check_mode=False, module=module)
        return cls(do)

    droplet_options = ("name", "region", "size", "image", "vpc", "vpc_uuid", "monitoring", "ipv6", "backups")
    droplet_spec = dict((o, {"type": "str"}) for o in (*droplet_options, "backup_policy", "image_of"))
    droplet_spec.update(
        state={"default": "present"}, tags={"type": "list"}, ssh_keys={"type": "list"}, wait_timeout={"type": "int"}
    )
    droplet_spec.update(snapshot_keep={"type": "int"}, snapshot_before_resize={"type": "bool", "default": False})
    assert manager(DropletManager, droplet_spec, name="web").writes_nothing()
    assert manager(DropletManager, droplet_spec, name="web", snapshot_before_resize=True).writes_nothing()
    assert not manager(DropletManager, droplet_spec, name="web", snapshot_keep=3).writes_nothing()
    assert not manager(DropletManager, droplet_spec, name="web", tags=[]).writes_nothing()
    assert not manager(DropletManager, droplet_spec, name="web", state="absent").writes_nothing()
    app_spec = dict((o, {"type": "str"}) for o in ("name", "spec", "region", "vpc", "project", "alert_destinations"))
    app_spec.update(state={"default": "present"}, secret_envs={"default": {}}, wait_timeout={"type": "int"})
    assert manager(AppManager, app_spec, name="web").writes_nothing()
    assert manager(AppManager, app_spec, name="web", secret_envs={}).writes_nothing()
    assert not manager(AppManager, app_spec, name="web", spec={}).writes_nothing()


def test_a_write_inside_lookups_is_refused_before_it_is_sent(api_server):
    api = api_for(api_server)
    with api.lookups(), pytest.raises(RuntimeError, match=r"vpcs\.patch is a write"):
        api.call("vpcs.patch", "v1", {"description": "x"})
    assert api_server.requests == []
