"""The waiter, its predicates and the diff helper."""

from __future__ import annotations

import pytest
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, desired_from, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._waiter import (
    NoWaiter,
    Waiter,
    WaitFailed,
    WaitTimeout,
    database_online,
    deployment_done,
    droplet_active,
    waiter_for,
)


class Clock:
    def __init__(self):
        self.now = 0.0
        self.naps = []

    def sleep(self, seconds):
        self.naps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def test_waiter_polls_until_ready_with_growing_intervals():
    clock = Clock()
    states = iter([None, {"status": "creating"}, {"status": "creating"}, {"status": "online"}])
    waiter = Waiter(timeout=60, interval=1, max_interval=2, ratio=0.5, sleep=clock.sleep, clock=clock)
    assert waiter.until(lambda: next(states), database_online, "db") == {"status": "online"}
    assert clock.naps == [1, 1, 1.0]


def test_only_polls_go_past_the_read_cache():
    """The first look may come from the run's cache (a lookup), or is what the module just read; once not ready,
    every poll goes past it, and it is emptied after."""
    import contextlib

    clock = Clock()
    log = []

    @contextlib.contextmanager
    def polls():
        log.append("polls")
        yield
        log.append("emptied")

    @contextlib.contextmanager
    def first_look():
        log.append("lookup")
        yield

    def fetch(states):
        def look():
            state = next(states)
            log.append(state["status"])
            return state

        return look

    waiter = Waiter(timeout=60, sleep=clock.sleep, clock=clock, first_look=first_look, polls=polls)
    waiter.until(fetch(iter([{"status": "online"}])), database_online, "db")
    assert log == ["lookup", "online"] and clock.naps == []
    log.clear()
    waiter.until(
        fetch(iter([{"status": "creating"}, {"status": "creating"}, {"status": "online"}])), database_online, "db"
    )
    assert log == ["lookup", "creating", "polls", "creating", "online", "emptied"]
    assert clock.naps == [2.0, 2.0]
    log.clear()
    # What the module just read is the first look: nothing is fetched for it.
    assert waiter.until(fetch(iter([])), database_online, "db", current={"status": "online"}) == {"status": "online"}
    assert log == []


def test_the_pause_is_a_tenth_of_the_time_waited_between_two_and_ten_seconds():
    clock = Clock()
    waiter = Waiter(timeout=300, sleep=clock.sleep, clock=clock)
    with pytest.raises(WaitTimeout):
        waiter.until(lambda: {"status": "creating"}, database_online, "db")
    assert clock.naps[:10] == [2.0] * 10  # the first twenty seconds: every two seconds
    paced = zip(clock.naps[:-1], _elapsed(clock.naps))  # the last pause ends at the timeout
    assert all(abs(nap - max(2.0, min(10.0, t / 10))) < 1e-9 for nap, t in paced)
    assert max(clock.naps) == 10.0
    assert len(clock.naps) < 60  # five minutes of waiting, at most about six reads a minute once long


def _elapsed(naps):
    total, out = 0.0, []
    for nap in naps:
        out.append(total)
        total += nap
    return out


def test_waiter_times_out_on_its_monotonic_clock():
    clock = Clock()
    waiter = Waiter(timeout=5, interval=2, sleep=clock.sleep, clock=clock)
    with pytest.raises(WaitTimeout) as err:
        waiter.until(lambda: {"status": "creating"}, database_online, "cluster db-oxy to be online")
    assert "timed out after 5s waiting for cluster db-oxy to be online" in str(err.value)
    assert clock.now == 5


def test_no_waiter_looks_once():
    calls = []
    assert NoWaiter().until(lambda: calls.append(1) or {"status": "new"}, droplet_active, "d") == {"status": "new"}
    assert calls == [1]


def test_waiter_for_check_mode_and_wait_false():
    assert isinstance(waiter_for({"wait": True}, True, 10), NoWaiter)
    assert isinstance(waiter_for({"wait": False}, False, 10), NoWaiter)
    assert waiter_for({"wait": True, "wait_timeout": None}, False, 10).timeout == 10
    assert waiter_for({"wait": True, "wait_timeout": 3}, False, 10).timeout == 3


def test_droplet_active_needs_an_address():
    assert not droplet_active({"status": "active", "networks": {"v4": []}})
    assert not droplet_active({"status": "new", "networks": {"v4": [{"ip_address": "10.0.0.2"}]}})
    assert droplet_active({"status": "active", "networks": {"v4": [{"ip_address": "10.0.0.2"}]}})


def test_deployment_failure_names_the_failing_step():
    failed = {
        "id": "d1",
        "phase": "ERROR",
        "progress": {
            "steps": [
                {"name": "build", "status": "ERROR", "reason": {"message": "npm ERR! missing script"}},
                {"name": "deploy", "status": "PENDING"},
            ]
        },
    }
    with pytest.raises(WaitFailed) as err:
        deployment_done(failed)
    assert "deployment d1 ended ERROR: build: npm ERR! missing script" in str(err.value)
    assert deployment_done({"phase": "ACTIVE"}) and not deployment_done({"phase": "BUILDING"})


def test_change_tracks_before_and_after():
    change = Change({"size": "s-1", "tags": ["a"]})
    assert not change.changed
    change.update({"size": "s-2"})
    assert change.changed and change.changed_keys() == ["size"]
    assert change.diff() == {"before": {"size": "s-1", "tags": ["a"]}, "after": {"size": "s-2", "tags": ["a"]}}
    empty = Change(None)
    empty.set("name", "x")
    assert empty.diff() == {"before": {}, "after": {"name": "x"}}


def test_only_options_set_are_desired():
    assert desired_from({"a": 1, "b": None, "c": False}, ("a", "b", "c")) == {"a": 1, "c": False}
    assert normalize_set(["b", "a", "b"]) == ["a", "b"]
