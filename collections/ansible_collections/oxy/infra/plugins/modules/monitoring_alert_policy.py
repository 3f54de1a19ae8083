#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_alert_policy
short_description: Manage DigitalOcean monitoring alert policies
version_added: 0.6.0
description:
  - Create, update or delete an alert policy on a metric of Droplets, database clusters or load balancers,
    identified by its O(description).
  - DigitalOcean's alert policies have no name; the description is the human key. An existing policy with the
    description is adopted; several policies with it are an error, naming their ids.
  - The policy is rewritten in place, in one call, when a managed field differs. A value edited in the console (the
    threshold O(value), a recipient) is drift; the next run puts it back.
  - Slack webhook URLs are secrets; they never appear in the result or the diff (see O(alerts.slack[].url)).
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  description:
    description: The policy's description, which identifies it (and is the subject of what it sends).
    type: str
    required: true
  type:
    description:
      - The metric, as DigitalOcean names it - V(v1/insights/droplet/cpu),
        V(v1/insights/droplet/memory_utilization_percent), V(v1/insights/droplet/disk_utilization_percent),
        V(v1/insights/droplet/load_1) (V(load_5), V(load_15)), the
        Droplets' bandwidth and disk I/O, V(v1/dbaas/alerts/cpu_alerts) and the other database cluster alerts, load
        balancer and autoscale pool metrics. Required to create.
      - Memory and disk metrics need the monitoring agent on the Droplet (created with C(monitoring) enabled).
    type: str
  compare:
    description: Whether the policy fires above or below O(value). Required to create.
    type: str
    choices: [GreaterThan, LessThan]
  value:
    description:
      - The threshold (a percentage for C(_percent), C(cpu) and database utilization metrics).
      - Required to create.
    type: float
  window:
    description: The period the metric's average is taken over. Required to create.
    type: str
    choices: [5m, 10m, 30m, 1h]
  entities:
    description:
      - Ids of what the policy watches (Droplet ids for Droplet metrics, cluster ids for database alerts), compared as
        a set. With neither O(entities) nor O(tags), the policy watches every Droplet of the account.
    type: list
    elements: str
  tags:
    description: Tags whose Droplets the policy watches, compared as a set.
    type: list
    elements: str
  alerts:
    description: Who is told; at least one email or Slack recipient. Required to create.
    type: dict
    suboptions:
      email:
        description: Email addresses, compared as a set.
        type: list
        elements: str
      slack:
        description: Slack channels, each with its incoming webhook.
        type: list
        elements: dict
        suboptions:
          channel:
            description: The channel, as it is named in the notification (V(#oxy-alerts)).
            type: str
            required: true
          url:
            description:
              - The channel's incoming-webhook URL (V(https://hooks.slack.com/...)). A secret - it is never shown; the
                result and the diff show it as C(********), and a URL that differs from the one the policy has as
                C(******** (changed)).
            type: str
            required: true
  enabled:
    description: Whether the policy is evaluated. A new policy is enabled unless this says otherwise.
    type: bool
  state:
    description:
      - Whether the policy should exist.
      - V(absent) needs O(allow_delete=true). Alert policies carry no tags, so a policy is protected by listing its
        description in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
notes:
  - A run with O(description) alone writes nothing and reads as lookups; it returns the policy.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Someone is told when the API droplet's disk fills
  oxy.infra.monitoring_alert_policy:
    description: oxy-api-backend disk above 85%
    type: v1/insights/droplet/disk_utilization_percent
    compare: GreaterThan
    value: 85
    window: 5m
    tags: [oxy-api-backend]
    alerts:
      email: [ops@oxy.so]
      slack:
        - channel: "#oxy-alerts"
          url: "{{ oxy_monitoring_slack_webhook }}"
"""

RETURN = r"""
policy:
  description:
    - The alert policy as the API returns it, Slack webhook URLs masked; empty when absent. In check mode, what it
      would be.
  returned: always
  type: dict
  sample:
    uuid: 78b3da62-27e5-49ba-ac70-5db0b5935c64
    type: v1/insights/droplet/disk_utilization_percent
    description: oxy-api-backend disk above 85%
    compare: GreaterThan
    value: 85
    window: 5m
    entities: []
    tags: [oxy-api-backend]
    alerts: {email: [ops@oxy.so], slack: [{channel: "#oxy-alerts", url: "********"}]}
    enabled: true
"""

from ansible_collections.oxy.infra.plugins.module_utils import _monitoring as recipients
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._monitoring import InvalidMonitoring
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

DROPLET = "v1/insights/droplet/"
DBAAS = "v1/dbaas/alerts/"
LBAAS = "v1/insights/lbaas/"
AUTOSCALE = "v1/droplet/autoscale_alerts/"
# The policy types of DigitalOcean's API (its spec's enum), by family.
TYPES = (
    *(
        DROPLET + m
        for m in (
            "load_1",
            "load_5",
            "load_15",
            "memory_utilization_percent",
            "disk_utilization_percent",
            "cpu",
            "disk_read",
            "disk_write",
            "public_outbound_bandwidth",
            "public_inbound_bandwidth",
            "private_outbound_bandwidth",
            "private_inbound_bandwidth",
        )
    ),
    *(
        LBAAS + m
        for m in (
            "avg_cpu_utilization_percent",
            "connection_utilization_percent",
            "droplet_health",
            "tls_connections_per_second_utilization_percent",
            "increase_in_http_error_rate_percentage_5xx",
            "increase_in_http_error_rate_percentage_4xx",
            "increase_in_http_error_rate_count_5xx",
            "increase_in_http_error_rate_count_4xx",
            "high_http_request_response_time",
            "high_http_request_response_time_50p",
            "high_http_request_response_time_95p",
            "high_http_request_response_time_99p",
        )
    ),
    *(DBAAS + m for m in ("load_15_alerts", "memory_utilization_alerts", "disk_utilization_alerts", "cpu_alerts")),
    *(
        AUTOSCALE + m
        for m in (
            "current_instances",
            "target_instances",
            "current_cpu_utilization",
            "target_cpu_utilization",
            "current_memory_utilization",
            "target_memory_utilization",
            "scale_up",
            "scale_down",
        )
    ),
)
# Metrics measured in percent: their value is 0..100.
PERCENT_TYPES = frozenset(
    t for t in TYPES if t.endswith(("_percent", "/cpu", "utilization_alerts", "cpu_alerts", "_utilization"))
)
FIELDS = ("type", "description", "compare", "value", "window", "entities", "tags", "alerts", "enabled")


def state_of(policy):
    """The managed fields of ``policy``, in the form used for comparing; {} when there is none."""
    if not policy:
        return {}
    out = dict((k, policy.get(k)) for k in FIELDS)
    out["value"] = float(policy["value"]) if policy.get("value") is not None else None
    out["entities"] = normalize_set(str(e) for e in policy.get("entities") or [])
    out["tags"] = normalize_set(policy.get("tags"))
    out["alerts"] = recipients.canonical(policy.get("alerts"))
    return out


def masked_state(state, known=None):
    if not state:
        return state
    return dict(state, alerts=recipients.masked(state["alerts"], known))


class AlertPolicyManager(ResourceManager):
    result_key = "policy"
    kind = "monitoring alert policy"
    delete_operation = "monitoring.delete_alert_policy"
    desired_options = ("type", "compare", "value", "window", "entities", "tags", "alerts", "enabled")

    def __init__(self, do):
        super().__init__(do)
        # The description is the policy's human key: the base's guard, plan and messages read it as its name.
        self.params = dict(do.params, name=do.params["description"])

    def resource_id(self, current):
        return current["uuid"]

    def find(self):
        policies = self.api.list("monitoring.list_alert_policy", "policies")
        return self.named(policies, self.params["description"], "alert policy description", lambda p: p["description"])

    def validate(self, current):
        p = self.params
        if current is None:
            missing = [o for o in ("type", "compare", "value", "window", "alerts") if p[o] is None]
            if missing:
                raise InvalidMonitoring(
                    "%s: required to create alert policy %r" % (", ".join(missing), p["description"])
                )
        if not p["description"].strip():
            raise InvalidMonitoring("description: an alert policy needs a description (it identifies the policy)")
        kind = p["type"] or current["type"]
        if kind not in TYPES:
            families = sorted(set(t.rsplit("/", 1)[0] + "/..." for t in TYPES))
            raise InvalidMonitoring(
                "type: %r is not an alert policy type (DigitalOcean's: %s)" % (kind, ", ".join(families))
            )
        value = p["value"] if p["value"] is not None else current["value"]
        if kind in PERCENT_TYPES and not 0 <= value <= 100:
            raise InvalidMonitoring("value: %g is not a percentage (0-100), as %s is" % (value, kind))
        if value < 0:
            raise InvalidMonitoring("value: %g is negative" % value)
        if kind.startswith(DROPLET):
            for i, entity in enumerate(p["entities"] or []):
                if not str(entity).isdigit():
                    raise InvalidMonitoring("entities[%d]: %r is not a Droplet id, as %s needs" % (i, entity, kind))
        if p["alerts"] is not None:
            recipients.validate(p["alerts"], "alerts")

    def run(self):
        current = self.find()
        p = self.params
        if p["state"] == "absent":
            return self.delete(current, masked_state(state_of(current)))
        try:
            self.validate(current)
        except InvalidMonitoring as exc:
            self.do.fail(str(exc))
        before = state_of(current)
        change = Change(before)
        if current is None:
            change.update(dict(description=p["description"], entities=[], tags=[], enabled=True))
        for key in ("type", "compare", "window", "enabled"):
            if p[key] is not None:
                change.set(key, p[key])
        if p["value"] is not None:
            change.set("value", float(p["value"]))
        if p["entities"] is not None:
            change.set("entities", normalize_set(str(e) for e in p["entities"]))
        if p["tags"] is not None:
            change.set("tags", normalize_set(p["tags"]))
        if p["alerts"] is not None:
            change.set("alerts", recipients.canonical(p["alerts"]))
        policy = current
        if change.changed and not self.do.check_mode:
            body = dict((k, change.after[k]) for k in FIELDS)
            if current is None:
                policy = self.api.create(
                    lambda: self.api.call("monitoring.create_alert_policy", body)["policy"], self.find
                )
            else:
                policy = self.api.call("monitoring.update_alert_policy", current["uuid"], body)["policy"]
        elif change.changed:
            policy = dict(current or {}, **change.after)
        known = recipients.urls_of((current or {}).get("alerts"))
        diff = dict(before=masked_state(change.before), after=masked_state(change.after, known))
        return dict(changed=change.changed, policy=view(policy), diff=diff)


def view(policy):
    """The policy for the result, its Slack webhook URLs masked."""
    if not policy:
        return {}
    return dict(policy, alerts=recipients.masked(policy.get("alerts")))


def main():
    do = DigitalOceanModule(
        dict(
            description=dict(type="str", required=True),
            type=dict(type="str"),
            compare=dict(type="str", choices=["GreaterThan", "LessThan"]),
            value=dict(type="float"),
            window=dict(type="str", choices=["5m", "10m", "30m", "1h"]),
            entities=dict(type="list", elements="str"),
            tags=dict(type="list", elements="str"),
            alerts=dict(type="dict", options=recipients.RECIPIENTS_ARGUMENT_SPEC),
            enabled=dict(type="bool"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(AlertPolicyManager)


if __name__ == "__main__":
    main()
