"""Bench only: an earlier commit of this tree, checked out beside it to run as a baseline; the images the
benches with machines need, and their sandbox."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Names the baselines' inventories give the stack's images that this tree's do not: Caddy's was caddy:2.8 until
# d6f759a (the role needs 2.9 since). The same image, under that name too.
BASELINE_NAMES = {"OXY_IMAGE_CADDY": "caddy:2.8"}


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


def machine_sandbox(stack: contextlib.ExitStack, state: Path, settings: dict | None = None):
    """A sandbox with machines, kept in ``state``, with ``settings`` and the stack's images in its registry; reset
    (its machines removed) and stopped when ``stack`` closes, without hiding why the bench stopped. Exits naming
    why when this machine cannot have machines."""
    from oxy_sandbox import process

    from tests.fixtures.sandbox import push_the_stack

    def reset_quietly() -> None:
        with contextlib.suppress(Exception):
            running.control("POST", "reset")

    running = process.start(state, reset=True)
    stack.callback(process.stop, running)
    stack.callback(reset_quietly)
    if not running.control("GET", "machines").get("enabled"):
        sys.exit(f"the sandbox has no machines: {running.control('GET', 'machines').get('reason')}")
    if settings:
        running.control("PUT", "config", settings)
    push_the_stack(state, also=BASELINE_NAMES)
    return running
