# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the DigitalOcean modules inside the controller. Private to this collection.

Every DigitalOcean module talks to a remote API from the controller's own host, so starting a
Python process per task (AnsiballZ: build a zip, write it, start an interpreter, import
``ansible.module_utils.basic`` and pydo again) is pure overhead. Each module therefore has an
action plugin of the same name (``plugins/action/<module>.py``, all alike: :data:`ACTION_PLUGIN`,
checked by the unit tests) whose class is :class:`InControllerAction`:

- the strategy loads an action plugin in its own process before it forks a worker for the task,
  and importing this file imports every DigitalOcean module, their client base and pydo: once per
  run, inherited by every worker;
- the worker runs the module's own ``main()`` with Ansible's own ``AnsibleModule``, in which only
  the way the parameters arrive and the way the result leaves are replaced (the shape of
  ansible.netcommon's direct execution of network modules): the parameters are those a module
  process would receive (the task's arguments through the controller-to-module JSON profile, plus
  the ``_ansible_*`` ones: check mode, diff, no_log, verbosity), so validation, ``no_log`` masking,
  warnings and deprecations are Ansible's; the module base is handed the run's read cache
  (``_read_cache.py``, which holds its rule);
- the module runs as a module process, exactly as any module, when the task does not run on the
  controller's host (``delegate_to`` another host, or a play whose connection is not local), with
  ``become`` or ``async``, when pydo cannot be imported by the controller's Python (the target's
  interpreter may still have it), or when the task sets ``oxy_infra_in_controller: false``.

ansible-core's private surface this relies on, in one place (tested with the pinned ansible-core,
2.19.14; ``meta/runtime.yml`` requires what is tested):

- ``AnsibleModule._load_params`` and ``AnsibleModule._record_module_result`` (2.19.1+), replaced in the
  subclass :func:`run_module` makes, as ansible.netcommon replaces them;
- ``ActionBase._update_module_args``, which adds the ``_ansible_*`` parameters a module process gets.

Warnings and deprecations are Ansible's controller-side ones: ``AnsibleModule.warn`` and ``deprecate``
show them through the controller's display as they happen, instead of returning them in the result;
the ``no_log`` values are masked in warnings first, as a module process masks its whole result (the
collection's modules deprecate nothing). The result
goes through the module-to-controller JSON profile, as a module process's does.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import pathlib

from ansible.errors import AnsibleError
from ansible.module_utils import basic
from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys
from ansible_collections.oxy.infra.plugins.module_utils import _api, _digitalocean
from ansible_collections.oxy.infra.plugins.plugin_utils._read_cache import read_cache_for, the_runs_cache

display = Display()

# Connections whose "remote" host is the controller itself (their transport).
LOCAL_CONNECTIONS = frozenset(["local"])
DISABLE_VARIABLE = "oxy_infra_in_controller"
CACHE_VARIABLE = "oxy_infra_read_cache"
ACTION_PLUGIN = '''\
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A DigitalOcean module of oxy.infra, run in the controller: see plugins/plugin_utils/_controller.py."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.plugin_utils._controller import InControllerAction


class ActionModule(InControllerAction):
    pass
'''
ACTIONS = pathlib.Path(__file__).resolve().parents[1] / "action"
# Every DigitalOcean module, imported with this file (in the strategy's process, before it forks).
MODULES = dict(
    (path.stem, importlib.import_module("ansible_collections.oxy.infra.plugins.modules.%s" % path.stem))
    for path in sorted(ACTIONS.glob("*.py"))
)


def as_a_module_receives(args):
    """The task's arguments as a module process would get them: through the controller-to-module JSON profile.

    YAML dates become ISO strings, tagged values plain ones, so a free-form option (an app spec) compares
    with what the API answers exactly as in a module process.
    """
    text = json.dumps(args, cls=get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE))
    return json.loads(text, cls=get_module_decoder("legacy", Direction.CONTROLLER_TO_MODULE))


@contextlib.contextmanager
def _environment(values):
    """The task's ``environment:`` for the duration of a run (modules read fallbacks such as the token from it)."""
    saved = dict(os.environ)
    os.environ.update(dict((str(k), str(v)) for k, v in values.items()))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_module(module, params, environment=None, cache=True):
    """Run ``module``'s ``main()`` (an imported module file) in this process; its result as a dict.

    ``params`` are what a module process receives (the options and the ``_ansible_*`` parameters);
    ``cache``: whether the run's read cache may answer this run's reads (its writes empty it anyway).
    """
    recorded = []

    class TaskModule(basic.AnsibleModule):
        """Ansible's AnsibleModule, receiving its parameters from the task and handing its result back."""

        def _load_params(self):
            self.params = copy.deepcopy(params)

        def _record_module_result(self, o):
            recorded.append(o)

        def warn(self, warning, *args, **kwargs):
            super().warn(remove_values(warning, self.no_log_values), *args, **kwargs)

        @staticmethod
        def read_cache(module_params):
            return read_cache_for(module_params, serves=cache)

    saved = _digitalocean.DigitalOceanModule.__dict__["ansible_module"]
    _digitalocean.DigitalOceanModule.ansible_module = TaskModule
    try:
        with _environment(environment or {}):
            module.main()
    except SystemExit:
        pass  # exit_json and fail_json leave the module this way
    finally:
        _digitalocean.DigitalOceanModule.ansible_module = saved
    if not recorded:
        raise RuntimeError("module %s returned without exit_json or fail_json" % params.get("_ansible_module_name"))
    text = json.dumps(recorded[-1], cls=get_module_encoder("legacy", Direction.MODULE_TO_CONTROLLER))
    result = json.loads(text, cls=get_module_decoder("legacy", Direction.MODULE_TO_CONTROLLER))
    remove_internal_keys(result)
    return result


class InControllerAction(ActionBase):
    """The action plugin of every DigitalOcean module: runs it in the controller, or as a module process."""

    _supports_check_mode = True
    _supports_async = True

    def in_controller(self, task_vars):
        """Why the module must run as a module process instead, or None when it can run here."""
        if not _api.HAS_PYDO:
            return "pydo cannot be imported by the controller's Python"
        if self._task.async_val:
            return "the task is async"
        if self._play_context.become:
            return "the task uses become"
        transport = self._connection.transport if self._connection else None
        if transport not in LOCAL_CONNECTIONS:
            return "the task runs on another host (connection %s)" % transport
        if not self._enabled(task_vars, DISABLE_VARIABLE):
            return "%s is false" % DISABLE_VARIABLE
        return None

    def _enabled(self, task_vars, variable):
        return boolean(self._templar.template((task_vars or {}).get(variable, True)), strict=False)

    def _task_environment(self):
        """The task's ``environment:``, templated and merged, parents first (as a module process gets it)."""
        merged = {}
        environments = self._task.environment or []
        for environment in environments if isinstance(environments, list) else [environments]:
            if environment:
                values = self._templar.template(environment)
                if not isinstance(values, dict):
                    raise AnsibleError("environment must be a dictionary, received %s (%s)" % (values, type(values)))
                merged.update(values)
        return merged

    def _retries(self):
        """Whether the task is retried (``until:``, or ``retries:`` alone, which retries until it succeeds)."""
        return bool(self._task.until) or bool(self._task.retries)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        name = self._task.resolved_action or self._task.action
        reason = self.in_controller(task_vars)
        if reason:
            display.vvv("%s: running a module process (%s)" % (name, reason), host=self._play_context.remote_addr)
            return self._module_process(name, task_vars, result)
        display.vvv("%s: running in the controller" % name, host=self._play_context.remote_addr)
        params = as_a_module_receives(self._task.args)
        self._update_module_args(name, params, task_vars)
        cache = self._enabled(task_vars, CACHE_VARIABLE) and not self._retries()
        result.update(run_module(MODULES[name.rpartition(".")[2]], params, self._task_environment(), cache))
        return result

    def _module_process(self, name, task_vars, result):
        """The module as any module runs: it may write without the run's read cache, which answers nothing
        while it runs (and, async, until its time limit), and is emptied after it."""
        wrap_async = self._task.async_val and not self._connection.has_native_async
        runs_cache = None if name.endswith("_info") else the_runs_cache()
        hold = runs_cache.hold(self._task.async_val or self._task.timeout or 86400) if runs_cache else None
        try:
            result.update(self._execute_module(module_name=name, task_vars=task_vars, wrap_async=wrap_async))
        finally:
            if hold and self._task.async_val:
                runs_cache.invalidate()  # the hold stays until the job's time limit
            elif hold:
                runs_cache.release(hold)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
