"""Images of the account: droplet snapshots and backups, their regions, and the disks behind them.

A snapshot (the droplet action ``snapshot``) or a backup (a droplet with backups on, when the sandbox takes
one: ``POST /_sandbox/droplets/{id}/backup``) is an image the account owns, listed by ``/v2/images``
(``private=true``), ``/v2/snapshots`` (snapshots only) and the droplet's ``snapshots``/``backups``. It can
be used only in its ``regions`` until the image action ``transfer`` copies it to another one. With machines,
an image is the machine's disk: its container committed to a Docker image and its disk volume copied
(``machines.capture``); a droplet created from the image boots that disk, and deleting the image deletes
both copies. Without machines it is a record.

An image becomes visible when its action completes (``_ready``), as DigitalOcean lists a snapshot only once
it is taken. A droplet's backups go with the droplet; its snapshots stay.
"""

from __future__ import annotations

import time

from .. import catalog
from ..errors import APIError, unprocessable
from ..store import Frozen, public
from ..util import now_iso
from .base import Backend
from .networking import check_region

# How many backups a policy keeps: daily ones seven days, weekly ones four weeks.
RETENTION = {"daily": (7, 7), "weekly": (4, 28)}
WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
HOURS = [0, 4, 8, 12, 16, 20]


def image_view(image: Frozen) -> dict:
    """An image as ``/v2/images`` shows it."""
    return public(image)


def droplet_snapshot_view(image: Frozen) -> dict:
    """An image as a droplet's ``snapshots`` and ``backups`` show it."""
    keys = ("id", "name", "distribution", "slug", "public", "regions", "created_at", "min_disk_size")
    return {**{k: image[k] for k in keys}, "size_gigabytes": image["size_gigabytes"], "type": image["type"]}


def snapshot_view(image: Frozen) -> dict:
    """A droplet snapshot as ``/v2/snapshots`` shows it (ids are strings there)."""
    return {
        "id": str(image["id"]),
        "name": image["name"],
        "created_at": image["created_at"],
        "regions": list(image["regions"]),
        "min_disk_size": image["min_disk_size"],
        "size_gigabytes": image["size_gigabytes"],
        "resource_id": str(image["_droplet_id"]),
        "resource_type": "droplet",
        "tags": list(image["tags"]),
    }


class ImagesBackend(Backend):
    # -- reading ------------------------------------------------------------------------
    def _own(self) -> list[Frozen]:
        return sorted((i for i in self.store.all("images") if i.get("_ready")), key=lambda i: i["id"])

    def list(self, kind: str | None = None, private: bool = False, tag_name: str | None = None) -> list[dict]:
        """``GET /v2/images``: the public distribution images, then the account's (``private``: only those)."""
        if kind not in (None, "distribution", "application"):
            raise unprocessable("type: must be distribution or application")
        own = [image_view(i) for i in self._own()]
        base = [catalog.image(row[0]) for row in catalog._IMAGE_ROWS]
        if kind == "application":
            rows = []
        elif kind == "distribution":
            rows = base
        else:
            rows = own if private else base + own
        if tag_name:
            rows = [r for r in rows if tag_name in (r.get("tags") or [])]
        return rows

    def _image(self, image_id: int | str) -> Frozen:
        image = self.store.get("images", str(image_id))
        if image is None or not image.get("_ready"):
            raise APIError(404, "The resource you were accessing could not be found.")
        return image

    def get(self, ref: str) -> dict:
        """``GET /v2/images/{id or slug}``: an account image by id, or a public one by id or slug."""
        base = catalog.image(int(ref) if ref.isdigit() else ref)
        if base is not None:
            return base
        if not ref.isdigit():
            raise APIError(404, "The resource you were accessing could not be found.")
        return image_view(self._image(ref))

    def update(self, image_id: int, name: str | None, description: str | None, distribution: str | None) -> dict:
        self._image(image_id)
        changes = {k: v for k, v in (("name", name), ("description", description), ("distribution", distribution))}
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            raise unprocessable("name: at least one of name, description or distribution is required")
        return image_view(self.store.patch("images", image_id, **changes))

    def snapshots(self, resource_type: str | None = None) -> list[dict]:
        """``GET /v2/snapshots``: droplet snapshots (the sandbox has no volumes)."""
        if resource_type not in (None, "droplet", "volume"):
            raise unprocessable("resource_type: must be droplet or volume")
        if resource_type == "volume":
            return []
        return [snapshot_view(i) for i in self._own() if i["type"] == "snapshot"]

    def snapshot(self, snapshot_id: str) -> dict:
        image = self.store.get("images", snapshot_id) if snapshot_id.isdigit() else None
        if image is None or not image.get("_ready") or image["type"] != "snapshot":
            raise APIError(404, "The resource you were accessing could not be found.")
        return snapshot_view(image)

    def of_droplet(self, droplet_id: int, kind: str) -> list[dict]:
        """A droplet's snapshots or backups (``kind``) as its sub-resources list them."""
        return [droplet_snapshot_view(i) for i in self._own() if i["_droplet_id"] == droplet_id and i["type"] == kind]

    # -- taking -------------------------------------------------------------------------
    def take(self, droplet: Frozen, kind: str, name: str | None) -> tuple[Frozen, Frozen]:
        """A new image of ``droplet`` (``kind`` snapshot or backup) and the action that takes it.

        Without machines the image is ready once the action's delay passed; with machines once the
        machine's disk is copied (the action then completes, or errors and the image is dropped).
        """
        region = droplet["region"]["slug"]
        image_id = self.store.next_id("image", 190000001)
        default = f"{droplet['name']}-{int(time.time())}"
        if kind == "backup":
            default = f"{droplet['name']} {time.strftime('%Y-%m-%d', time.gmtime())}"
        image = {
            "id": image_id,
            "name": name or default,
            "type": kind,
            "distribution": droplet["image"].get("distribution") or "Unknown",
            "slug": None,
            "public": False,
            "regions": [region],
            "created_at": now_iso(),
            "min_disk_size": droplet["disk"],
            "size_gigabytes": round(1.5 + droplet["disk"] * 0.05, 2),
            "description": "",
            "tags": [],
            "status": "available",
            "error_message": "",
            "_droplet_id": droplet["id"],
            "_ready": False,
            "_disk": False,
        }
        ids = "snapshot_ids" if kind == "snapshot" else "backup_ids"
        machines = self.sb.machines if droplet.get("_machine") else None
        if machines is None:
            action = self.sb.account.new_action(kind, droplet["id"], region, self.settings.action_delay)
            self.store.schedule(image, self.settings.action_delay, {"_ready": True})
            stored = self.store.create("images", image_id, image)
            with self.store.editing("droplets", droplet["id"]) as changing:
                self.store.schedule(changing, self.settings.action_delay, {ids: [*droplet[ids], image_id]})
            return stored, action
        action = self.sb.account.new_action(kind, droplet["id"], region, None)
        stored = self.store.create("images", image_id, image)
        started = time.time()
        delay = self.settings.action_delay

        def job() -> None:
            try:
                machines.capture(droplet["id"], image_id)
            except Exception:
                with self.store.lock:
                    self.store.delete("images", image_id)
                    self.sb.account.finish_action(action["id"], 0, ok=False)
                machines.forget_image(image_id)
                raise
            wait = max(0.0, started + delay - time.time())
            with self.store.lock:
                if self.store.get("images", image_id) is None:  # deleted meanwhile
                    machines.forget_image(image_id)
                    return
                with self.store.editing("images", image_id) as changing:
                    changing["_disk"] = True
                    self.store.schedule(changing, wait, {"_ready": True})
                self.sb.account.finish_action(action["id"], wait, ok=True)
                current = self.store.get("droplets", droplet["id"])
                if current is not None:
                    with self.store.editing("droplets", droplet["id"]) as changing:
                        self.store.schedule(changing, wait, {ids: [*current[ids], image_id]})

        machines.submit(droplet["id"], job)
        return stored, action

    def backup(self, droplet_id: int) -> dict:
        """The sandbox's stand-in for the backup window: a backup of the droplet now (its policy's
        retention then drops the oldest ones)."""
        droplet = self.sb.droplets.get(droplet_id)
        if "backups" not in droplet["features"]:
            raise unprocessable("Backups are not enabled for this Droplet.")
        if droplet["status"] == "new" or self.sb.account.busy(droplet_id):
            raise unprocessable("Droplet already has a pending event.")
        image, action = self.take(droplet, "backup", None)
        keep = RETENTION[(droplet.get("_backup_policy") or {}).get("plan", "daily")][0]
        backups = sorted(
            (i for i in self.store.all("images") if i["_droplet_id"] == droplet_id and i["type"] == "backup"),
            key=lambda i: i["id"],
        )
        for old in backups[:-keep]:
            self._delete(old)
        return {"image": image_view(image), "action": public(action)}

    # -- using --------------------------------------------------------------------------
    def usable(self, ref: str | int, region: str, disk: int) -> Frozen | None:
        """The account image ``ref`` for a new droplet in ``region`` with a ``disk`` GB disk; None when
        ``ref`` is no image of the account; refused when it is not in that region or does not fit."""
        if not str(ref).isdigit():
            return None
        image = self.store.get("images", str(ref))
        if image is None or not image.get("_ready"):
            return None
        if region not in image["regions"]:
            raise unprocessable(
                f"image: {image['name']} ({image['id']}) is not available in {region}; "
                f"it is in {', '.join(image['regions'])} (transfer it first)"
            )
        if disk < image["min_disk_size"]:
            raise unprocessable(f"size: the image {image['name']} needs a disk of at least {image['min_disk_size']} GB")
        return image

    # -- actions ------------------------------------------------------------------------
    def actions(self, image_id: int) -> list[Frozen]:
        self._image(image_id)
        return [a for a in self.sb.account.actions(resource_id=image_id) if a["resource_type"] == "image"]

    def action(self, image_id: int, action_id: int) -> Frozen:
        self._image(image_id)
        action = self.sb.account.action(action_id, resource_id=image_id)
        if action["resource_type"] != "image":
            raise APIError(404, "The resource you were accessing could not be found.")
        return action

    def act(self, image_id: int, body) -> Frozen:
        """``transfer`` copies the image to another region; ``convert`` makes a backup a snapshot."""
        image = self._image(image_id)
        if self.sb.account.busy(image_id):
            raise unprocessable("Image already has a pending event.")
        if body.type == "transfer":
            region = check_region(body.region)
            self.sb.regions.refuse(region)
            if region in image["regions"]:
                raise unprocessable(f"region: the image is already available in {region}")
            changes = {"regions": [*image["regions"], region]}
        else:
            if image["type"] != "backup":
                raise unprocessable("type: only a backup can be converted to a snapshot")
            changes = {"type": "snapshot"}
        action = self.sb.account.new_action(
            body.type, image_id, image["regions"][0], self.settings.action_delay, resource_type="image"
        )
        with self.store.editing("images", image_id) as changing:
            self.store.schedule(changing, self.settings.action_delay, changes)
        return action

    # -- deleting -----------------------------------------------------------------------
    def _delete(self, image: Frozen) -> None:
        self.store.delete("images", image["id"])
        ids = "snapshot_ids" if image["type"] == "snapshot" else "backup_ids"
        droplet = self.store.get("droplets", image["_droplet_id"])
        if droplet is not None:
            with self.store.editing("droplets", droplet["id"]) as changing:
                for key in ("snapshot_ids", "backup_ids"):
                    changing[key] = [i for i in changing[key] if i != image["id"]]
                for step in changing.get("_pending", []):  # a list change still to come must not bring it back
                    if ids in step["set"]:
                        step["set"][ids] = [i for i in step["set"][ids] if i != image["id"]]
        if image.get("_disk") and self.sb.machines is not None:
            self.sb.machines.submit(image["_droplet_id"], self.sb.machines.forget_image, image["id"])

    def delete(self, image_id: int) -> None:
        self._delete(self._image(image_id))

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshot(snapshot_id)
        self._delete(self._image(snapshot_id))

    def forget_droplet(self, droplet_id: int) -> None:
        """A destroyed droplet's backups go with it; its snapshots stay."""
        for image in list(self.store.all("images")):
            if image["_droplet_id"] == droplet_id and image["type"] == "backup":
                self._delete(image)


def policy(body: dict | None, current: dict | None = None) -> dict:
    """A droplet's backup policy from a request's ``backup_policy`` (defaults: daily, a window the sandbox
    picks), with DigitalOcean's read-only window length and retention."""
    body = dict(body or {})
    base = dict(current or {"plan": "daily", "hour": 0})
    plan = body.get("plan", base.get("plan", "daily"))
    if plan not in RETENTION:
        raise unprocessable("backup_policy.plan: must be daily or weekly")
    hour = body.get("hour", base.get("hour", 0))
    if hour not in HOURS:
        raise unprocessable(f"backup_policy.hour: must be one of {HOURS}")
    out = {"plan": plan, "hour": hour, "window_length_hours": 4, "retention_period_days": RETENTION[plan][1]}
    if plan == "weekly":
        weekday = body.get("weekday", base.get("weekday", "SUN"))
        if weekday not in WEEKDAYS:
            raise unprocessable(f"backup_policy.weekday: must be one of {WEEKDAYS}")
        out["weekday"] = weekday
    return out


def next_window(pol: dict, now: float | None = None) -> dict:
    """The next backup window of ``pol`` after ``now``."""
    import datetime as dt

    now_dt = dt.datetime.fromtimestamp(now if now is not None else time.time(), tz=dt.UTC)
    start = now_dt.replace(hour=pol["hour"], minute=0, second=0, microsecond=0)
    while start <= now_dt or (
        pol["plan"] == "weekly" and WEEKDAYS[(start.weekday() + 1) % 7] != pol.get("weekday", "SUN")
    ):
        start += dt.timedelta(days=1)
    end = start + dt.timedelta(hours=pol["window_length_hours"])
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"start": start.strftime(fmt), "end": end.strftime(fmt)}
