#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_alert_policy_info
short_description: List DigitalOcean monitoring alert policies
version_added: 0.6.0
description:
  - Lists the account's alert policies, every page of them, optionally only one by description or those of one type.
  - Slack webhook URLs are masked.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
options:
  description:
    description: Only the policy with this description (the policies' human key).
    type: str
  type:
    description: Only the policies on this metric (V(v1/insights/droplet/cpu)).
    type: str
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The Droplets' CPU policies
  oxy.infra.monitoring_alert_policy_info:
    type: v1/insights/droplet/cpu
  register: found
"""

RETURN = r"""
policies:
  description: The alert policies as the API returns them, Slack webhook URLs masked.
  returned: always
  type: list
  elements: dict
  sample:
    - uuid: 78b3da62-27e5-49ba-ac70-5db0b5935c64
      type: v1/insights/droplet/cpu
      description: oxy-api-backend CPU above 80%
      compare: GreaterThan
      value: 80
      window: 5m
      entities: []
      tags: [oxy-api-backend]
      alerts: {email: [ops@oxy.so], slack: []}
      enabled: true
"""

from ansible_collections.oxy.infra.plugins.module_utils import _monitoring as recipients
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager


class AlertPolicyInfo(ResourceManager):
    result_key = "policies"

    def run(self):
        p = self.params
        policies = self.api.list("monitoring.list_alert_policy", "policies")
        if p["description"]:
            policies = [x for x in policies if x["description"] == p["description"]]
        if p["type"]:
            policies = [x for x in policies if x["type"] == p["type"]]
        return dict(changed=False, policies=[dict(x, alerts=recipients.masked(x.get("alerts"))) for x in policies])


def main():
    do = DigitalOceanModule(dict(description=dict(type="str"), type=dict(type="str")), supports_check_mode=True)
    do.run(AlertPolicyInfo)


if __name__ == "__main__":
    main()
