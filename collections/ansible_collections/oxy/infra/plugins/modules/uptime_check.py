#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: uptime_check
short_description: Manage DigitalOcean uptime checks and their alerts
version_added: 0.6.0
description:
  - Create, update or delete an uptime check, identified by its O(name), with its alerts.
  - An existing check with the name is adopted; several checks with the name are an error, naming their ids.
  - The check's alerts are managed as a whole when O(alerts) is set - adopted by name, missing ones created, changed
    ones updated in place - and, with O(purge_alerts=true) (the default, since the list is the whole truth, as code),
    alerts of the check that the list does not name are deleted.
  - A value edited in the console (a threshold, a recipient) is drift; the next run puts it back.
  - Slack webhook URLs are secrets; they never appear in the result or the diff
    (see O(alerts[].notifications.slack[].url)).
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  name:
    description: Name of the check.
    type: str
    required: true
  type:
    description:
      - What the check does - a C(GET) of an V(https) or V(http) URL, or a V(ping) of a host.
      - Required to create.
    type: str
    choices: [ping, http, https]
  target:
    description:
      - The URL to request (V(https://api.oxy.so)) for V(http) and V(https) checks, with the scheme of O(type); the
        host name or address for V(ping) checks. Required to create.
    type: str
  regions:
    description: The regions the check probes from, compared as a set. At least one; required to create.
    type: list
    elements: str
    choices: [us_east, us_west, eu_west, se_asia]
  enabled:
    description: Whether the check probes. A new check is enabled unless this says otherwise.
    type: bool
  alerts:
    description:
      - The check's alerts, each identified by its O(alerts[].name) within the check. Left out, the alerts are
        not managed.
      - With O(purge_alerts=true), V([]) deletes every alert of the check.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the alert, unique within the check.
        type: str
        required: true
      type:
        description:
          - V(down) and V(down_global) fire when the check fails for O(alerts[].period); V(latency) when the response
            time compares with O(alerts[].threshold) milliseconds; V(ssl_expiry) (V(https) checks only) when the
            certificate expires within O(alerts[].threshold) days.
        type: str
        required: true
        choices: [down, down_global, latency, ssl_expiry]
      threshold:
        description: Milliseconds (V(latency)) or days (V(ssl_expiry)); required by those two types. Not negative.
        type: int
      comparison:
        description: How a V(latency) alert compares the response time with the threshold; V(greater_than) when not set.
        type: str
        choices: [greater_than, less_than]
      period:
        description: How long the condition must hold before the alert fires.
        type: str
        default: 2m
        choices: [2m, 3m, 5m, 10m, 15m, 30m, 1h]
      notifications:
        description: Who is told; at least one email or Slack recipient.
        type: dict
        required: true
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
                  - The channel's incoming-webhook URL (V(https://hooks.slack.com/...)). A secret - it is never
                    shown; the result and the diff show it as C(********), and a URL that differs from the one the
                    alert has as C(******** (changed)).
                type: str
                required: true
  purge_alerts:
    description:
      - Whether O(alerts) is the complete list. V(true) deletes alerts of the check the list does not name; V(false)
        leaves them alone. Has no effect when O(alerts) is not set.
    type: bool
    default: true
  state:
    description:
      - Whether the check should exist. Deleting a check deletes its alerts.
      - V(absent) needs O(allow_delete=true). Uptime checks carry no tags, so a check is protected by listing its
        name in O(protected_names).
    type: str
    choices: [present, absent]
    default: present
notes:
  - A run with O(name) alone (no O(type), O(target), O(regions), O(enabled) or O(alerts)) writes nothing and reads as
    lookups; it returns the check.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Someone is told when api.oxy.so is down or its certificate is about to expire
  oxy.infra.uptime_check:
    name: api.oxy.so
    type: https
    target: https://api.oxy.so
    regions: [us_east, eu_west]
    alerts:
      - name: api.oxy.so down
        type: down
        period: 2m
        notifications:
          email: [ops@oxy.so]
          slack:
            - channel: "#oxy-alerts"
              url: "{{ oxy_monitoring_slack_webhook }}"
      - name: api.oxy.so certificate
        type: ssl_expiry
        threshold: 14
        notifications:
          email: [ops@oxy.so]
"""

RETURN = r"""
check:
  description:
    - The check as the API returns it, with its C(alerts) (as the API returns them, Slack webhook URLs masked);
      empty when absent. In check mode, what it would be.
  returned: always
  type: dict
  sample:
    id: 4de7ac8b-495b-4884-9a69-1050c6793cd6
    name: api.oxy.so
    type: https
    target: https://api.oxy.so
    regions: [us_east, eu_west]
    enabled: true
    alerts:
      - id: 5a4981aa-9653-4bd1-bef5-d6bff52042e4
        name: api.oxy.so down
        type: down
        period: 2m
        notifications: {email: [ops@oxy.so], slack: [{channel: "#oxy-alerts", url: "********"}]}
"""

from urllib.parse import urlsplit

from ansible_collections.oxy.infra.plugins.module_utils import _monitoring as recipients
from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._monitoring import InvalidMonitoring
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

CHECK_FIELDS = ("name", "type", "target", "regions", "enabled")
THRESHOLD_UNITS = dict(latency="milliseconds", ssl_expiry="days")


def canonical_alert(alert):
    """An alert in the form used for comparing (the API leaves out a threshold or comparison it has not got)."""
    return dict(
        name=alert.get("name"),
        type=alert.get("type"),
        threshold=alert.get("threshold"),
        comparison=alert.get("comparison") or None,
        period=alert.get("period"),
        notifications=recipients.canonical(alert.get("notifications")),
    )


def desired_alert(alert):
    """An alert of the task as the API will keep it: a latency alert compares with greater_than by default."""
    out = canonical_alert(alert)
    if out["comparison"] is None and out["type"] == "latency":
        out["comparison"] = "greater_than"
    return out


def state_of(check, alerts):
    """The managed fields of ``check`` and its ``alerts`` (sorted by name); {} when there is no check."""
    if not check:
        return {}
    out = dict((k, check.get(k)) for k in CHECK_FIELDS)
    out["regions"] = normalize_set(check.get("regions"))
    out["alerts"] = sorted((canonical_alert(a) for a in alerts or []), key=lambda a: a["name"])
    return out


def masked_state(state, known=None):
    """``state`` as a diff shows it: every Slack webhook URL masked."""
    if not state:
        return state
    out = dict(state)
    out["alerts"] = [
        dict(a, notifications=recipients.masked(a["notifications"], known)) for a in state.get("alerts") or []
    ]
    return out


def target_problem(kind, target):
    """Why ``target`` does not suit a check of type ``kind``; None when it does."""
    if kind == "ping":
        host = urlsplit(target).hostname if "://" in target else target
        if not host or "/" in host or " " in host:
            return "target: a ping check needs a host name or address, not %r" % target
        return None
    parts = urlsplit(target)
    if parts.scheme != kind or not parts.hostname:
        return "target: a %s check needs a %s:// URL, not %r" % (kind, kind, target)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "target: %r has an invalid port" % target
    return None


class UptimeCheckManager(ResourceManager):
    result_key = "check"
    kind = "uptime check"
    delete_operation = "uptime.delete_check"
    desired_options = ("type", "target", "regions", "enabled", "alerts")

    def find(self):
        return self.named(self.api.list("uptime.list_checks", "checks"), self.params["name"], "uptime check name")

    def alerts_of(self, check):
        return self.api.list("uptime.list_alerts", "alerts", check["id"]) if check else []

    def validate(self, current):
        p = self.params
        if current is None:
            missing = [o for o in ("type", "target", "regions") if p[o] is None]
            if missing:
                raise InvalidMonitoring("%s: required to create uptime check %r" % (", ".join(missing), p["name"]))
        if p["regions"] is not None and not p["regions"]:
            raise InvalidMonitoring("regions: at least one region is required")
        kind = p["type"] or (current or {}).get("type")
        target = p["target"] or (current or {}).get("target")
        problem = target_problem(kind, target)
        if problem:
            raise InvalidMonitoring(problem)
        seen = {}
        for i, alert in enumerate(p["alerts"] or []):
            where = "alerts[%d]" % i
            if not (alert["name"] or "").strip():
                raise InvalidMonitoring("%s.name: an alert needs a name" % where)
            if alert["name"] in seen:
                raise InvalidMonitoring(
                    "%s.name: %r is also alerts[%d]'s name; names identify alerts"
                    % (where, alert["name"], seen[alert["name"]])
                )
            seen[alert["name"]] = i
            if alert["threshold"] is not None and alert["threshold"] < 0:
                raise InvalidMonitoring("%s.threshold: %d is negative" % (where, alert["threshold"]))
            if alert["type"] in THRESHOLD_UNITS and alert["threshold"] is None:
                raise InvalidMonitoring(
                    "%s.threshold: a %s alert needs a threshold (%s)"
                    % (where, alert["type"], THRESHOLD_UNITS[alert["type"]])
                )
            if alert["type"] == "ssl_expiry" and kind != "https":
                raise InvalidMonitoring("%s.type: ssl_expiry needs an https check; this one is %s" % (where, kind))
            recipients.validate(alert["notifications"], "%s.notifications" % where)

    def desired_alerts(self, current_alerts):
        """The alerts the check should have, by name: the task's, and, without purge, the others it has."""
        want = dict((a["name"], desired_alert(a)) for a in self.params["alerts"])
        if not self.params["purge_alerts"]:
            for alert in current_alerts:
                want.setdefault(alert["name"], canonical_alert(alert))
        return [want[name] for name in sorted(want)]

    def run(self):
        current = self.find()
        alerts = self.alerts_of(current)
        for alert in alerts:  # several alerts of the check with one name: fail loudly
            self.named(alerts, alert["name"], "uptime alert name")
        if self.params["state"] == "absent":
            return self.delete(current, masked_state(state_of(current, alerts)))
        try:
            self.validate(current)
        except InvalidMonitoring as exc:
            self.do.fail(str(exc))
        p = self.params
        before = state_of(current, alerts)
        change = Change(before)
        if current is None:
            change.update(dict(name=p["name"], enabled=True, alerts=[]))
        for key in ("type", "target", "enabled"):
            if p[key] is not None:
                change.set(key, p[key])
        if p["regions"] is not None:
            change.set("regions", normalize_set(p["regions"]))
        if p["alerts"] is not None:
            change.set("alerts", self.desired_alerts(alerts))
        check = current
        result_alerts = alerts
        if change.changed and not self.do.check_mode:
            check, result_alerts = self.apply(current, alerts, before, change.after)
        elif change.changed:
            check = dict(current or {}, **dict((k, change.after[k]) for k in CHECK_FIELDS))
            by_name = dict((a["name"], a) for a in alerts)
            result_alerts = [dict(by_name.get(a["name"], {}), **a) for a in change.after["alerts"]]
        known = set()
        for alert in alerts:
            known |= recipients.urls_of(alert.get("notifications"))
        diff = dict(before=masked_state(change.before), after=masked_state(change.after, known))
        return dict(changed=change.changed, check=self.view(check, result_alerts), diff=diff)

    def apply(self, current, alerts, before, after):
        """Write the change: the check's fields, then each alert (created, updated or deleted); the result."""
        body = dict((k, after[k]) for k in CHECK_FIELDS)
        if current is None:
            check = self.api.create(lambda: self.api.call("uptime.create_check", body)["check"], self.find)
        elif any(before.get(k) != after.get(k) for k in CHECK_FIELDS):
            check = self.api.call("uptime.update_check", current["id"], body)["check"]
        else:
            check = current
        have = dict((a["name"], a) for a in (alerts if current is not None else self.alerts_of(check)))
        wanted = dict((a["name"], a) for a in after["alerts"])
        # The check's alerts afterwards, from the API's own answers to these writes (no read back): in the order
        # the API lists them, the new ones last.
        result = [a for a in (alerts if current is not None else have.values()) if a["name"] in wanted]
        for name in sorted(wanted):
            alert = self.alert_body(wanted[name])
            if name not in have:
                result.append(
                    self.api.create(
                        lambda alert=alert: self.api.call("uptime.create_alert", check["id"], alert)["alert"],
                        lambda name=name: self.named(self.alerts_of(check), name, "uptime alert name"),
                    )
                )
            elif canonical_alert(have[name]) != wanted[name]:
                updated = self.api.call("uptime.update_alert", check["id"], have[name]["id"], alert)["alert"]
                result = [updated if a["name"] == name else a for a in result]
        for name in sorted(set(have) - set(wanted)):
            self.api.call("uptime.delete_alert", check["id"], have[name]["id"], missing_ok=True)
        return check, result

    @staticmethod
    def alert_body(alert):
        body = dict(name=alert["name"], type=alert["type"], period=alert["period"])
        for key in ("threshold", "comparison"):
            if alert[key] is not None:
                body[key] = alert[key]
        body["notifications"] = dict(
            email=alert["notifications"]["email"], slack=[dict(s) for s in alert["notifications"]["slack"]]
        )
        return body

    @staticmethod
    def view(check, alerts):
        """The check for the result, with its alerts; Slack webhook URLs masked."""
        if not check:
            return {}
        out = dict(check)
        out["alerts"] = [dict(a, notifications=recipients.masked(a.get("notifications"))) for a in alerts]
        return out


def main():
    alert = dict(
        name=dict(type="str", required=True),
        type=dict(type="str", required=True, choices=["down", "down_global", "latency", "ssl_expiry"]),
        threshold=dict(type="int"),
        comparison=dict(type="str", choices=["greater_than", "less_than"]),
        period=dict(type="str", default="2m", choices=["2m", "3m", "5m", "10m", "15m", "30m", "1h"]),
        notifications=dict(type="dict", required=True, options=recipients.RECIPIENTS_ARGUMENT_SPEC),
    )
    do = DigitalOceanModule(
        dict(
            name=dict(type="str", required=True),
            type=dict(type="str", choices=["ping", "http", "https"]),
            target=dict(type="str"),
            regions=dict(type="list", elements="str", choices=["us_east", "us_west", "eu_west", "se_asia"]),
            enabled=dict(type="bool"),
            alerts=dict(type="list", elements="dict", options=alert),
            purge_alerts=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(UptimeCheckManager)


if __name__ == "__main__":
    main()
