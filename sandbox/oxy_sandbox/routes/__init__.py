"""HTTP routes, one module per DigitalOcean resource family (moto's ``responses``).

Routes parse the request (pydantic models in ``models``), call one backend method and render
the answer (envelopes, ``core.paginate``, ``view``). They never import each other.
"""

from __future__ import annotations

from . import (
    apps,
    basics,
    control,
    databases,
    domains,
    droplets,
    firewalls,
    images,
    monitoring,
    projects,
    registry,
    vpcs,
)

ROUTERS = [
    control.router,
    basics.router,
    vpcs.router,
    droplets.router,
    images.router,
    firewalls.router,
    databases.router,
    apps.router,
    projects.router,
    domains.router,
    registry.router,
    monitoring.router,
]
