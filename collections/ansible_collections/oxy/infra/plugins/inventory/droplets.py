# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: droplets
short_description: DigitalOcean Droplets as inventory hosts
version_added: 0.1.0
description:
  - Lists the account's Droplets, every page of them, optionally only those with some tags.
  - Each Droplet becomes a host named after it, reached at its public or private IPv4 address.
  - Supports C(compose), C(groups) and C(keyed_groups) on the C(do_*) host variables, and caching.
  - The configuration file must end in C(droplets.yml) or C(droplets.yaml).
author:
  - Oxy infrastructure team (@oxyhq)
requirements:
  - pydo >= 0.44
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [oxy.infra.droplets]
  token:
    description: DigitalOcean API token.
    type: str
    required: true
    env:
      - name: DIGITALOCEAN_TOKEN
      - name: DIGITALOCEAN_ACCESS_TOKEN
      - name: DO_API_TOKEN
  api_url:
    description: Base URL of the DigitalOcean API.
    type: str
    default: https://api.digitalocean.com
    env:
      - name: DIGITALOCEAN_API_URL
  ca_path:
    description: CA bundle that verifies the API's certificate.
    type: path
    env:
      - name: DIGITALOCEAN_CA_BUNDLE
  validate_certs:
    description: Verify the API's TLS certificate.
    type: bool
    default: true
  tags:
    description: Only Droplets carrying at least one of these tags.
    type: list
    elements: str
    default: []
  host_address:
    description: Which IPv4 address becomes C(ansible_host).
    type: str
    choices: [public, private]
    default: public
  retries:
    description: Retries of a request after a 429 or 5xx.
    type: int
    default: 5
"""

EXAMPLES = r"""
# inventory/production/droplets.yml
plugin: oxy.infra.droplets
tags: [api]
host_address: public
keyed_groups:
  - key: do_tags
    prefix: tag
  - key: do_region
    prefix: region
compose:
  ansible_user: "'root'"
"""

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible_collections.oxy.infra.plugins.module_utils._api import (
    HAS_PYDO,
    DigitalOceanAPI,
    DigitalOceanError,
    build_client,
)


def host_vars(droplet):
    """The ``do_*`` variables of one Droplet."""
    v4 = (droplet.get("networks") or {}).get("v4") or []
    by_type = dict((n.get("type"), n.get("ip_address")) for n in v4)
    return dict(
        do_id=droplet["id"],
        do_name=droplet["name"],
        do_status=droplet.get("status"),
        do_region=(droplet.get("region") or {}).get("slug"),
        do_size=droplet.get("size_slug"),
        do_image=(droplet.get("image") or {}).get("slug"),
        do_tags=list(droplet.get("tags") or []),
        do_vpc_uuid=droplet.get("vpc_uuid"),
        do_public_ipv4=by_type.get("public"),
        do_private_ipv4=by_type.get("private"),
    )


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "oxy.infra.droplets"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("droplets.yml", "droplets.yaml"))

    def fetch(self):
        if not HAS_PYDO:
            raise AnsibleError("the oxy.infra.droplets inventory needs pydo (pip install pydo)")
        params = dict(
            api_url=self.get_option("api_url"),
            token=self.get_option("token"),
            ca_path=self.get_option("ca_path"),
            validate_certs=self.get_option("validate_certs"),
            request_timeout=60,
            retries=self.get_option("retries"),
        )
        api = DigitalOceanAPI(build_client(params), retries=params["retries"])
        try:
            droplets = api.list("droplets.list", "droplets")
        except DigitalOceanError as exc:
            raise AnsibleError("oxy.infra.droplets: %s" % exc.message) from exc
        wanted = set(self.get_option("tags"))
        return [host_vars(d) for d in droplets if not wanted or wanted & set(d.get("tags") or [])]

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        hosts = None
        if use_cache:
            try:
                hosts = self._cache[cache_key]
            except KeyError:
                hosts = None
        if hosts is None:
            hosts = self.fetch()
            if self.get_option("cache"):
                self._cache[cache_key] = hosts
        address = "do_%s_ipv4" % self.get_option("host_address")
        strict = self.get_option("strict")
        for variables in hosts:
            name = variables["do_name"]
            self.inventory.add_host(name)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            if variables.get(address):
                self.inventory.set_variable(name, "ansible_host", variables[address])
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
