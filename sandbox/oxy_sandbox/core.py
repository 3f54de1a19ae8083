"""The sandbox itself: pagination, runtime settings, tokens, rate limits, faults and the backends it holds."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import random
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import APIError
from .store import Store


class Tokens:
    """Tokens minted with a set of scopes; any other token has full access (every scope)."""

    def __init__(self) -> None:
        self.minted: dict[str, frozenset[str]] = {}

    def mint(self, scopes: list[str]) -> str:
        token = "dop_v1_" + secrets.token_hex(32)
        self.minted[token] = frozenset(scopes)
        return token

    def allows(self, token: str, scope: str) -> bool:
        scopes = self.minted.get(token)
        return scopes is None or scope in scopes

    def clear(self) -> None:
        self.minted.clear()


# The scopes of the token behind the request being served (set by the app's middleware).
_request_token: contextvars.ContextVar[str] = contextvars.ContextVar("oxy_sandbox_token", default="")


class Faults(BaseModel):
    """Injected failures: a share of matching requests answered with an error status."""

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(0.0, ge=0.0, le=1.0)
    statuses: list[int] = Field(default_factory=lambda: [429, 500, 503])
    latency_ms: int = Field(0, ge=0)
    methods: list[str] = Field(default_factory=list, description="only these HTTP methods (empty: all)")
    path_regex: str = Field("", description="only paths matching this regex (empty: all)")
    # before: the request is refused untouched; after: the request takes effect and the
    # answer is still an error (the ambiguous failure clients must survive); any: either.
    phase: str = Field("any", pattern="^(before|after|any)$")
    retry_after: int | None = Field(None, ge=0, description="retry-after seconds sent with injected 429s")
    count: int | None = Field(None, ge=0, description="fault only the next N matching requests (rate is then 1)")
    seed: int | None = None
    regions_down: list[str] = Field(
        default_factory=list,
        description="whole regions taken away (an outage): calls about their resources and creates in them answer "
        "503, their machines and cluster servers are paused; lists still answer",
    )

    @field_validator("regions_down")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        from . import catalog

        unknown = [r for r in value if r not in dict(catalog.REGIONS)]
        if unknown:
            raise ValueError(f"{unknown} are not regions")
        return sorted(set(value))

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return not self.path_regex or re.search(self.path_regex, path) is not None


class Settings(BaseModel):
    """Runtime-tunable behaviour; ``PUT /_sandbox/config`` changes it on a running sandbox."""

    model_config = ConfigDict(extra="forbid")

    droplet_delay: float = 2.0
    action_delay: float = 1.0
    firewall_delay: float = 1.0
    database_delay: float = 5.0
    app_delay: float = 4.0
    burst_limit: int = 250
    hourly_limit: int = 5000
    deploy_failures: dict[str, str] = Field(
        default_factory=dict, description="app name -> error message; its next deployments end in ERROR"
    )
    domain_failures: dict[str, str] = Field(
        default_factory=dict,
        description="app domain -> error message; the next deployments of an app with that domain cannot "
        "configure it: the domain's phase is ERROR and the app's DOMAIN_FAILED alert fires",
    )
    machines: bool = Field(
        True, description="new droplets boot real machines (when the sandbox has a Docker engine and the image)"
    )
    droplet_disk_gib: float | None = Field(
        None,
        ge=0.0625,
        le=1024,
        description="new droplets' disks (their /var/lib/docker, where a droplet keeps its images and volumes) are "
        "a filesystem of this many GiB, which a droplet can fill (null: an ordinary Docker volume, unbounded); "
        "the disk alert policies read it (with machines)",
    )
    uptime_interval: float = Field(
        60.0,
        ge=0.05,
        description="seconds between probes of uptime checks and evaluations of alert policies (one probe "
        "stands for one of DigitalOcean's one-minute rounds: an alert's period of 2m is two probes)",
    )
    relay_password: str = Field(
        "sandbox-relay-password",
        min_length=1,
        description="the password of the mail relay stand-in's user oxy-relay (port 587, after STARTTLS)",
    )
    smtp_outbound_blocked: bool = Field(
        True,
        description="as on new DigitalOcean accounts: TCP to port 25 leaving a droplet for any address outside its "
        "VPC is dropped (false: an account whose block support lifted)",
    )


class RateLimiter:
    """DigitalOcean's per-token sliding windows: ``hourly_limit`` per hour, ``burst_limit`` per minute."""

    def __init__(self) -> None:
        self.calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def hit(self, token: str, settings: Settings, now: float) -> tuple[dict[str, str], int | None]:
        window = self.calls[token]
        while window and window[0] <= now - 3600:
            window.popleft()
        in_minute = sum(1 for t in reversed(window) if t > now - 60) if settings.burst_limit else 0
        retry_after = None
        if len(window) >= settings.hourly_limit:
            retry_after = 0
        elif settings.burst_limit and in_minute >= settings.burst_limit:
            oldest_in_minute = window[len(window) - in_minute]
            retry_after = max(1, int(oldest_in_minute + 60 - now + 0.999))
        else:
            window.append(now)
        reset = int((window[0] if window else now) + 3600)
        headers = {
            "ratelimit-limit": str(settings.hourly_limit),
            "ratelimit-remaining": str(max(0, settings.hourly_limit - len(window))),
            "ratelimit-reset": str(reset),
        }
        return headers, retry_after

    def peek(self, token: str, settings: Settings, now: float) -> dict[str, str]:
        """The rate-limit headers of ``token`` without counting a request (for answers given before it counts)."""
        window = self.calls.get(token) or collections.deque()
        used = sum(1 for t in window if t > now - 3600)
        return {
            "ratelimit-limit": str(settings.hourly_limit),
            "ratelimit-remaining": str(max(0, settings.hourly_limit - used)),
            "ratelimit-reset": str(int((window[0] if window else now) + 3600)),
        }


class RequestLog:
    def __init__(self, limit: int = 200_000):
        self.entries: collections.deque[dict] = collections.deque(maxlen=limit)
        self.seq = 0

    def add(self, **entry: Any) -> None:
        self.seq += 1
        entry["seq"] = self.seq
        self.entries.append(entry)

    def since(self, seq: int) -> list[dict]:
        return [e for e in self.entries if e["seq"] > seq]

    def summary(self, since: int = 0) -> dict:
        groups: dict[tuple[str, str], dict] = {}
        for e in self.since(since):
            key = (e["method"], e["route"])
            g = groups.setdefault(
                key, {"method": e["method"], "route": e["route"], "count": 0, "statuses": {}, "ms": 0.0}
            )
            g["count"] += 1
            g["statuses"][str(e["status"])] = g["statuses"].get(str(e["status"]), 0) + 1
            g["ms"] += e["ms"]
        rows = sorted(groups.values(), key=lambda g: (g["route"], g["method"]))
        writes = sum(g["count"] for g in rows if g["method"] not in ("GET", "HEAD"))
        return {"total": sum(g["count"] for g in rows), "writes": writes, "routes": rows, "last_seq": self.seq}


class Sandbox:
    """Everything one running sandbox holds: state, settings, faults, limiter, log and the backends."""

    def __init__(self, store: Store, settings: Settings | None = None):
        self.store = store
        self.settings = settings or Settings()
        self.faults = Faults()
        self.random = random.Random()
        self.limiter = RateLimiter()
        self.tokens = Tokens()
        self.log = RequestLog()
        self.started = time.time()
        # Backends with side effects outside the store; None when this machine can't have them.
        self.machines = None
        self.netfilter = None
        self.registry = None
        self.caching = None
        self.dns = None  # backends.nameserver.DnsServer
        self.relay = None  # backends.relay.Relay
        self.machines_note = "machines are off"
        self.caching_note = "machines are off"
        # One backend per resource family (moto's models): state, rules, lifecycle, side effects.
        from .backends.account import AccountBackend
        from .backends.apps import AppsBackend
        from .backends.databases import DatabasesBackend
        from .backends.domains import DomainsBackend
        from .backends.droplets import DropletsBackend
        from .backends.images import ImagesBackend
        from .backends.monitoring import MonitoringBackend
        from .backends.networking import NetworkingBackend
        from .backends.projects import ProjectsBackend
        from .backends.regions import RegionsBackend
        from .backends.relay import MailBackend

        self.account = AccountBackend(self)
        self.networking = NetworkingBackend(self)
        self.droplets = DropletsBackend(self)
        self.images = ImagesBackend(self)
        self.regions = RegionsBackend(self)
        self.databases = DatabasesBackend(self)
        self.apps = AppsBackend(self)
        self.projects = ProjectsBackend(self)
        self.domains = DomainsBackend(self)
        self.monitoring = MonitoringBackend(self)
        self.mail = MailBackend(self)  # the relay stand-in's messages; the DNS server and relay themselves: app.py

    @staticmethod
    @contextlib.contextmanager
    def serving(token: str) -> Iterator[None]:
        """While serving a request: its token, for what its answers may show."""
        remembered = _request_token.set(token)
        try:
            yield
        finally:
            _request_token.reset(remembered)

    def may(self, scope: str) -> bool:
        """Whether the token of the request being served holds ``scope``."""
        return self.tokens.allows(_request_token.get(), scope)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)
        self.regions.set_down(faults.regions_down)

    def reset(self) -> None:
        """An empty account: machines, networks and firewall rules, every resource, fault, rate-limit
        window, minted token and logged request go; settings stay."""
        self.databases.reset()  # cluster servers first: they hold on to the VPC networks too
        self.droplets.reset()
        with self.monitoring.paused():  # no probe of a check that is gone records anything
            self.store.reset()
        self.limiter.calls.clear()
        self.tokens.clear()
        self.set_faults(Faults())
        self.log.entries.clear()
        self.projects.default()


def paginate(request, key: str, items: list, render=None) -> dict:
    """A DigitalOcean list envelope: ``{key: [...], "links": {...}, "meta": {"total": N}}``.

    ``render`` turns a stored object into its API form; only the requested page is rendered.
    """
    try:
        page = max(1, int(request.query_params.get("page", 1)))
        per_page = min(200, max(1, int(request.query_params.get("per_page", 20))))
    except ValueError as exc:
        raise APIError(400, "page and per_page must be integers") from exc
    total = len(items)
    last = max(1, -(-total // per_page))
    rows = items[(page - 1) * per_page : page * per_page]
    body: dict[str, Any] = {key: [render(r) for r in rows] if render else rows}
    pages: dict[str, str] = {}
    if total > per_page:
        base = str(request.base_url).rstrip("/") + request.url.path
        params = {k: v for k, v in request.query_params.items() if k not in ("page", "per_page")}

        def link(n: int) -> str:
            return base + "?" + urlencode({**params, "page": n, "per_page": per_page})

        if page > 1:
            pages["first"] = link(1)
            pages["prev"] = link(page - 1)
        if page < last:
            pages["next"] = link(page + 1)
            pages["last"] = link(last)
    body["links"] = {"pages": pages} if pages else {}
    body["meta"] = {"total": total}
    return body
