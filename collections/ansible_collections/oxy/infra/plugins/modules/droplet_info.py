#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: droplet_info
short_description: List DigitalOcean Droplets
version_added: 0.1.0
description:
  - Lists the account's Droplets, every page of them, optionally only one by name or those with a tag.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
  - oxy.infra.digitalocean.INFO
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Look up Droplets
  oxy.infra.droplet_info:
    name: oxy-api-backend
  register: found
"""

RETURN = r"""
droplets:
  description: The Droplets, as the API returns them.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._info import run_info


def main():
    run_info("droplets.list", "droplets")


if __name__ == "__main__":
    main()
