"""The account: its SSH keys, tags, the actions log and its container registry (DOCR)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time

from .. import catalog
from ..errors import APIError, not_found, unprocessable
from ..store import Frozen
from ..util import now_iso
from .base import ACCOUNT_UUID, Backend

# Tags reach these collections: resource type -> (store kind, key in a tag's resources)
TAGGABLE = {"droplet": ("droplets", "droplets"), "database": ("databases", "databases")}
_TAG_COUNTS = {
    **TAGGABLE,
    "image": ("", "images"),
    "volume": ("", "volumes"),
    "volume_snapshot": ("", "volume_snapshots"),
}

_REGISTRY = "registry"
# slug -> name, included repositories (0: unlimited), storage bytes, monthly price in cents
_TIERS = {
    "starter": ("Starter", 1, 500 * 2**20, 0),
    "basic": ("Basic", 5, 5 * 2**30, 500),
    "professional": ("Professional", 0, 100 * 2**30, 2000),
}


def fingerprint(public_key: str) -> str:
    parts = public_key.strip().split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise unprocessable("public_key: Key invalid, type not supported")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise unprocessable("public_key: Key invalid, not a base64 key blob") from exc
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


class AccountBackend(Backend):
    def info(self) -> dict:
        return {
            "droplet_limit": 25,
            "floating_ip_limit": 3,
            "volume_limit": 100,
            "email": "ops@oxy.so",
            "name": "Oxy Ops",
            "uuid": ACCOUNT_UUID,
            "email_verified": True,
            "status": "active",
            "status_message": "",
            "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "Oxy"},
        }

    # -- SSH keys ---------------------------------------------------------------------
    def find_key(self, ident: str | int) -> Frozen | None:
        key = self.store.get("ssh_keys", ident)
        if key is None:
            key = next(self.store.find("ssh_keys", fingerprint=str(ident)), None)
        return key

    def get_key(self, ident: str | int) -> Frozen:
        key = self.find_key(ident)
        if key is None:
            raise not_found()
        return key

    def keys(self) -> list[Frozen]:
        return sorted(self.store.all("ssh_keys"), key=lambda k: k["id"])

    def create_key(self, name: str, public_key: str) -> Frozen:
        fp = fingerprint(public_key)
        if next(self.store.find("ssh_keys", fingerprint=fp), None):
            raise unprocessable("public_key: SSH Key is already in use on your account")
        key_id = self.store.next_id("ssh_key", 3000001)
        key = {"id": key_id, "fingerprint": fp, "public_key": public_key.strip(), "name": name}
        return self.store.create("ssh_keys", key_id, key)

    def rename_key(self, ident: str, name: str) -> Frozen:
        return self.store.patch("ssh_keys", self.get_key(ident)["id"], name=name)

    def delete_key(self, ident: str) -> None:
        self.store.delete("ssh_keys", self.get_key(ident)["id"])

    # -- Tags -------------------------------------------------------------------------
    def ensure_tags(self, names: list[str] | None) -> None:
        with self.store.lock:
            for name in names or []:
                if self.store.get("tags", name) is None:
                    self.store.create("tags", name, {"name": name})

    def tag_names(self) -> list[str]:
        return sorted(t["name"] for t in self.store.all("tags"))

    def tag_view(self, name: str) -> dict:
        counts = {}
        total = 0
        last_uri = ""
        for collection, key in _TAG_COUNTS.values():
            tagged = [o for o in self.store.all(collection) if name in (o.get("tags") or [])] if collection else []
            last = ""
            if tagged:
                newest = max(tagged, key=lambda o: o.get("_tagged", {}).get(name, 0))
                last = f"https://api.digitalocean.com/v2/{collection}/{newest['id']}"
                last_uri = last
            counts[key] = {"count": len(tagged), "last_tagged_uri": last}
            total += len(tagged)
        return {"name": name, "resources": {"count": total, "last_tagged_uri": last_uri, **counts}}

    def create_tag(self, name: str) -> dict:
        self.ensure_tags([name])
        return self.tag_view(name)

    def get_tag(self, name: str) -> dict:
        self.must("tags", name)
        return self.tag_view(name)

    def delete_tag(self, name: str) -> None:
        self.must("tags", name)
        for collection, _ in TAGGABLE.values():
            for obj in self.store.all(collection):
                if name in (obj.get("tags") or []):
                    with self.store.editing(collection, obj["id"]) as changing:
                        changing["tags"].remove(name)
        self.store.delete("tags", name)

    def _tag_targets(self, resources: list) -> list[tuple[str, Frozen]]:
        targets = []
        for res in resources:
            if res.resource_type not in TAGGABLE:
                raise APIError(400, f"resources: tagging {res.resource_type} resources is not supported by the sandbox")
            collection = TAGGABLE[res.resource_type][0]
            obj = self.store.get(collection, res.resource_id)
            if obj is None:
                raise not_found()
            targets.append((collection, obj))
        return targets

    def tag_resources(self, name: str, resources: list) -> None:
        self.must("tags", name)
        for collection, obj in self._tag_targets(resources):
            with self.store.editing(collection, obj["id"]) as changing:
                changing["tags"] = changing.get("tags") or []
                if name not in changing["tags"]:
                    changing["tags"].append(name)
                changing.setdefault("_tagged", {})[name] = time.time()

    def untag_resources(self, name: str, resources: list) -> None:
        self.must("tags", name)
        for collection, obj in self._tag_targets(resources):
            if name in (obj.get("tags") or []):
                with self.store.editing(collection, obj["id"]) as changing:
                    changing["tags"].remove(name)

    # -- Actions ----------------------------------------------------------------------
    def new_action(
        self,
        kind: str,
        resource_id: int | None,
        region: str,
        delay: float | None,
        resource_type: str = "droplet",
    ) -> Frozen:
        """An action on a resource; it completes after ``delay`` (None: whoever does the work completes it)."""
        action = {
            "id": self.store.next_id("action", 2000000001),
            "status": "in-progress",
            "type": kind,
            "started_at": now_iso(),
            "completed_at": None,
            "resource_id": resource_id,
            "resource_type": resource_type,
            "region": catalog.region(region),
            "region_slug": region,
        }
        if delay is not None:
            self.store.schedule(action, delay, {"status": "completed", "completed_at": now_iso()})
        return self.store.create("actions", action["id"], action)

    def finish_action(self, action_id: int, delay: float, ok: bool) -> None:
        """The work behind an action ended: it completes (after ``delay``) or errors now."""
        with self.store.lock:
            if self.store.get("actions", action_id) is None:
                return
            with self.store.editing("actions", action_id) as action:
                if ok:
                    self.store.schedule(action, delay, {"status": "completed", "completed_at": now_iso()})
                else:
                    action.update(status="errored", completed_at=now_iso())

    def actions(self, resource_id: int | None = None) -> list[Frozen]:
        rows = self.store.all("actions")
        if resource_id is not None:
            rows = [a for a in rows if a["resource_id"] == resource_id]
        return sorted(rows, key=lambda a: -a["id"])

    def action(self, action_id: int, resource_id: int | None = None) -> Frozen:
        action = self.must("actions", action_id)
        if resource_id is not None and action["resource_id"] != resource_id:
            raise not_found()
        return action

    def busy(self, resource_id: int) -> bool:
        return any(a["status"] == "in-progress" for a in self.store.all("actions") if a["resource_id"] == resource_id)

    # -- Container registry -----------------------------------------------------------
    def _registry(self) -> Frozen:
        return self.must("registries", _REGISTRY)

    def subscription(self, registry: Frozen | None = None) -> dict:
        registry = registry or self._registry()
        name, repos, storage, price = _TIERS[registry["_tier"]]
        tier = {
            "name": name,
            "slug": registry["_tier"],
            "included_repositories": repos,
            "included_storage_bytes": storage,
            "allow_storage_overage": registry["_tier"] != "starter",
            "included_bandwidth_bytes": storage,
            "monthly_price_in_cents": price,
        }
        return {"tier": tier, "created_at": registry["created_at"], "updated_at": registry.get("_tier_at", now_iso())}

    def _registry_view(self, registry: Frozen) -> dict:
        out = {k: v for k, v in registry.items() if not k.startswith("_")}
        out["storage_usage_bytes"] = 0
        out["storage_usage_bytes_updated_at"] = now_iso()
        out["subscription"] = self.subscription(registry)
        return out

    def registry(self) -> dict:
        return self._registry_view(self._registry())

    def create_registry(self, name: str, region: str | None, tier: str) -> dict:
        if self.store.get("registries", _REGISTRY) is not None:
            raise APIError(409, "this account already has a container registry")
        registry = {"name": name, "region": region or "nyc3", "created_at": now_iso(), "_tier": tier}
        return self._registry_view(self.store.create("registries", _REGISTRY, registry))

    def delete_registry(self) -> None:
        self._registry()
        self.store.delete("registries", _REGISTRY)

    def change_subscription(self, tier: str) -> dict:
        self._registry()
        return self.subscription(self.store.patch("registries", _REGISTRY, _tier=tier, _tier_at=now_iso()))

    def docker_credentials(self, token: str, expiry_seconds: int = 0, read_write: bool = False) -> dict:
        """A Docker config.json for registry.digitalocean.com, as DigitalOcean answers it.

        Every call makes new credentials: read-only unless ``read_write``, expiring after
        ``expiry_seconds`` (0: never), and the registry holds them to both. Without a registry process
        (no Docker engine here) the answer is still well formed, derived from the token.
        """
        self._registry()
        if expiry_seconds < 0:
            raise APIError(400, "expiry_seconds must be a non-negative integer", "bad_request")
        if self.sb.registry is not None:
            return self.sb.registry.issue(read_write=read_write, expiry_seconds=expiry_seconds)
        secret = hashlib.sha256(token.encode()).hexdigest()[:32]
        auth = base64.b64encode(f"{secret}:{secret}".encode()).decode()
        return {"auths": {"registry.digitalocean.com": {"auth": auth}}}
