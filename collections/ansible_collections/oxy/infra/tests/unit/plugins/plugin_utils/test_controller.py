"""When a DigitalOcean module runs in the controller, and Ansible's own AnsibleModule it runs with there."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible_collections.oxy.infra.plugins.module_utils import _api, _digitalocean
from ansible_collections.oxy.infra.plugins.plugin_utils import _controller

ACTIONS = Path(_controller.__file__).resolve().parents[1] / "action"


class Templar:
    def template(self, value):
        return value


def action(transport="local", become=False, async_val=0):
    task = SimpleNamespace(async_val=async_val)
    connection = SimpleNamespace(transport=transport)
    play_context = SimpleNamespace(become=become, remote_addr="localhost")
    return _controller.InControllerAction(task, connection, play_context, None, Templar())


def test_runs_in_the_controller_only_on_the_controllers_host():
    assert action().in_controller({}) is None
    assert action(transport="ssh").in_controller({}) == "the task runs on another host (connection ssh)"
    assert action(become=True).in_controller({}) == "the task uses become"
    assert action(async_val=30).in_controller({}) == "the task is async"
    assert action().in_controller({"oxy_infra_in_controller": "no"}) == "oxy_infra_in_controller is false"


def test_without_pydo_in_the_controller_the_module_process_is_used(monkeypatch):
    monkeypatch.setattr(_api, "HAS_PYDO", False)
    assert action().in_controller({}) == "pydo cannot be imported by the controller's Python"


def test_every_action_plugin_is_the_one_template_and_every_module_is_loaded_once():
    """The action plugins are alike (generated from _controller.ACTION_PLUGIN); the runner imported their modules."""
    for path in ACTIONS.glob("*.py"):
        assert path.read_text() == _controller.ACTION_PLUGIN, (
            f"{path.name} differs from _controller.ACTION_PLUGIN: write that text to it"
        )
    assert set(_controller.MODULES) == {p.stem for p in ACTIONS.glob("*.py")}


def params(**options):
    """What a module process receives: the options and the _ansible_* parameters."""
    return dict(options, _ansible_check_mode=False, _ansible_diff=False, _ansible_module_name="oxy.infra.vpc_info")


def run(**options):
    return _controller.run_module(_controller.MODULES["vpc_info"], params(**options))


def test_validation_is_ansibles_and_fails_before_any_request():
    unknown = run(token="tok-abc", colour="blue")
    assert unknown["failed"] and unknown["msg"].startswith("Unsupported parameters for (oxy.infra.vpc_info) module")
    typed = run(token="tok-abc", retries="many")
    assert typed["failed"] and "retries" in typed["msg"] and "int" in typed["msg"]
    assert typed["invocation"]["module_args"]["token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_the_environment_of_the_task_reaches_the_module_and_is_restored(monkeypatch):
    module = _controller.MODULES["vpc_info"]
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    seen = {}

    def run_info():
        seen["token"] = _controller.os.environ.get("DIGITALOCEAN_TOKEN")
        _digitalocean.DigitalOceanModule.ansible_module(argument_spec={}).exit_json(changed=False)

    monkeypatch.setattr(module, "main", run_info)
    result = _controller.run_module(module, params(), {"DIGITALOCEAN_TOKEN": "x"})
    assert result["changed"] is False and seen["token"] == "x"
    assert "DIGITALOCEAN_TOKEN" not in _controller.os.environ
    # The module's AnsibleModule is Ansible's own again once the run ended.
    assert _digitalocean.DigitalOceanModule.ansible_module is _digitalocean.AnsibleModule


def test_a_module_that_returns_without_exiting_is_an_error(monkeypatch):
    module = _controller.MODULES["vpc_info"]
    monkeypatch.setattr(module, "main", lambda: None)
    with pytest.raises(RuntimeError, match="returned without exit_json"):
        _controller.run_module(module, params())


def test_check_mode_unsupported_is_skipped_like_a_module(monkeypatch):
    module = _controller.MODULES["vpc_info"]

    def without_check_mode():
        _digitalocean.DigitalOceanModule.ansible_module(argument_spec={}, supports_check_mode=False)

    monkeypatch.setattr(module, "main", without_check_mode)
    result = _controller.run_module(module, dict(params(), _ansible_check_mode=True))
    assert result["skipped"] and "does not support check mode" in result["msg"]


def test_no_log_values_and_warnings_are_ansibles(monkeypatch, capsys):
    """Masking everywhere in the result, and in a warning, which the controller's display shows at once."""
    module = _controller.MODULES["vpc_info"]

    def warn_and_exit():
        spec = dict(token=dict(type="str", no_log=True), name=dict(type="str"))
        ansible_module = _digitalocean.DigitalOceanModule.ansible_module(argument_spec=spec)
        ansible_module.warn("the token s3cr3t-token is old")
        ansible_module.exit_json(changed=False, echoed="s3cr3t-token", nested={"list": ["a s3cr3t-token b"]})

    monkeypatch.setattr(module, "main", warn_and_exit)
    for _item in range(2):  # two items of a loop in one worker
        result = _controller.run_module(module, params(token="s3cr3t-token", name="n"))
        assert "s3cr3t-token" not in repr(result)
        assert result["invocation"]["module_args"]["token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert "warnings" not in result
    shown = capsys.readouterr().err
    assert "[WARNING]: the token ******** is old" in shown and "s3cr3t-token" not in shown
