"""What DigitalOcean's API has, which part of it the sandbox serves, and what it answers for the rest.

A request for an operation DigitalOcean has and the sandbox does not serve is answered with 501
``not_implemented`` naming it, rather than a 404 a client would read as "your resource is gone"; a
method DigitalOcean does not have on a path it has gets 405 with ``Allow``. Paths DigitalOcean does
not have go to the routes, whose 404 is DigitalOcean's ``not_found``. The table of operations is
generated from the spec (``do_operations.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .do_operations import OPERATIONS
from .errors import APIError

_PARAM = re.compile(r"^\{[^}]*\}$")


def _segments(path: str) -> tuple[str, ...]:
    return tuple(path.strip("/").split("/"))


def _shape(template: str) -> tuple[str, ...]:
    """A path template with its parameters unnamed: ``/v2/droplets/{droplet_id}`` -> ``(v2, droplets, {})``."""
    return tuple("{}" if _PARAM.match(s) else s for s in _segments(template))


def _matches(shape: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    return len(shape) == len(segments) and all(s in ("{}", p) for s, p in zip(shape, segments, strict=True))


@dataclass(frozen=True)
class Operation:
    method: str
    template: str

    @property
    def shape(self) -> tuple[str, ...]:
        return _shape(self.template)


class Coverage:
    """DigitalOcean's operations (from its spec) against the sandbox's routes ``(method, template)``."""

    def __init__(self, routes: Iterable[tuple[str, str]], operations: Iterable[str] = OPERATIONS):
        self.operations = [Operation(*op.split(" ", 1)) for op in operations]
        self.served = {(method, _shape(template)) for method, template in routes if template.startswith("/v2/")}
        self.families = sorted({op.shape[1] for op in self.operations})
        self.modelled = sorted({shape[1] for _, shape in self.served})
        # Literal segments win over parameters, the earlier the better (/v2/apps/tiers over /v2/apps/{id}).
        self.operations.sort(key=lambda op: tuple(s == "{}" for s in op.shape))

    def implemented(self, op: Operation) -> bool:
        return (op.method, op.shape) in self.served

    def refusal(self, method: str, path: str) -> tuple[APIError, dict[str, str]] | None:
        """The error the sandbox answers instead of routing ``method path``, with its headers; None to route it."""
        segments = _segments(path)
        if len(segments) < 2 or segments[0] != "v2":
            return None
        family = segments[1]
        matching = [op for op in self.operations if _matches(op.shape, segments)]
        chosen = next((op for op in matching if op.method == method), None)
        if chosen is not None:
            if self.implemented(chosen):
                return None
            return not_implemented(f"{chosen.method} {chosen.template}", family, family in self.modelled), {}
        if any(m == method and _matches(shape, segments) for m, shape in self.served):
            return None  # the sandbox's own addition on a DigitalOcean path
        if matching:
            allowed = ", ".join(sorted({op.method for op in matching}))
            error = APIError(405, f"{method} is not allowed on {path}; DigitalOcean allows {allowed}.")
            return error, {"allow": allowed}
        if family in self.families and family not in self.modelled:
            return not_implemented(None, family, False), {}
        return None

    def describe(self) -> dict:
        """For ``GET /_sandbox/coverage``: what is served, per resource family."""
        families = {}
        for op in self.operations:
            row = families.setdefault(op.shape[1], {"implemented": [], "not_implemented": []})
            row["implemented" if self.implemented(op) else "not_implemented"].append(f"{op.method} {op.template}")
        return {
            "modelled": self.modelled,
            "not_modelled": [f for f in self.families if f not in self.modelled],
            "families": {name: families[name] for name in sorted(families)},
        }


def not_implemented(operation: str | None, family: str, modelled: bool) -> APIError:
    if modelled:
        message = (
            f"The sandbox does not implement {operation}: DigitalOcean's API has it, "
            f"the sandbox models /v2/{family} only in part."
        )
    else:
        which = f" ({operation})" if operation else ""
        message = (
            f"The sandbox does not implement /v2/{family}{which}: DigitalOcean's API has it, "
            "this local sandbox does not model it."
        )
    return APIError(501, message, "not_implemented")
