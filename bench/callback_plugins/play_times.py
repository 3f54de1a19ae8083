"""Bench only (bench/site_bringup.py): where a run's wall time goes, play by play.

Enabled with ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins and ANSIBLE_CALLBACKS_ENABLED=...,play_times;
with OXY_BENCH_TIMES=file it writes there, as JSON, each play's name, hosts and seconds, and the seconds
of its tasks that wait for DigitalOcean ("Wait for ..." tasks on the digitalocean hosts).
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: play_times
    type: aggregate
    short_description: each play's wall time, for bench/site_bringup.py
    description: Writes each play's seconds, and its DigitalOcean waits', to the JSON file OXY_BENCH_TIMES.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "play_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._plays: list[dict] = []
        self._task: tuple[str, float] | None = None

    def _close_task(self) -> None:
        if self._task and self._plays:
            name, started = self._task
            if name.startswith("Wait for") and self._plays[-1]["hosts"] == "digitalocean":
                self._plays[-1]["waits"] += time.monotonic() - started
        self._task = None

    def _close_play(self) -> None:
        self._close_task()
        if self._plays and "seconds" not in self._plays[-1]:
            self._plays[-1]["seconds"] = time.monotonic() - self._plays[-1].pop("started")

    def v2_playbook_on_play_start(self, play):
        self._close_play()
        hosts = play.hosts if isinstance(play.hosts, str) else ",".join(play.hosts)
        self._plays.append({"name": play.get_name(), "hosts": hosts, "waits": 0.0, "started": time.monotonic()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_task()
        self._task = (task.get_name(), time.monotonic())

    def v2_playbook_on_stats(self, stats):
        self._close_play()
        path = os.environ.get("OXY_BENCH_TIMES")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump(self._plays, out)
