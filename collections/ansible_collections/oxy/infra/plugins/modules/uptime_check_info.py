#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: uptime_check_info
short_description: List DigitalOcean uptime checks with their state and alerts
version_added: 0.6.0
description:
  - Lists the account's uptime checks, every page of them, optionally only one by name, each with its C(state) (the
    status in each of its regions, as C(/state) answers it) and its C(alerts).
  - Slack webhook URLs of the alerts are masked.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
options:
  name:
    description: Only the check with this name.
    type: str
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Is api.oxy.so up?
  oxy.infra.uptime_check_info:
    name: api.oxy.so
  register: found

- name: Say which regions see it down
  ansible.builtin.debug:
    msg: >-
      {{ found.checks[0].state.regions | dict2items
         | selectattr('value.status', 'eq', 'DOWN') | map(attribute='key') }}
"""

RETURN = r"""
checks:
  description:
    - The uptime checks as the API returns them, each with its C(state) and C(alerts) (Slack webhook URLs
      masked).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 4de7ac8b-495b-4884-9a69-1050c6793cd6
      name: api.oxy.so
      type: https
      target: https://api.oxy.so
      regions: [us_east, eu_west]
      enabled: true
      state:
        regions:
          us_east: {status: UP, status_changed_at: "2026-12-03T09:12:43Z", thirty_day_uptime_percentage: 100.0}
        previous_outage: {}
      alerts:
        - {id: 5a4981aa-9653-4bd1-bef5-d6bff52042e4, name: api.oxy.so down, type: down, period: 2m,
           notifications: {email: [ops@oxy.so], slack: []}}
"""

from ansible_collections.oxy.infra.plugins.module_utils import _monitoring as recipients
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager


class UptimeCheckInfo(ResourceManager):
    result_key = "checks"

    def run(self):
        checks = self.api.list("uptime.list_checks", "checks")
        if self.params["name"]:
            checks = [c for c in checks if c["name"] == self.params["name"]]
        out = []
        for check in checks:
            state = self.api.call("uptime.get_check_state", check["id"], missing_ok=True) or {}
            alerts = self.api.list("uptime.list_alerts", "alerts", check["id"])
            out.append(
                dict(
                    check,
                    state=state.get("state") or {},
                    alerts=[dict(a, notifications=recipients.masked(a.get("notifications"))) for a in alerts],
                )
            )
        return dict(changed=False, checks=out)


def main():
    do = DigitalOceanModule(dict(name=dict(type="str")), supports_check_mode=True)
    do.run(UptimeCheckInfo)


if __name__ == "__main__":
    main()
