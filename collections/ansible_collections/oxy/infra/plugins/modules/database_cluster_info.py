#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_cluster_info
short_description: List DigitalOcean managed database clusters
version_added: 0.1.0
description:
  - Lists the account's managed database clusters, every page of them, optionally only one by name or those with a tag.
  - Passwords are removed from connection details and users.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
  - oxy.infra.digitalocean.INFO
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Look up managed database clusters
  oxy.infra.database_cluster_info:
    name: db-oxy
  register: found
"""

RETURN = r"""
databases:
  description: The managed database clusters, as the API returns them.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.oxy.infra.plugins.module_utils._info import run_info
from ansible_collections.oxy.infra.plugins.module_utils._resources import redact


def main():
    run_info("databases.list_clusters", "databases", transform=redact, paginated=False)


if __name__ == "__main__":
    main()
