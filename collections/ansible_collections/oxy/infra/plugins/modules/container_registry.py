#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_registry
short_description: Manage the DigitalOcean Container Registry of the account, and get Docker credentials for it
version_added: 0.2.0
description:
  - Creates the account's container registry (an account has at most one) or adopts the one it has.
  - A registry's name is fixed at creation; a different O(name) on an account that has a registry is an error.
    Its O(subscription_tier) is compared and changed in place.
  - With O(credentials), also returns a Docker C(config.json) for C(registry.digitalocean.com), as DigitalOcean's
    docker-credentials answers it. It holds a secret, so register the result with C(no_log).
  - Deleting a registry deletes every image in it; this module does not do it.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
options:
  name:
    description: The registry's name, the first part of image names (C(registry.digitalocean.com/<name>/api)).
    type: str
    required: true
  region:
    description: Where images are stored. Used at creation.
    type: str
    choices: [nyc3, sfo3, ams3, sgp1, fra1]
  subscription_tier:
    description: The subscription tier. Required to create.
    type: str
    choices: [starter, basic, professional]
  credentials:
    description:
      - V(none) returns no credentials; V(read) read-only ones (for pulling, as droplets do); V(read_write) ones
        that can push.
      - Credentials are read every run and never count as a change.
    type: str
    choices: [none, read, read_write]
    default: none
  credentials_expiry:
    description:
      - Seconds until the credentials expire (DigitalOcean's C(expiry_seconds)); they never expire when unset
        or V(0), and such credentials hold an API token for good, so give machines credentials that expire.
      - The registry refuses them from then on; RV(expires_at) says when.
    type: int
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The registry the apps and the droplet pull from, with pull credentials
  oxy.infra.container_registry:
    name: oxy
    region: ams3
    subscription_tier: basic
    credentials: read
    credentials_expiry: 604800  # a week
  register: registry
  no_log: true
"""

RETURN = r"""
registry:
  description: The registry as the API returns it.
  returned: always
  type: dict
docker_config:
  description: A Docker C(config.json) (C(auths)) for C(registry.digitalocean.com). Secret.
  returned: when O(credentials) is not V(none) and the registry exists
  type: dict
username:
  description: The user name of those credentials.
  returned: when O(credentials) is not V(none) and the registry exists
  type: str
password:
  description: The password of those credentials. Secret.
  returned: when O(credentials) is not V(none) and the registry exists
  type: str
expires_at:
  description:
    - When those credentials expire, in seconds since the epoch (UTC), taken before they were asked for, so
      never later than DigitalOcean's own end of them. V(0) when they never expire.
  returned: when O(credentials) is not V(none) and the registry exists
  type: int
  sample: 1767225600
"""

import base64
import time

from ansible_collections.oxy.infra.plugins.module_utils._diff import Change
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

REGISTRY_HOST = "registry.digitalocean.com"


def state_of(registry):
    if not registry:
        return {}
    tier = ((registry.get("subscription") or {}).get("tier") or {}).get("slug")
    return dict(name=registry["name"], region=registry.get("region"), subscription_tier=tier)


class RegistryManager(ResourceManager):
    result_key = "registry"
    kind = "container registry"

    def find(self):
        body = self.api.call("registry.get", missing_ok=True)
        return (body or {}).get("registry")

    def run(self):
        p = self.params
        if (p["credentials_expiry"] or 0) < 0:
            self.do.fail("credentials_expiry: %d is not a number of seconds (0 or more)" % p["credentials_expiry"])
        current = self.find()
        if current and current["name"] != p["name"]:
            self.do.fail(
                "name: this account's registry is %r; an account has one registry and its name is fixed"
                % current["name"]
            )
        change = Change(state_of(current))
        change.set("name", p["name"])
        if current is None:
            if not p["subscription_tier"]:
                self.do.fail("subscription_tier is required to create registry %r" % p["name"])
            change.set("region", p["region"])
        if p["subscription_tier"] and (current is None or change.before.get("subscription_tier")):
            change.set("subscription_tier", p["subscription_tier"])
        registry = current or change.after
        if change.changed and not self.do.check_mode:
            if current is None:
                body = dict(name=p["name"], subscription_tier_slug=p["subscription_tier"])
                if p["region"]:
                    body["region"] = p["region"]
                registry = self.api.create(lambda: self.api.call("registry.create", body)["registry"], self.find)
            else:
                self.api.call("registry.update_subscription", {"tier_slug": p["subscription_tier"]})
                registry = self.find()
        result = dict(changed=change.changed, registry=registry, diff=change.diff())
        if p["credentials"] != "none" and (current or not self.do.check_mode):
            result.update(self.credentials())
        return result

    def credentials(self):
        p = self.params
        kwargs = dict(read_write=p["credentials"] == "read_write")
        expires_at = 0
        if p["credentials_expiry"]:
            kwargs["expiry_seconds"] = p["credentials_expiry"]
            expires_at = int(time.time()) + p["credentials_expiry"]  # before the request: never too late
        with self.api.polls():  # every call makes a new credential: never answered from the run's cache
            config = self.api.call("registry.get_docker_credentials", **kwargs)
        auth = ((config.get("auths") or {}).get(REGISTRY_HOST) or {}).get("auth") or ""
        username, _sep, password = base64.b64decode(auth).decode().partition(":")
        return dict(docker_config=config, username=username, password=password, expires_at=expires_at)


def main():
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            region=dict(type="str", choices=["nyc3", "sfo3", "ams3", "sgp1", "fra1"]),
            subscription_tier=dict(type="str", choices=["starter", "basic", "professional"]),
            credentials=dict(type="str", default="none", choices=["none", "read", "read_write"], no_log=False),
            credentials_expiry=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    do.run(RegistryManager)


if __name__ == "__main__":
    main()
