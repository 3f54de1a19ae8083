"""Bench only (bench/site_noop.py): the action plugin of one oxy.infra module in the "floor" copy of the collection.

With OXY_BENCH_RECORD=file it runs the module for real (in the controller, as the collection does) and
appends the result under the task's key (its path and arguments). With OXY_BENCH_REPLAY=file it runs
``ansible.builtin.ping`` as a module process instead, and answers the recorded result, so every later
task sees what it would have seen: the same task list with a ping in place of each module run.
"""

from __future__ import annotations

import hashlib
import json
import os

from ansible.errors import AnsibleError
from ansible_collections.oxy.infra.plugins.plugin_utils._controller import InControllerAction


def task_key(task) -> str:
    return hashlib.sha256(json.dumps([task.get_path(), task.args], sort_keys=True, default=str).encode()).hexdigest()


def floor_for(name: str):
    """The floor's action plugin of ``oxy.infra.<name>`` (every module's is alike; the name says which file)."""
    del name

    class ActionModule(InControllerAction):
        def run(self, tmp=None, task_vars=None):
            replay = os.environ.get("OXY_BENCH_REPLAY")
            if replay:
                self._execute_module(module_name="ansible.builtin.ping", module_args={}, task_vars=task_vars)
                self._remove_tmp_path(self._connection._shell.tmpdir)
                with open(replay) as recorded:
                    results = dict(json.loads(line) for line in recorded)
                key = task_key(self._task)
                if key not in results:
                    raise AnsibleError(f"no recorded result for {self._task.get_name()} ({key})")
                return results[key]
            result = super().run(tmp, task_vars)
            record = os.environ.get("OXY_BENCH_RECORD")
            if record:
                with open(record, "a") as out:
                    out.write(json.dumps([task_key(self._task), result]) + "\n")
            return result

    return ActionModule
