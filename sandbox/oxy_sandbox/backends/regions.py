"""Region outages: the fault ``{"regions_down": ["ams3"]}`` takes whole regions away, to rehearse a failover.

While a region is down:
- a call about one of its resources (a droplet, its actions and sub-resources, a database cluster and
  everything under it, a VPC, an app whose region is served from it) is answered ``503 service_unavailable``
  with DigitalOcean's error body, as its API answers a region it cannot reach; so is a create in it (a
  droplet, a cluster, a VPC, an app, an image transfer to it) and an app's move to it; an app's move out of
  it is taken (App Platform's control plane is global: the app is redeployed in its new region);
- lists still answer, with the region's resources in them as they were (DigitalOcean's control plane is
  global: what is gone is the region's data centre, not the record of what was there);
- its machines (droplets' containers) and its clusters' servers are paused: they stop answering and keep
  their disks; clearing the fault (or a fault without the region) unpauses them.
"""

from __future__ import annotations

import logging
import re

from .. import catalog
from ..errors import APIError
from .base import Backend

log = logging.getLogger("oxy_sandbox.regions")

_RESOURCE = re.compile(r"^/v2/(droplets|databases|vpcs|apps)/([^/]+)")


def outage(region: str) -> APIError:
    return APIError(503, f"Region {region} is currently unavailable. Please try again later.")


class RegionsBackend(Backend):
    def __init__(self, sb):
        super().__init__(sb)
        self.down: set[str] = set()

    def refuse(self, region: str | None) -> None:
        """Refuse work in ``region`` while it is down (a datacenter slug, or an App Platform region)."""
        if not region or not self.down:
            return
        served = catalog.APP_REGIONS[region][2] if region in catalog.APP_REGIONS else [region]
        gone = [r for r in served if r in self.down]
        if gone and len(gone) == len(served):
            raise outage(gone[0])

    def region_of(self, path: str) -> str | None:
        """The region of the resource a request path is about (None: not a regional resource, or a list)."""
        match = _RESOURCE.match(path)
        if not match:
            return None
        kind, ref = match.groups()
        if kind == "droplets":
            if not ref.isdigit():
                return None  # actions by tag, backups policies: account-wide
            droplet = self.store.get("droplets", ref)
            return droplet["region"]["slug"] if droplet else None
        if kind == "databases":
            db = self.store.get("databases", ref)
            return db["region"] if db else None
        if kind == "vpcs":
            vpc = self.store.get("vpcs", ref)
            return vpc["region"] if vpc else None
        app = self.store.get("apps", ref)
        return app["spec"]["region"] if app else None

    def refusal(self, path: str, method: str = "GET") -> APIError | None:
        """The answer to a request about a resource of a region that is down (else None).

        An app's new spec (``PUT /v2/apps/{id}``) goes to the backend, which refuses it while the spec's region
        is down: App Platform's control plane is global, so an app is moved out of a region that is down (its
        deployment runs in the new region), and any other edit of it is refused there."""
        if not self.down:
            return None
        if method.upper() == "PUT" and re.match(r"^/v2/apps/[^/]+/?$", path):
            return None
        try:
            self.refuse(self.region_of(path))
        except APIError as exc:
            return exc
        return None

    # -- the fault ----------------------------------------------------------------------
    def set_down(self, regions: list[str]) -> None:
        """Take ``regions`` away (and bring back the ones no longer listed): pause or unpause their
        machines and cluster servers."""
        before, self.down = self.down, set(regions)
        going, coming = self.down - before, before - self.down
        if going or coming:
            self._power(going, pause=True)
            self._power(coming, pause=False)

    def _power(self, regions: set[str], pause: bool) -> None:
        if not regions:
            return
        machines, caching = self.sb.machines, self.sb.caching
        if machines is not None:
            for droplet in self.store.all("droplets"):
                if droplet.get("_machine") and droplet["region"]["slug"] in regions:
                    machines.submit(droplet["id"], machines.pause, droplet["id"], pause)
        if caching is not None:
            for db in self.store.all("databases"):
                if db.get("_server") and db["region"] in regions:
                    caching.submit(db["id"], self._pause_server, db["id"], pause)

    def _pause_server(self, cluster_id: str, pause: bool) -> None:
        container = self.sb.caching._container(cluster_id)
        if container is None:
            return
        try:
            container.reload()
            if pause and container.status == "running":
                container.pause()
            elif not pause and container.status == "paused":
                container.unpause()
        except Exception:  # a server gone meanwhile: nothing to pause; anything else is worth a line in the log
            log.exception("could not %s the server of cluster %s", "pause" if pause else "unpause", cluster_id)
