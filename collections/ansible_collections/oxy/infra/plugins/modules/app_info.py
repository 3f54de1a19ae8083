#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_info
short_description: List DigitalOcean App Platform apps
version_added: 0.1.0
description:
  - Lists the account's App Platform apps, every page of them, optionally only one by name or those with a tag.
  - SECRET environment values stay encrypted (C(EV[...])) as DigitalOcean returns them.
  - Apps carry no tags; O(tag) matches none.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
  - oxy.infra.digitalocean.INFO
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Look up App Platform apps
  oxy.infra.app_info:
    name: mention-production
  register: found
"""

RETURN = r"""
apps:
  description: The App Platform apps, as the API returns them.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._info import run_info


def main():
    run_info("apps.list", "apps", name_of=lambda a: a["spec"]["name"], tagged=lambda a: [])


if __name__ == "__main__":
    main()
