"""Which sandboxes run on this machine now.

A sandbox with machines holds a shared ``flock`` on its own file (``<tmp>/oxy-sandbox-live/<instance>.lock``) for
as long as its process lives; the kernel drops the lock when the process ends, however it ends (a kill, a crash, a
dead dockerd's restart of nothing). Another sandbox's prune of what sandboxes with no machine left leave behind
(bounded disks, VPC networks, firewall chains) keeps those of every live one, also in the moments between a
sandbox's start and its first machine, when nothing on the engine says yet that it is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

LIVE_DIR = Path(tempfile.gettempdir()) / "oxy-sandbox-live"


def _path(instance: str) -> Path:
    return LIVE_DIR / f"{instance}.lock"


def hold(instance: str) -> int:
    """Mark ``instance`` live for this process's life (until ``release``); the descriptor that holds the lock."""
    LIVE_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = _path(instance)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
        # A prune may have found the file unlocked and removed it between the open and the lock: the lock would
        # then be on a file nobody can find, so take it again on the one at the path.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)


def release(fd: int | None) -> None:
    """This process no longer marks its sandbox live (it stops)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def live() -> set[str]:
    """The instances whose process holds its lock now; the files of those that ended are removed."""
    found = set()
    for path in sorted(LIVE_DIR.glob("*.lock")) if LIVE_DIR.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            found.add(path.stem)
        else:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    path.unlink()
        finally:
            os.close(fd)
    return found
