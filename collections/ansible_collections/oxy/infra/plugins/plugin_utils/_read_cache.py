# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's read cache of the DigitalOcean modules that run in the controller. Private to this collection.

A cache is a promise about time. This is the rule, and :meth:`ReadCache.answer` is the code that keeps it.

What it may answer, and to whom (``module_utils/_api.py`` says which kind each read is):

- **A lookup**: which id a name has, what another resource is called, what a catalog offers, the first
  look of a wait, what a module run that can only wait reads (``ResourceManager.writes_nothing``). Any
  task of the run may be answered with what any task read, while the answer is younger than
  :data:`LIFETIME` seconds.
- **A module's own state**, the state it compares with its definition (it decides a write, or that
  there is none): only the task that read it, on the same host, is answered with it, that is the later
  items of the task's loop, which run back to back. Every task reads its own state afresh, so a change
  made by someone else (the console, DigitalOcean itself, a second run) between two tasks is seen, and
  nothing is written, or left unwritten, on the strength of another task's answer. The ``_info``
  modules read this way too: a playbook may decide a write on what they answer.
- **A poll** (a wait that saw the resource not ready yet) is never answered.
- Nothing is answered to a task that retries (``until:`` or ``retries:``: each attempt waits for the
  world to change) or that turned the cache off (``oxy_infra_read_cache: false``), nor while a module
  process may be writing without the cache: while it runs, and, started with ``async``, until its time
  limit has passed. Nothing read before such a hold ended is answered after it.

What every read that is sent does: it refreshes the cache (a read afresh is the newest answer, also
for the tasks after it).

What empties it (starts a new generation): every write and every write that failed (it may have taken
effect); a wait that polled (what it waited for changed the world); a module that ran as a module
process (it may have written without the cache). An answer read before a write and stored after it
lands in a generation nobody reads any more.

Where it lives: the run's local temporary directory (removed when the run ends), one directory per
generation, each answer sealed with AES-GCM under a key that only the run's processes hold (made by the
strategy's process, which forks every worker), so a killed run leaves nothing readable behind. It is
scoped by API URL and token. Writes by other means than these modules (``uri``, another collection, the
console) are not seen: they are what the per-task rule above is for.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid

from ansible import constants as C

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:  # pragma: no cover - ansible-core depends on cryptography
    AESGCM = None

LIFETIME = 60  # seconds an answer may be given to another task
# Made by the process that imports this module first: the strategy, before it forks the workers
# that run the tasks, so every task of the run holds the same key and nothing else does.
_RUN_KEY = os.urandom(32)
_TASK = {}  # this worker's identity: Ansible forks one worker per task and host, which runs its loop


def task_run():
    """Who is reading: one task on one host (a worker process and its loop items), not its parent or siblings."""
    if _TASK.get("pid") != os.getpid():
        _TASK.update(pid=os.getpid(), token=uuid.uuid4().hex)
    return _TASK["token"]


class ReadCache:
    """The run's answers to reads, for one API endpoint and token (see the module's docstring for the rule).

    ``serves``: False for a task that retries or turned the cache off; what it reads still refreshes
    the cache, and its writes still empty it.
    """

    def __init__(self, directory, scope, serves=True, clock=time.time):
        self.directory = directory
        self.scope = hashlib.sha256(scope.encode()).hexdigest()
        self.serves = serves
        self.clock = clock
        self._aead = AESGCM(_RUN_KEY)

    def key(self, operation, args, kwargs):
        material = [self.scope, operation, list(args), sorted(kwargs.items())]
        return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()

    def generation(self):
        try:
            with open(os.path.join(self.directory, "generation")) as current:
                return current.read().strip() or "initial"
        except FileNotFoundError:
            return "initial"

    def answer(self, key, lookup=False):
        """The answer to the read ``key`` if the rule allows it here; None means: read it afresh."""
        if not self.serves:
            return None
        held_until = self._held_until()
        if self.clock() < held_until:
            return None
        try:
            with open(os.path.join(self.directory, self.generation(), key), "rb") as entry:
                sealed = entry.read()
            kept = json.loads(self._aead.decrypt(sealed[:12], sealed[12:], key.encode()))
        except Exception:  # noqa: BLE001 - a missing, partial or foreign entry is a miss
            return None
        if not 0 <= self.clock() - kept["read_at"] <= LIFETIME or kept["read_at"] < held_until:
            return None
        if not lookup and kept["reader"] != task_run():
            return None
        return kept["body"]

    def keep(self, key, body, generation):
        """Store what was just read (``generation``: the one current when the read was sent).

        A write elsewhere may drop that generation meanwhile: then the answer is simply not kept.
        """
        folder = os.path.join(self.directory, generation)
        kept = dict(body=body, read_at=self.clock(), reader=task_run())
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(kept).encode(), key.encode())
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            _write_atomically(os.path.join(folder, key), sealed)
        except OSError:
            pass

    def invalidate(self):
        """Start a new generation, and drop the entries of the one it replaces."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        replaced = self.generation()
        _write_atomically(os.path.join(self.directory, "generation"), uuid.uuid4().hex.encode())
        shutil.rmtree(os.path.join(self.directory, replaced), ignore_errors=True)

    def hold(self, seconds):
        """Answer nothing for ``seconds`` (something may write without the cache until then); the hold's name.

        Several holds may overlap (the free strategy, forks): each is a file of its own.
        """
        os.makedirs(os.path.join(self.directory, "holds"), mode=0o700, exist_ok=True)
        name = uuid.uuid4().hex
        _write_atomically(os.path.join(self.directory, "holds", name), str(self.clock() + seconds).encode())
        return name

    def release(self, name):
        """End the hold ``name`` now (what held it is done), and empty the cache: it may have written."""
        _write_atomically(os.path.join(self.directory, "holds", name), str(self.clock()).encode())
        self.invalidate()

    def _held_until(self):
        """When the last hold ends (in the past once all ended: nothing read before then is answered)."""
        latest = 0.0
        try:
            names = os.listdir(os.path.join(self.directory, "holds"))
        except FileNotFoundError:
            return latest
        for name in names:
            try:
                with open(os.path.join(self.directory, "holds", name)) as held:
                    latest = max(latest, float(held.read().strip() or 0))
            except (OSError, ValueError):
                continue  # a hold being written, or a temporary file
        return latest


def _write_atomically(path, data):
    temporary = "%s.%s" % (path, uuid.uuid4().hex)
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _cache_directory():
    return os.path.join(C.DEFAULT_LOCAL_TMP, "oxy-infra-reads")


def read_cache_for(params, directory=None, serves=True):
    """The run's read cache for the endpoint and token of ``params``; None where there can be none."""
    if AESGCM is None:
        return None
    scope = "%s\n%s" % (params["api_url"].rstrip("/"), params["token"])
    return ReadCache(directory or _cache_directory(), scope, serves=serves)


def the_runs_cache(directory=None):
    """The run's cache as a whole (every endpoint and token): for what it does to all of them."""
    return ReadCache(directory or _cache_directory(), "") if AESGCM is not None else None
