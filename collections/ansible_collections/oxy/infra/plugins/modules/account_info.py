#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: account_info
short_description: What a DigitalOcean account offers, read once
version_added: 0.1.0
description:
  - Reads the account's regions, Droplet sizes and managed database options (engines, versions, regions and
    node layouts), one request each, so that a play can check a whole environment definition against them
    before it writes anything (the M(oxy.infra.account_info) result feeds the
    P(oxy.infra.environment_problems#filter) filter).
  - Register the result once and use it for the rest of the run; nothing here changes during a run.
  - It reads only, so it runs the same in check mode, and a plan checks the definition too.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Read what the account offers
  oxy.infra.account_info:
  register: account

- name: Refuse a region the account does not have
  ansible.builtin.assert:
    that: "'ams3' in account.regions | map(attribute='slug')"
"""

RETURN = r"""
regions:
  description: The account's regions, as C(GET /v2/regions) returns them (C(slug), C(available), C(sizes), ...).
  returned: success
  type: list
  elements: dict
sizes:
  description: The Droplet sizes, as C(GET /v2/sizes) returns them (C(slug), C(available), C(regions), ...).
  returned: success
  type: list
  elements: dict
database_options:
  description: C(GET /v2/databases/options), with C(options) per engine (C(versions), C(regions), C(layouts)).
  returned: success
  type: dict
  sample:
    options:
      mongodb:
        versions: ["8.0", "7.0"]
        regions: [ams3, nyc3]
        layouts: [{num_nodes: 3, sizes: [db-s-1vcpu-2gb]}]
"""

from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager


class AccountReader(ResourceManager):
    result_key = "account"

    def run(self):
        """The account's catalog: lookups, which every task of a run may share (plugin_utils/_read_cache.py)."""
        with self.api.lookups():
            return dict(
                changed=False,
                regions=self.api.list("regions.list", "regions"),
                sizes=self.api.list("sizes.list", "sizes"),
                database_options=self.api.call("databases.list_options"),
            )


def main():
    DigitalOceanModule({}, supports_check_mode=True).run(AccountReader)


if __name__ == "__main__":
    main()
