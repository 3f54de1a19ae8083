# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who is told: the email and Slack recipients of uptime alerts and alert policies. Private to this collection.

Both ``uptime_check`` (an alert's ``notifications``) and ``monitoring_alert_policy`` (its ``alerts``) take
the same recipients: ``email`` addresses and ``slack`` channels with their incoming-webhook URL. A webhook
URL is a secret (whoever holds it posts to the channel): its argument spec says ``no_log``, a refusal never
quotes it, and what a module returns (its resource, its diff) carries it masked (:func:`masked`).
"""

from __future__ import annotations

import copy
import re

MASK = "********"
CHANGED_MASK = "******** (changed)"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

RECIPIENTS_ARGUMENT_SPEC = dict(
    email=dict(type="list", elements="str"),
    slack=dict(
        type="list",
        elements="dict",
        options=dict(
            channel=dict(type="str", required=True),
            url=dict(type="str", required=True, no_log=True),
        ),
    ),
)


class InvalidMonitoring(ValueError):
    """Bad input, found before any write; the message names the option (``alerts[1].threshold``)."""


def canonical(recipients):
    """Recipients in the form used for comparing: emails as a sorted set, Slack targets sorted, no duplicates."""
    recipients = recipients or {}
    slack = dict(
        ((s.get("channel"), s.get("url")), dict(channel=s.get("channel"), url=s.get("url")))
        for s in recipients.get("slack") or []
    )
    return dict(
        email=sorted(set(recipients.get("email") or [])),
        slack=[slack[k] for k in sorted(slack, key=lambda k: (str(k[0]), str(k[1])))],
    )


def validate(recipients, where):
    """Refuse recipients DigitalOcean would refuse, naming ``where`` (never quoting a webhook URL)."""
    recipients = recipients or {}
    for i, email in enumerate(recipients.get("email") or []):
        if not EMAIL.match(email or ""):
            raise InvalidMonitoring("%s.email[%d]: %r is not an email address" % (where, i, email))
    for i, hook in enumerate(recipients.get("slack") or []):
        if not (hook.get("channel") or "").strip():
            raise InvalidMonitoring("%s.slack[%d].channel: a Slack channel is required" % (where, i))
        if not (hook.get("url") or "").startswith("https://"):
            raise InvalidMonitoring(
                "%s.slack[%d].url: an https:// incoming-webhook URL is required (the value is not shown)" % (where, i)
            )
    if not (recipients.get("email") or recipients.get("slack")):
        raise InvalidMonitoring("%s: at least one email or slack recipient is required" % where)


def urls_of(recipients):
    return set(s.get("url") for s in (recipients or {}).get("slack") or [])


def masked(recipients, known=None):
    """``recipients`` with every webhook URL masked.

    With ``known`` (the URLs the resource has now), a URL that is not one of them shows as
    ``******** (changed)``, so a diff tells a new webhook from the same one without showing either.
    """
    if not recipients:
        return recipients
    out = copy.deepcopy(recipients)
    for hook in out.get("slack") or []:
        if hook.get("url") is not None:
            hook["url"] = CHANGED_MASK if known is not None and hook["url"] not in known else MASK
    return out
