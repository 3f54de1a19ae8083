"""When a DigitalOcean module runs in the controller, and the stand-in for AnsibleModule it runs with."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.oxy.infra.plugins.module_utils import _digitalocean
from ansible_collections.oxy.infra.plugins.plugin_utils import _controller


class Templar:
    def template(self, value):
        return value


def action(transport="local", become=False, async_val=0):
    task = SimpleNamespace(async_val=async_val)
    connection = SimpleNamespace(transport=transport, _load_name="ansible.builtin.%s" % transport)
    play_context = SimpleNamespace(become=become, remote_addr="localhost")
    return _controller.action_for("vpc_info")(task, connection, play_context, None, Templar())


def test_runs_in_the_controller_only_on_the_controllers_host():
    assert action().in_controller({}) is None
    assert action(transport="ssh").in_controller({}) == "the task runs on another host (connection ansible.builtin.ssh)"
    assert action(become=True).in_controller({}) == "the task uses become"
    assert action(async_val=30).in_controller({}) == "the task is async"
    assert action().in_controller({"oxy_infra_in_controller": "no"}) == "oxy_infra_in_controller is false"


def test_without_pydo_in_the_controller_the_module_process_is_used(monkeypatch):
    monkeypatch.setattr(_digitalocean, "HAS_PYDO", False)
    assert action().in_controller({}) == "pydo cannot be imported by the controller's Python"


def run(**args):
    from ansible_collections.oxy.infra.plugins.modules import vpc_info

    return _controller.run_module(vpc_info, _controller.Invocation("oxy.infra.vpc_info", args), {})


def test_validation_is_ansibles_and_fails_before_any_request():
    unknown = run(token="tok-abc", colour="blue")
    assert unknown["failed"] and unknown["msg"].startswith("Unsupported parameters for (oxy.infra.vpc_info) module")
    typed = run(token="tok-abc", retries="many")
    assert typed["failed"] and "retries" in typed["msg"] and "int" in typed["msg"]
    assert typed["invocation"]["module_args"]["token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_the_environment_of_the_task_reaches_the_module_and_is_restored(monkeypatch):
    from ansible_collections.oxy.infra.plugins.modules import vpc_info

    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    seen = {}

    def run_info(*args, **kwargs):
        seen["token"] = _controller.os.environ.get("DIGITALOCEAN_TOKEN")
        raise _controller.ModuleExit({"changed": False})

    monkeypatch.setattr(vpc_info, "main", run_info)
    invocation = _controller.Invocation("oxy.infra.vpc_info", {})
    result = _controller.run_module(vpc_info, invocation, {"DIGITALOCEAN_TOKEN": "x"})
    assert result == {"changed": False} and seen["token"] == "x"
    assert "DIGITALOCEAN_TOKEN" not in _controller.os.environ
    # The module's AnsibleModule is back once the run ended.
    assert _digitalocean.DigitalOceanModule.ansible_module is _digitalocean.AnsibleModule


def test_a_module_that_returns_without_exiting_is_an_error(monkeypatch):
    from ansible_collections.oxy.infra.plugins.modules import vpc_info

    monkeypatch.setattr(vpc_info, "main", lambda: None)
    with pytest.raises(RuntimeError, match="returned without exit_json"):
        _controller.run_module(vpc_info, _controller.Invocation("oxy.infra.vpc_info", {}), {})


def test_check_mode_unsupported_is_skipped_like_a_module():
    with pytest.raises(_controller.ModuleExit) as done:
        _controller.ControllerModule(_controller.Invocation("x", {}, check_mode=True), {}, supports_check_mode=False)
    assert done.value.result["skipped"] and "does not support check mode" in done.value.result["msg"]


def test_no_log_values_are_masked_everywhere_in_the_result():
    spec = dict(token=dict(type="str", no_log=True), name=dict(type="str"))
    module = _controller.ControllerModule(_controller.Invocation("x", dict(token="s3cr3t-token", name="n")), spec)
    module.warn("the token s3cr3t-token is old")
    with pytest.raises(_controller.ModuleExit) as done:
        module.exit_json(changed=False, echoed="s3cr3t-token", nested={"list": ["a s3cr3t-token b"]})
    text = repr(done.value.result)
    assert "s3cr3t-token" not in text
    assert done.value.result["invocation"]["module_args"]["token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert done.value.result["warnings"] == ["the token ******** is old"]
