"""Bench only: an earlier commit of this tree, checked out beside it to run as a baseline."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def worktree(revision: str, path: Path) -> Iterator[Path]:
    """``revision`` checked out at ``path`` (a git worktree), removed afterwards."""
    made = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        sys.exit(f"cannot check out the baseline {revision} (needs a clone with history):\n{made.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)
