"""A sandbox is live while its process holds its lock, and no longer once that process is gone, however it ended:
another sandbox's prune keeps what a live one uses (oxy_sandbox.backends.liveness)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from oxy_sandbox.backends import liveness

HOLDER = """
import sys, time
from pathlib import Path
from oxy_sandbox.backends import liveness
liveness.LIVE_DIR = Path(sys.argv[2])
liveness.hold(sys.argv[1])
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def live_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(liveness, "LIVE_DIR", tmp_path / "live")
    return tmp_path / "live"


def hold_in_a_process(instance: str, live_dir) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, instance, str(live_dir)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_sandbox_is_live_while_its_process_runs_and_not_after_a_kill(live_dir):
    child = hold_in_a_process("a1b2c3d4e5", live_dir)
    try:
        assert liveness.live() == {"a1b2c3d4e5"}
        assert liveness.live() == {"a1b2c3d4e5"}, "a look does not take the lock away"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert liveness.live() == set()
    assert not (live_dir / "a1b2c3d4e5.lock").exists(), "the file of an ended sandbox is removed"


def test_this_process_sees_its_own_sandbox_live_and_two_holders_of_one_instance(live_dir):
    own = liveness.hold("0a0a0a0a0a")
    child = hold_in_a_process("0a0a0a0a0a", live_dir)  # a sandbox restarted on the same state, the old one still up
    try:
        assert liveness.live() == {"0a0a0a0a0a"}
        liveness.release(own)
        assert liveness.live() == {"0a0a0a0a0a"}, "the other holder keeps it live"
    finally:
        child.kill()
        child.wait(timeout=30)
    deadline = time.monotonic() + 10
    while liveness.live() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert liveness.live() == set()


def test_a_file_pruned_between_open_and_lock_is_taken_again(live_dir, monkeypatch):
    """hold() checks that its lock is on the file at the path: a prune that found it unlocked and removed it
    in between would otherwise leave this sandbox live on a file nobody finds."""
    real_flock = liveness.fcntl.flock
    removed = []

    def flock_after_a_prune(fd, op):
        if op == liveness.fcntl.LOCK_SH and not removed:
            removed.append(True)
            (live_dir / "b0b0b0b0b0.lock").unlink()
        return real_flock(fd, op)

    monkeypatch.setattr(liveness.fcntl, "flock", flock_after_a_prune)
    fd = liveness.hold("b0b0b0b0b0")
    monkeypatch.setattr(liveness.fcntl, "flock", real_flock)
    try:
        assert removed and liveness.live() == {"b0b0b0b0b0"}
    finally:
        liveness.release(fd)
