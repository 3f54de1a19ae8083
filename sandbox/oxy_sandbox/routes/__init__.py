"""HTTP routes, one module per DigitalOcean resource family."""

from __future__ import annotations

from ..core import Sandbox
from . import apps, basics, control, databases, domains, droplets, firewalls, projects, registry, vpcs
from ._deps import ensure_default_project

ROUTERS = [
    control.router,
    basics.router,
    vpcs.router,
    droplets.router,
    firewalls.router,
    databases.router,
    apps.router,
    projects.router,
    domains.router,
    registry.router,
]


def seed(sb: Sandbox) -> None:
    """What every fresh account has: a default project."""
    ensure_default_project(sb)
