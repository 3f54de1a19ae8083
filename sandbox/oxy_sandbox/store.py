"""Sandbox state: an in-memory map of objects written through to SQLite.

Every object is a JSON document stored under (kind, id). Keys that start with an
underscore are private to the sandbox and never leave it. Lifecycles (a droplet
becoming active, a database coming online) are stored as timed patches in
``_pending`` and applied lazily when the object is read, so they survive restarts
and need no background task.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

KINDS = (
    "vpcs",
    "droplets",
    "actions",
    "firewalls",
    "databases",
    "apps",
    "deployments",
    "projects",
    "domains",
    "records",
    "ssh_keys",
    "tags",
    "registries",
)


class Store:
    def __init__(self, path: str | Path | None, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS objects (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id))")
        self._db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)")
        self._db.commit()
        self._data: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
        for kind, oid, body in self._db.execute("SELECT kind, id, body FROM objects"):
            self._data.setdefault(kind, {})[oid] = json.loads(body)

    @property
    def lock(self) -> threading.RLock:
        """Held while a change spans several reads and writes (a backend's worker thread)."""
        return self._lock

    # -- raw access ---------------------------------------------------------
    def _write(self, kind: str, oid: str, obj: dict | None) -> None:
        if obj is None:
            self._db.execute("DELETE FROM objects WHERE kind=? AND id=?", (kind, oid))
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)", (kind, oid, json.dumps(obj))
            )
        self._db.commit()

    def put(self, kind: str, oid: str | int, obj: dict) -> dict:
        with self._lock:
            self._data[kind][str(oid)] = obj
            self._write(kind, str(oid), obj)
            return obj

    def get(self, kind: str, oid: str | int) -> dict | None:
        with self._lock:
            obj = self._data[kind].get(str(oid))
            if obj is not None:
                self._advance(kind, str(oid), obj)
            return obj

    def delete(self, kind: str, oid: str | int) -> dict | None:
        with self._lock:
            obj = self._data[kind].pop(str(oid), None)
            if obj is not None:
                self._write(kind, str(oid), None)
            return obj

    def all(self, kind: str) -> list[dict]:
        with self._lock:
            for oid, obj in list(self._data[kind].items()):
                self._advance(kind, oid, obj)
            return list(self._data[kind].values())

    def find(self, kind: str, **match) -> Iterator[dict]:
        for obj in self.all(kind):
            if all(obj.get(k) == v for k, v in match.items()):
                yield obj

    def next_id(self, name: str, start: int) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
            value = (row[0] + 1) if row else start
            self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))
            self._db.commit()
            return value

    def reset(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM objects")
            self._db.execute("DELETE FROM counters")
            self._db.commit()
            self._data = {kind: {} for kind in KINDS}

    # -- lifecycles ---------------------------------------------------------
    def schedule(self, obj: dict, delay: float, changes: dict) -> None:
        """Apply ``changes`` (shallow) to ``obj`` once ``delay`` seconds have passed.

        Even with no delay the change shows only from the next read on, as with the real
        API, whose create answers always show the initial state (``new``, ``creating``).
        """
        obj.setdefault("_pending", []).append({"at": self.clock() + delay, "set": changes})

    def _advance(self, kind: str, oid: str, obj: dict) -> None:
        pending = obj.get("_pending")
        if not pending:
            return
        now = self.clock()
        due = [p for p in pending if p["at"] <= now]
        if not due:
            return
        for step in sorted(due, key=lambda p: p["at"]):
            obj.update(copy.deepcopy(step["set"]))
        obj["_pending"] = [p for p in pending if p["at"] > now]
        if not obj["_pending"]:
            del obj["_pending"]
        self._write(kind, oid, obj)


def public(obj: dict) -> dict:
    """A deep copy of ``obj`` without the sandbox's private keys."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
