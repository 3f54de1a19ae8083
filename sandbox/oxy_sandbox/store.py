"""Sandbox state: an in-memory map of immutable objects written through to SQLite.

Every object is a JSON document stored under (kind, id). Keys that start with an
underscore are private to the sandbox and never leave it. Lifecycles (a droplet
becoming active, a database coming online) are stored as timed patches in
``_pending`` and applied lazily when the object is read (moto's ``ManagedState``),
so they survive restarts and need no background task; ``tick`` applies every due
patch at once (tests move ``clock`` and tick).

What the store hands out is frozen (``Frozen``/``FrozenList``: a dict and a list that
refuse every change), so reading costs no copy and changing a read object raises
instead of silently changing, or silently not saving, state. The only ways to change
state are ``create``, ``editing`` (a mutable copy, saved when the block ends without an
error, under the store's lock), ``patch`` and ``delete``: a forgotten save cannot happen.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KINDS = (
    "vpcs",
    "droplets",
    "images",
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
    "uptime_checks",
    "uptime_alerts",
    "alert_policies",
    "notifications",
    "mail_messages",
)


def _refuse(self, *args, **kwargs):
    raise TypeError("stored objects are read-only: change them with store.editing() / store.patch()")


class Frozen(dict):
    """A stored object (or a part of one): a dict that refuses changes. ``thaw`` gives a mutable copy."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = clear = setdefault = _refuse

    def __copy__(self) -> dict:
        return dict(self)

    def __deepcopy__(self, memo) -> dict:
        return thaw(self)

    def __reduce__(self):
        return (dict, (thaw(self),))


class FrozenList(list):
    """A list inside a stored object: refuses changes."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __copy__(self) -> list:
        return list(self)

    def __deepcopy__(self, memo) -> list:
        return thaw(self)

    def __reduce__(self):
        return (list, (thaw(self),))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def freeze(value: Any) -> Any:
    """``value`` with every dict and list replaced by a read-only one (already frozen parts are shared)."""
    kind = type(value)
    if kind in _SCALARS or kind is Frozen or kind is FrozenList:
        return value
    if isinstance(value, dict):
        return Frozen({k: v if type(v) in _SCALARS else freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return FrozenList([v if type(v) in _SCALARS else freeze(v) for v in value])
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of ``value``."""
    if isinstance(value, dict):
        return {k: v if type(v) in _SCALARS else thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _SCALARS else thaw(v) for v in value]
    return value


class Missing(LookupError):
    """The object to change is not in the store (it was never there or is gone)."""


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
        self._data: dict[str, dict[str, Frozen]] = {kind: {} for kind in KINDS}
        for kind, oid, body in self._db.execute("SELECT kind, id, body FROM objects"):
            self._data.setdefault(kind, {})[oid] = freeze(json.loads(body))

    @property
    def lock(self) -> threading.RLock:
        """Held while a change spans several reads and writes (a backend's worker thread)."""
        return self._lock

    # -- writing: the only ways state changes -------------------------------------------
    def _save(self, kind: str, oid: str, obj: dict | None) -> Frozen | None:
        if obj is None:
            self._data[kind].pop(oid, None)
            self._db.execute("DELETE FROM objects WHERE kind=? AND id=?", (kind, oid))
        else:
            obj = freeze(obj)
            self._data[kind][oid] = obj
            self._db.execute(
                "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)", (kind, oid, json.dumps(obj))
            )
        self._db.commit()
        return obj

    def create(self, kind: str, oid: str | int, obj: dict) -> Frozen:
        """Store a new object; its frozen snapshot is returned. An id already taken is a bug, not a replace."""
        with self._lock:
            if str(oid) in self._data[kind]:
                raise KeyError(f"{kind} {oid} already exists")
            return self._save(kind, str(oid), obj)

    @contextmanager
    def editing(self, kind: str, oid: str | int) -> Iterator[dict]:
        """``with store.editing(kind, id) as obj:`` a mutable copy, saved when the block ends.

        The store's lock is held for the whole block; an exception in it leaves the object as it was.
        """
        with self._lock:
            current = self.get(kind, oid)
            if current is None:
                raise Missing(f"{kind} {oid}")
            obj = thaw(current)
            yield obj
            self._save(kind, str(oid), obj)

    def patch(self, kind: str, oid: str | int, **changes: Any) -> Frozen:
        """Set top-level fields of an object; its new snapshot is returned."""
        with self.editing(kind, oid) as obj:
            obj.update(changes)
        return self._data[kind][str(oid)]

    def delete(self, kind: str, oid: str | int) -> Frozen | None:
        with self._lock:
            obj = self._data[kind].get(str(oid))
            if obj is not None:
                self._save(kind, str(oid), None)
            return obj

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

    # -- reading: frozen snapshots, no copies -------------------------------------------
    def get(self, kind: str, oid: str | int) -> Frozen | None:
        with self._lock:
            obj = self._data[kind].get(str(oid))
            if obj is not None and "_pending" in obj:
                obj = self._advance(kind, str(oid), obj)
            return obj

    def all(self, kind: str) -> list[Frozen]:
        with self._lock:
            objects = self._data[kind]
            for oid, obj in list(objects.items()):
                if "_pending" in obj:
                    self._advance(kind, oid, obj)
            return list(objects.values())

    def find(self, kind: str, **match) -> Iterator[Frozen]:
        for obj in self.all(kind):
            if all(obj.get(k) == v for k, v in match.items()):
                yield obj

    # -- lifecycles ---------------------------------------------------------------------
    def schedule(self, obj: dict, delay: float, changes: dict) -> None:
        """Apply ``changes`` (shallow) to ``obj`` once ``delay`` seconds have passed.

        ``obj`` is a new object (before ``create``) or the one an ``editing`` block holds.
        Even with no delay the change shows only from the next read on, as with the real
        API, whose create answers always show the initial state (``new``, ``creating``).
        """
        obj.setdefault("_pending", []).append({"at": self.clock() + delay, "set": changes})

    def tick(self) -> None:
        """Apply every due lifecycle step now (reads do it anyway; tests tick after moving the clock)."""
        for kind in KINDS:
            self.all(kind)

    def _advance(self, kind: str, oid: str, obj: Frozen) -> Frozen:
        now = self.clock()
        pending = obj["_pending"]
        due = [p for p in pending if p["at"] <= now]
        if not due:
            return obj
        changed = dict(obj)
        for step in sorted(due, key=lambda p: p["at"]):
            changed.update(step["set"])  # frozen values: shared, never changed in place
        rest = [p for p in pending if p["at"] > now]
        if rest:
            changed["_pending"] = rest
        else:
            del changed["_pending"]
        return self._save(kind, oid, changed)


def public(obj: dict) -> dict:
    """``obj`` without the sandbox's private keys (a new top-level dict; nested values stay frozen)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}
