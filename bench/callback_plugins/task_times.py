"""Bench only (bench/site_whole_noop.py): where a run's wall time goes, task by task.

Enabled with ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins and ANSIBLE_CALLBACKS_ENABLED=...,task_times;
with OXY_BENCH_TASK_TIMES=file it writes there, as JSON, each task's play, name, the hosts it ran on
and its seconds (from its start to the next task's start: a task runs on all its hosts at once).
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: task_times
    type: aggregate
    short_description: each task's wall time, for bench/site_whole_noop.py
    description: Writes each task's seconds and the hosts it ran on to the JSON file OXY_BENCH_TASK_TIMES.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._tasks: list[dict] = []
        self._play = ""

    def _close(self) -> None:
        if self._tasks and "seconds" not in self._tasks[-1]:
            task = self._tasks[-1]
            task["seconds"] = time.monotonic() - task.pop("started")

    def _ran(self, result) -> None:
        if self._tasks and "seconds" not in self._tasks[-1]:
            hosts = self._tasks[-1]["hosts"]
            if result._host.get_name() not in hosts:
                hosts.append(result._host.get_name())

    def v2_playbook_on_play_start(self, play):
        self._close()
        self._play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._tasks.append({"play": self._play, "name": task.get_name(), "hosts": [], "started": time.monotonic()})

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_runner_on_ok(self, result, **kwargs):
        self._ran(result)

    v2_runner_on_failed = v2_runner_on_ok
    v2_runner_on_unreachable = v2_runner_on_ok

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("OXY_BENCH_TASK_TIMES")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump(self._tasks, out)
