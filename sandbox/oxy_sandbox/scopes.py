"""DigitalOcean's token scopes: which one a request needs, and the ones answers depend on."""

from __future__ import annotations

# DigitalOcean's scope resources by API path prefix (the longest prefix wins): a token needs
# ``<resource>:read`` to GET and ``<resource>:create|update|delete`` to POST, PUT/PATCH or DELETE.
SCOPE_RESOURCES = {
    "/v2/droplets": "droplet",
    "/v2/images": "image",
    "/v2/snapshots": "snapshot",
    "/v2/vpcs": "vpc",
    "/v2/firewalls": "firewall",
    "/v2/databases": "database",
    "/v2/apps": "app",
    "/v2/projects": "project",
    "/v2/domains": "domain",
    "/v2/account/keys": "ssh_key",
    "/v2/account": "account",
    "/v2/tags": "tag",
    "/v2/registry": "registry",
    "/v2/regions": "regions",
    "/v2/sizes": "sizes",
    "/v2/actions": "actions",
    "/v2/uptime": "uptime",
    "/v2/monitoring": "monitoring",
}
SCOPE_VERBS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
VIEW_CREDENTIALS = "database:view_credentials"
SCOPE_PATTERN = r"^[a-z0-9_]+:[a-z0-9_]+$"


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs, or None when its path names no scoped resource."""
    verb = SCOPE_VERBS.get(method.upper())
    matches = [p for p in SCOPE_RESOURCES if path == p or path.startswith(p + "/")]
    if verb is None or not matches:
        return None
    return f"{SCOPE_RESOURCES[max(matches, key=len)]}:{verb}"
