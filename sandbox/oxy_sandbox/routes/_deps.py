"""Helpers shared by the route modules."""

from __future__ import annotations

import secrets

from fastapi import Request

from ..core import Sandbox, new_uuid, not_found, now_iso
from ..store import public

ACCOUNT_UUID = "b6fr89dbf6d9156cace5f3c78dc9851d957381ef"
OWNER_ID = 258992


def sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def must_get(sb: Sandbox, kind: str, oid: str | int) -> dict:
    obj = sb.store.get(kind, oid)
    if obj is None:
        raise not_found()
    return obj


def default_project(sb: Sandbox) -> dict:
    for project in sb.store.all("projects"):
        if project.get("is_default"):
            return project
    return ensure_default_project(sb)


def ensure_default_project(sb: Sandbox) -> dict:
    existing = [p for p in sb.store.all("projects") if p.get("is_default")]
    if existing:
        return existing[0]
    now = now_iso()
    project = {
        "id": new_uuid(),
        "owner_uuid": ACCOUNT_UUID,
        "owner_id": OWNER_ID,
        "name": "first-project",
        "description": "Default project",
        "purpose": "Just trying out DigitalOcean",
        "environment": "Development",
        "is_default": True,
        "created_at": now,
        "updated_at": now,
        "_resources": {},
    }
    return sb.store.put("projects", project["id"], project)


def assign_to_project(sb: Sandbox, urn: str, project_id: str | None = None) -> None:
    """Put ``urn`` in one project (the default one unless named), taking it out of any other."""
    target = sb.store.get("projects", project_id) if project_id else default_project(sb)
    if target is None:
        target = default_project(sb)
    for project in sb.store.all("projects"):
        if urn in project["_resources"] and project is not target:
            del project["_resources"][urn]
            sb.store.put("projects", project["id"], project)
    target["_resources"].setdefault(urn, now_iso())
    sb.store.put("projects", target["id"], target)


def project_of(sb: Sandbox, urn: str) -> str | None:
    for project in sb.store.all("projects"):
        if urn in project["_resources"]:
            return project["id"]
    return None


def forget(sb: Sandbox, urn: str) -> None:
    """Drop every reference to a deleted resource: projects and, for droplets, firewalls."""
    for project in sb.store.all("projects"):
        if urn in project["_resources"]:
            del project["_resources"][urn]
            sb.store.put("projects", project["id"], project)
    if urn.startswith("do:droplet:"):
        droplet_id = int(urn.rsplit(":", 1)[1])
        for fw in sb.store.all("firewalls"):
            if droplet_id in fw["droplet_ids"]:
                fw["droplet_ids"].remove(droplet_id)
                sb.store.put("firewalls", fw["id"], fw)


def password(length: int = 24) -> str:
    return secrets.token_urlsafe(length)[:length]


def view(obj: dict) -> dict:
    return public(obj)
