"""The one failure path of the client base: refused deletes, API errors and failed waits end in fail_json."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import DeleteRefused, ResourceManager
from ansible_collections.oxy.infra.plugins.module_utils._waiter import Waiter, WaitFailed, WaitTimeout


class Clock:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now


class RecordingAPI:
    """Stands in for DigitalOceanAPI where a test only needs to see which calls were made."""

    def __init__(self):
        self.calls = []

    def call(self, operation, *args, **kwargs):
        self.calls.append((operation, args))
        return None


class Thing(ResourceManager):
    result_key = "thing"
    delete_operation = "things.delete"
    kind = "thing"


def manager(check_mode=False, **params):
    params = dict(dict(name="web", allow_delete=False, protected_names=[], protected_tag="protected"), **params)
    do = SimpleNamespace(api=RecordingAPI(), params=params, check_mode=check_mode)
    return Thing(do)


WEB = {"id": 7, "name": "web", "tags": ["oxy"]}


# -- guarded deletes ---------------------------------------------------------------------------------------
def test_delete_without_confirmation_is_refused_naming_what_and_how():
    thing = manager()
    with pytest.raises(DeleteRefused) as err:
        thing.delete(WEB, {"name": "web"})
    assert "thing 'web' (id 7; tags oxy)" in err.value.message
    assert "allow_delete=true" in err.value.message
    assert thing.api.calls == []


def test_check_mode_refuses_too():
    thing = manager(check_mode=True)
    with pytest.raises(DeleteRefused):
        thing.delete(WEB, {"name": "web"})


def test_already_absent_still_needs_the_confirmation():
    with pytest.raises(DeleteRefused) as err:
        manager().delete(None, None)
    assert "none exists now" in err.value.message and "mistyped" in err.value.message
    confirmed = manager(allow_delete=True)
    assert confirmed.delete(None, None) == {"changed": False, "thing": {}, "diff": {"before": {}, "after": {}}}
    assert confirmed.api.calls == []


def test_confirmed_delete_calls_the_api_once():
    thing = manager(allow_delete=True)
    result = thing.delete(WEB, {"name": "web"})
    assert result["changed"] is True and result["diff"] == {"before": {"name": "web"}, "after": {}}
    assert thing.api.calls == [("things.delete", (7,))]
    planned = manager(allow_delete=True, check_mode=True)
    assert planned.delete(WEB, {"name": "web"})["changed"] is True and planned.api.calls == []


def test_protected_tag_refuses_even_when_confirmed():
    thing = manager(allow_delete=True)
    with pytest.raises(DeleteRefused) as err:
        thing.delete(dict(WEB, tags=["oxy", "protected"]), {})
    assert "protected tag 'protected'" in err.value.message and thing.api.calls == []
    other = manager(allow_delete=True, protected_tag="keep")
    with pytest.raises(DeleteRefused):
        other.delete(dict(WEB, tags=["keep"]), {})
    untagged = manager(allow_delete=True, protected_tag="")
    assert untagged.delete(dict(WEB, tags=["protected"]), {})["changed"] is True


def test_protected_names_refuse_even_when_confirmed():
    thing = manager(allow_delete=True, protected_names=["api", "web"])
    with pytest.raises(DeleteRefused) as err:
        thing.delete(WEB, {})
    assert "protected_names" in err.value.message and thing.api.calls == []


def test_modules_without_the_guard_delete_as_before():
    do = SimpleNamespace(api=RecordingAPI(), params={"name": "web"}, check_mode=False)
    assert Thing(do).delete(WEB, {})["changed"] is True


# -- one path to fail_json -----------------------------------------------------------------------------------
def run_module(api_server, capsys, manager_class, **args):
    args = dict(dict(token="dop_v1_test", api_url=api_server.url), **args)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        DigitalOceanModule(dict(name=dict(type="str")), wait=True, guard_delete=True).run(manager_class)
    return exited.value.code, json.loads(capsys.readouterr().out)


def raising(exc):
    class Raises(ResourceManager):
        def run(self):
            raise exc

    return Raises


def test_wait_timeout_fails_the_module_with_partial_results(api_server, capsys):
    clock = Clock()
    waiter = Waiter(timeout=3, sleep=clock.sleep, clock=clock)

    class Waits(ResourceManager):
        def run(self):
            waiter.until(
                lambda: {"id": 5, "status": "in-progress"},
                lambda a: a["status"] == "completed",
                "resize action 5",
                results=lambda last: dict(action=last, droplet={"id": 1}),
            )

    code, out = run_module(api_server, capsys, Waits)
    assert code == 1 and out["failed"] is True
    assert out["msg"] == "timed out after 3s waiting for resize action 5"
    assert out["action"] == {"id": 5, "status": "in-progress"} and out["droplet"] == {"id": 1}


def test_failed_wait_carries_the_last_state():
    def ready(resource):
        raise WaitFailed("firewall fw failed to apply")

    with pytest.raises(WaitFailed) as err:
        Waiter(timeout=5).until(lambda: {"status": "failed"}, ready, "fw", results=lambda last: {"firewall": last})
    assert err.value.results == {"firewall": {"status": "failed"}}


def test_wait_failed_goes_through_run(api_server, capsys):
    code, out = run_module(api_server, capsys, raising(WaitFailed("deployment d1 ended ERROR", {"app_id": "a1"})))
    assert (code, out["msg"], out["app_id"]) == (1, "deployment d1 ended ERROR", "a1")


def test_api_error_keeps_status_and_partial_results(api_server, capsys):
    error = DigitalOceanError("firewalls.create failed (HTTP 400): no", status=400, error_id="bad_request")
    error.results["firewall"] = {"name": "fw"}
    code, out = run_module(api_server, capsys, raising(error))
    assert (out["status"], out["error_id"], out["firewall"]) == (400, "bad_request", {"name": "fw"})
    assert code == 1


def test_refused_delete_is_a_plain_failure(api_server, capsys):
    code, out = run_module(api_server, capsys, raising(DeleteRefused("refusing to delete thing 'web'")))
    assert code == 1 and out["refused"] is True and out["msg"] == "refusing to delete thing 'web'"


def test_delete_options_come_with_the_guard(api_server, capsys):
    class Echo(ResourceManager):
        def run(self):
            return dict(changed=False, params=dict((k, self.params[k]) for k in ("allow_delete", "protected_names")))

    code, out = run_module(api_server, capsys, Echo)
    assert code == 0 and out["params"] == {"allow_delete": False, "protected_names": []}


def test_timeout_is_a_wait_error():
    assert issubclass(WaitTimeout, Exception) and WaitTimeout("x", {"a": 1}).results == {"a": 1}
