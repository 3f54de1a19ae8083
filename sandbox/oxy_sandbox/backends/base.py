"""What every resource backend shares: the sandbox it belongs to and lookups that answer 404."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import not_found

if TYPE_CHECKING:
    from ..store import Frozen, Store
    from .account import AccountBackend
    from .caching import CacheServers
    from .droplets import DropletsBackend
    from .images import ImagesBackend
    from .machines import Machines
    from .nameserver import DnsServer
    from .netfilter import Enforcer
    from .networking import NetworkingBackend
    from .projects import ProjectsBackend
    from .regions import RegionsBackend
    from .registry import Registry
    from .relay import Relay

ACCOUNT_UUID = "b6fr89dbf6d9156cace5f3c78dc9851d957381ef"
OWNER_ID = 258992


class Host(Protocol):
    """What backends reach through the sandbox they belong to (``core.Sandbox``). Core builds the
    backends, so they name its shape here rather than import it."""

    store: Store
    settings: Any  # core.Settings
    account: AccountBackend
    networking: NetworkingBackend
    projects: ProjectsBackend
    droplets: DropletsBackend
    images: ImagesBackend
    regions: RegionsBackend
    machines: Machines | None
    netfilter: Enforcer | None
    registry: Registry | None
    caching: CacheServers | None
    dns: DnsServer | None
    relay: Relay | None

    def may(self, scope: str) -> bool: ...


class Backend:
    """One resource family's state, rules, lifecycle and side effects (moto's ``models``).

    Backends reach each other through the sandbox (``self.sb.projects`` ...); objects change
    only through the store's mutation API (``create``, ``editing``, ``patch``, ``delete``).
    """

    def __init__(self, sb: Host):
        self.sb = sb

    @property
    def store(self):
        return self.sb.store

    @property
    def settings(self):
        return self.sb.settings

    def must(self, kind: str, oid: str | int) -> Frozen:
        obj = self.store.get(kind, oid)
        if obj is None:
            raise not_found()
        return obj
