"""Bench only: an earlier commit of this tree, checked out beside it to run as a baseline; and the images the
benches with machines need."""

from __future__ import annotations

import contextlib
import os
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


def require_machine_images() -> None:
    """Exit naming what is missing unless the stack's and the sandbox's machine images are built and exported."""
    from tests.fixtures.sandbox import STACK_IMAGES

    missing = [
        name
        for name in (*STACK_IMAGES, "OXY_SANDBOX_DROPLET_IMAGE", "OXY_SANDBOX_VALKEY_IMAGE")
        if not os.environ.get(name)
    ]
    if missing:
        sys.exit(
            f'missing {", ".join(missing)}: run `eval "$(tests/images/build)"` and export '
            "OXY_SANDBOX_DROPLET_IMAGE=$OXY_IMAGE_DROPLET OXY_SANDBOX_VALKEY_IMAGE=$OXY_IMAGE_VALKEY first"
        )
