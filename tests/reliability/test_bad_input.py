"""Broken environment definitions are refused before any write, each with a message naming the field.

Every definition below is the stock one (inventory/production/group_vars/all/oxy.yml with the
sandbox's account.yml) with one thing broken, given as extra variables as an operator would with
`-e`. Running site.yml once per definition would take minutes, so all of them run in ONE
ansible-playbook process: one play per definition, each importing the very tasks site.yml starts
with (playbooks/tasks/environment.yml), its play variables overriding the inventory's as `-e` does,
and a rescue that records the failure and lets the next play run. A handful of definitions then
go through the real `site.yml` (whole play, no tags, also in check mode) to prove that path too.
The sandbox's request log must show reads only.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest
import yaml
from ansible_collections.oxy.infra.plugins.plugin_utils._read_cache import LIFETIME

from tests.fixtures.playbooks import ansible_playbook
from tests.playbooks.test_site import run_site

ROOT = Path(__file__).resolve().parents[2]
ANYWHERE = ["0.0.0.0/0", "::/0"]
VALIDATION_TASKS = ROOT / "playbooks/tasks/environment.yml"
STOCK = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
STOCK_TAGS = yaml.safe_load((ROOT / "inventory/sandbox/group_vars/all/account.yml").read_text())["oxy_app_image_tags"]
DROP = object()


def changed(key, **changes):
    """``{key: the stock value with changes}``; a DROP value removes that field."""
    value = copy.deepcopy(STOCK[key])
    for field, new in changes.items():
        if new is DROP:
            value.pop(field)
        else:
            value[field] = new
    return {key: value}


def app_changed(index, **changes):
    apps = copy.deepcopy(STOCK["oxy_apps"])
    for field, new in changes.items():
        if new is DROP:
            apps[index].pop(field)
        else:
            apps[index][field] = new
    return {"oxy_apps": apps}


def apps_plus(**extra):
    """The stock apps and one more: the first app's fields, with ``extra``."""
    apps = copy.deepcopy(STOCK["oxy_apps"])
    new = {**apps[0], **extra}
    if "domain" in new and "domain" not in extra:
        new["domain"] = "new.oxy.so"  # domains are unique too
    return {"oxy_apps": [*apps, new]}


def rule_changed(direction, index, **changes):
    firewall = copy.deepcopy(STOCK["oxy_droplet_firewall"])
    firewall[direction][index].update(changes)
    return {"oxy_droplet_firewall": firewall}


def rule_added(direction, *rules):
    firewall = copy.deepcopy(STOCK["oxy_droplet_firewall"])
    firewall[direction].extend(rules)
    return {"oxy_droplet_firewall": firewall}


def tags(**changes):
    value = dict(STOCK_TAGS)
    for name, tag in changes.items():
        if tag is DROP:
            value.pop(name.replace("_", "-"))
        else:
            value[name.replace("_", "-")] = tag
    return {"oxy_app_image_tags": value}


def stock_changed(variable, path, value):
    """The stock ``variable`` (a dict) with the field at ``path`` (keys, indexes) set to ``value`` (DROP removes it)."""
    changed = copy.deepcopy(STOCK[variable])
    *parents, last = path
    node = changed
    for key in parents:
        node = node[key]
    if value is DROP:
        node.pop(last)
    else:
        node[last] = value
    return {variable: changed}


def monitoring_changed(path, value):
    return stock_changed("oxy_monitoring", path, value)


def mail_changed(path, value):
    return stock_changed("oxy_mail", path, value)


SANDBOX_RELAY = yaml.safe_load((ROOT / "inventory/sandbox/group_vars/all/account.yml").read_text())["oxy_mail_relay"]


def relay_changed(**changes):
    return {"oxy_mail_relay": {k: v for k, v in {**SANDBOX_RELAY, **changes}.items() if v is not DROP}}


def valkey_without_eviction_policy():
    valkey = copy.deepcopy(STOCK["oxy_valkey"])
    valkey["evicton_policy"] = valkey.pop("eviction_policy")
    return {"oxy_valkey": valkey}


SPEC = "Validation of arguments failed"  # ansible.builtin.validate_argument_spec against environment.spec.yml
CHECKS = "The environment definition is refused"  # oxy.infra.environment_problems

# id: (extra variables, [what the message must say]); each message names the field.
CASES = {
    # SSH sources, parsed as networks
    "ssh-world": ({"oxy_ssh_allowed_cidrs": ["0.0.0.0/0"]}, ["oxy_ssh_allowed_cidrs[0]: 0.0.0.0/0 covers all"]),
    "ssh-two-halves": (
        {"oxy_ssh_allowed_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
        ["oxy_ssh_allowed_cidrs[0]: 0.0.0.0/1 covers 1/2", "together, 0.0.0.0/1, 128.0.0.0/1 cover every IPv4"],
    ),
    "ssh-world-v6-spelling": ({"oxy_ssh_allowed_cidrs": ["0::0/0"]}, ["oxy_ssh_allowed_cidrs[0]: 0::0/0 covers all"]),
    "ssh-ipv4-mapped-world": (
        {"oxy_ssh_allowed_cidrs": ["203.0.113.7/32", "::ffff:0:0/96"]},
        ["oxy_ssh_allowed_cidrs[1]: ::ffff:0:0/96 stands for 0.0.0.0/0"],
    ),
    "ssh-too-wide": ({"oxy_ssh_allowed_cidrs": ["10.0.0.0/8"]}, ["oxy_ssh_allowed_cidrs[0]: 10.0.0.0/8 covers 1/256"]),
    "ssh-empty": ({"oxy_ssh_allowed_cidrs": []}, ["oxy_ssh_allowed_cidrs: is empty"]),
    "ssh-not-a-cidr": (
        {"oxy_ssh_allowed_cidrs": ["203.0.113.7/33"]},
        ["oxy_ssh_allowed_cidrs[0]: '203.0.113.7/33' is not an IPv4 or IPv6 address or CIDR"],
    ),
    "ssh-share-out-of-range": ({"oxy_max_source_share": 2}, ["oxy_max_source_share: 2 is outside (0, 1)"]),
    "ssh-open-by-another-rule": (
        rule_added("inbound_rules", {"protocol": "tcp", "ports": "1-1024", "sources": {"addresses": ["0.0.0.0/0"]}}),
        ["oxy_droplet_firewall.inbound_rules[6].sources.addresses[0]: 0.0.0.0/0 covers all"],
    ),
    # firewall rules
    "port-70000": (
        rule_changed("inbound_rules", 1, ports="70000"),
        ["oxy_droplet_firewall.inbound_rules[1].ports: '70000' is outside 1-65535"],
    ),
    "port-range-reversed": (
        rule_changed("inbound_rules", 2, ports="9000-8000"),
        ["oxy_droplet_firewall.inbound_rules[2].ports: '9000-8000' is outside 1-65535 or reversed"],
    ),
    "icmp-with-ports": (
        rule_changed("outbound_rules", 2, ports="all"),
        ["oxy_droplet_firewall.outbound_rules[2].ports: 'all': icmp has no ports"],
    ),
    "protocol-typo": (
        rule_changed("inbound_rules", 0, protocol="tpc"),
        [SPEC, "protocol must be one of: tcp, udp, icmp, got: tpc found in oxy_droplet_firewall -> inbound_rules"],
    ),
    "web-source-not-a-cidr": (
        rule_changed("inbound_rules", 1, sources={"addresses": ["0.0.0.0/0", "everyone"]}),
        ["oxy_droplet_firewall.inbound_rules[1].sources.addresses[1]: 'everyone' is not"],
    ),
    # what faces the world: every port open to every address is on oxy_droplet_firewall.world_open_ports
    "world-open-tcp-23-65535": (
        rule_added("inbound_rules", {"protocol": "tcp", "ports": "23-65535", "sources": {"addresses": ANYWHERE}}),
        [
            "oxy_droplet_firewall.inbound_rules[6]: tcp 23-65535 from 0.0.0.0/0, ::/0 is open to every IPv4 and "
            "IPv6 address, and ports 23-24, 26-79, 81-442, 444-586, 588-65535 are not on "
            "oxy_droplet_firewall.world_open_ports.tcp (25, 80, 443, 587)"
        ],
    ),
    "world-open-udp-v6": (
        rule_added("inbound_rules", {"protocol": "udp", "ports": "1-65535", "sources": {"addresses": ["::/0"]}}),
        [
            "oxy_droplet_firewall.inbound_rules[6]: udp 1-65535 from ::/0 is open to every IPv4 and IPv6 address, "
            "and ports 1-65535 are not on oxy_droplet_firewall.world_open_ports.udp (empty: no udp port)"
        ],
    ),
    "world-open-split-over-rules": (
        rule_added(
            "inbound_rules",
            {"protocol": "tcp", "ports": "3306", "sources": {"addresses": ["0.0.0.0/1"]}},
            {"protocol": "tcp", "ports": "3306", "sources": {"addresses": ["128.0.0.0/1"]}},
        ),
        [
            "oxy_droplet_firewall.inbound_rules: together, [6] tcp 3306 from 0.0.0.0/1 and [7] tcp 3306 from "
            "128.0.0.0/1 are open to every IPv4 address, and port 3306 is not on"
        ],
    ),
    "world-open-list-with-ssh": (
        changed("oxy_droplet_firewall", world_open_ports={"tcp": [80, 443, 25, 587, 22], "udp": []}),
        ["oxy_droplet_firewall.world_open_ports.tcp[4]: 22 is SSH, which is never open to the world"],
    ),
    "world-open-list-missing": (
        changed("oxy_droplet_firewall", world_open_ports=DROP),
        [SPEC, "missing required arguments: world_open_ports found in oxy_droplet_firewall"],
    ),
    # database clusters
    "eviction-policy": (
        changed("oxy_valkey", eviction_policy="volatile-lru"),
        [SPEC, "eviction_policy must be one of: noeviction, allkeys_lru", "got: volatile-lru found in oxy_valkey"],
    ),
    "eviction-policy-key-typo": (valkey_without_eviction_policy(), [SPEC, "oxy_valkey.evicton_policy"]),
    "mongodb-engine": (changed("oxy_mongodb", engine="mongo"), [SPEC, "got: mongo found in oxy_mongodb"]),
    "mongodb-nodes-not-a-number": (
        changed("oxy_mongodb", num_nodes="three"),
        [SPEC, "argument 'num_nodes' is of type str found in 'oxy_mongodb'"],
    ),
    "mongodb-version": (
        changed("oxy_mongodb", version="5.0"),
        ["oxy_mongodb.version: '5.0' is not a mongodb version the account offers; allowed: 6.0, 7.0, 8.0"],
    ),
    "mongodb-layout": (
        changed("oxy_mongodb", num_nodes=2),
        ["oxy_mongodb.num_nodes: 2 nodes is not a mongodb layout of the account; allowed: 1, 3"],
    ),
    "valkey-size-for-its-nodes": (
        changed("oxy_valkey", num_nodes=2, size="db-s-1vcpu-1gb"),
        ["oxy_valkey.size: 'db-s-1vcpu-1gb' is not offered for 2 nodes of valkey"],
    ),
    "cluster-names-collide": (
        changed("oxy_valkey", name="db-oxy"),
        ["oxy_valkey.name: name 'db-oxy' is also the name of oxy_mongodb"],
    ),
    "cluster-name-invalid": (
        changed("oxy_mongodb", name="DB_Oxy"),
        ["oxy_mongodb.name: 'DB_Oxy' is not a valid cluster name"],
    ),
    # region, droplet, VPC, project
    "region-unknown": ({"oxy_region": "ams9"}, ["oxy_region: 'ams9' is not a region of the account; allowed: ams2"]),
    "droplet-size-unknown": (
        changed("oxy_droplet", size="s-2vcpu-5gb"),
        ["oxy_droplet.size: 's-2vcpu-5gb' is not a droplet size the account offers in ams3"],
    ),
    "droplet-name-invalid": (
        changed("oxy_droplet", name="oxy api backend"),
        ["oxy_droplet.name: 'oxy api backend' is not a valid droplet name"],
    ),
    "droplet-monitoring-not-a-bool": (
        changed("oxy_droplet", monitoring="sometimes"),
        [SPEC, "argument 'monitoring' is of type str found in 'oxy_droplet'"],
    ),
    # droplet backups: DigitalOcean's backup_policy
    "backups-weekday-on-daily": (
        changed("oxy_droplet", backups={"enabled": True, "plan": "daily", "weekday": "SUN", "hour": 0}),
        ["oxy_droplet.backups.weekday: SUN is set, but a daily plan has no weekday"],
    ),
    "backups-hour-not-a-window": (
        changed("oxy_droplet", backups={"enabled": True, "plan": "weekly", "weekday": "SUN", "hour": 2}),
        ["oxy_droplet.backups.hour: 2 is not the start of a backup window; allowed (UTC): 0, 4, 8, 12, 16, 20"],
    ),
    "backups-plan-unknown": (
        changed("oxy_droplet", backups={"enabled": True, "plan": "hourly"}),
        ["oxy_droplet.backups.plan: 'hourly' is not a backup plan; allowed: daily, weekly"],
    ),
    "backups-weekday-unknown": (
        changed("oxy_droplet", backups={"enabled": True, "plan": "weekly", "weekday": "Sunday"}),
        ["oxy_droplet.backups.weekday: 'Sunday' is not a weekday; allowed: SUN, MON"],
    ),
    "backups-policy-while-off": (
        changed("oxy_droplet", backups={"enabled": False, "plan": "weekly", "weekday": "SUN"}),
        ["oxy_droplet.backups: plan, weekday set while enabled is false"],
    ),
    "backups-without-enabled": (
        changed("oxy_droplet", backups={"plan": "weekly", "weekday": "SUN"}),
        [SPEC, "missing required arguments: enabled found in oxy_droplet -> backups"],
    ),
    # snapshots before a resize, and how many are kept
    "snapshots-keep-zero": (
        changed("oxy_droplet", snapshots={"before_resize": True, "keep": 0}),
        ["oxy_droplet.snapshots.keep: 0 is not a number of snapshots to keep; allowed: a whole number, at least 1"],
    ),
    "snapshots-keep-not-a-number": (
        changed("oxy_droplet", snapshots={"before_resize": True, "keep": "three"}),
        ["oxy_droplet.snapshots.keep: 'three' is not a number of snapshots to keep"],
    ),
    "snapshots-without-before-resize": (
        changed("oxy_droplet", snapshots={"keep": 3}),
        [SPEC, "missing required arguments: before_resize found in oxy_droplet -> snapshots"],
    ),
    "snapshots-unknown-key": (
        changed("oxy_droplet", snapshots={"before_resize": True, "keep": 3, "max_age": "30d"}),
        [SPEC, "max_age"],
    ),
    "vpc-without-name": (changed("oxy_vpc", name=DROP), [SPEC, "missing required arguments: name found in oxy_vpc"]),
    "project-environment": (
        changed("oxy_project", environment="Prod"),
        [SPEC, "environment must be one of: Development, Staging, Production, got: Prod found in oxy_project"],
    ),
    "project-name-too-long": (
        changed("oxy_project", name="O" * 176),
        ["oxy_project.name: 176 characters; allowed: text of 1 to 175 characters"],
    ),
    # NODE_ENV and database names
    "node-env-typo": (
        {"oxy_node_env": "prodution"},
        ["oxy_node_env: 'prodution' is not a key of oxy_env_suffixes; allowed: development, production"],
    ),
    "env-suffix-empty": (
        {"oxy_env_suffixes": {"production": "", "development": "dev"}},
        ["oxy_env_suffixes.production: '' must be a database name suffix"],
    ),
    "database-shared-legacy": (
        app_changed(2, database="mention-production"),
        ["oxy_apps[2].database: database 'mention-production' is also the database of oxy_apps[1]"],
    ),
    "database-shared-computed": (
        app_changed(3, database="oxy-prod"),
        ["oxy_apps[3].database: database 'oxy-prod' is also the database of oxy_apps[0] (oxy-api)"],
    ),
    # apps
    "app-name-twice": (
        apps_plus(app="oxy2"),
        ["oxy_apps[5].name: name 'oxy-api' is also the name of oxy_apps[0]"],
    ),
    "app-user-twice": (
        apps_plus(name="oxy-web", database="oxy-web"),
        ["oxy_apps[5].app: app 'oxy' is also the app of oxy_apps[0]", "oxy_app_image_tags.oxy-web: missing"],
    ),
    "app-domain-twice": (
        app_changed(3, domain="mention.earth"),
        ["oxy_apps[3].domain: domain 'mention.earth' is also the domain of oxy_apps[1] (mention-production)"],
    ),
    "app-region-unknown": (app_changed(0, region="amsterdam"), [SPEC, "got: amsterdam found in oxy_apps"]),
    "app-in-vpc-of-another-region": (
        app_changed(4, in_vpc=True),
        ["oxy_apps[4].in_vpc: allo-app runs in nyc and cannot join the VPC in ams3"],
    ),
    "app-without-app": (app_changed(1, app=DROP), [SPEC, "missing required arguments: app found in oxy_apps"]),
    "app-domain-outside-the-zones": (
        app_changed(0, domain="login.google.com"),
        [
            "oxy_apps[0].domain: 'login.google.com' is not under a DNS zone this definition holds "
            "(oxy_dns.domain: oxy.so)"
        ],
    ),
    "app-domain-external-in-the-zone": (
        app_changed(4, external=True),
        ["oxy_apps[4].external: 'allo.oxy.so' is under oxy.so, a zone this definition holds"],
    ),
    "app-domain-of-the-droplet": (
        app_changed(0, domain="api.oxy.so"),
        ["oxy_apps[0].domain: 'api.oxy.so' is the droplet's own name (oxy_dns.api)"],
    ),
    "app-user-doadmin": (
        app_changed(3, app="doadmin"),
        ["oxy_apps[3].app: 'doadmin' is a reserved MongoDB user name", "reserved: __system, admin, config, doadmin"],
    ),
    "app-database-admin": (
        app_changed(1, database="admin"),
        ["oxy_apps[1].database: 'admin' is a database MongoDB keeps for itself"],
    ),
    "app-unknown-key": (app_changed(1, databse="mention-production"), [SPEC, "oxy_apps.databse"]),
    "apps-not-a-list": ({"oxy_apps": {"name": "oxy-api"}}, [SPEC, "'oxy_apps' is of type"]),
    # names are matched whole: Python's "$" also matches before a final newline
    "name-trailing-newline": (
        changed("oxy_mongodb", name="db-oxy\n"),
        ["oxy_mongodb.name: 'db-oxy", "is not a valid cluster name"],
    ),
    "image-tag-trailing-newline": (
        tags(oxy_api="2026.11.1\n"),
        ["oxy_app_image_tags.oxy-api: '2026.11.1", "is not a valid image tag name"],
    ),
    # DNS: the zone, its TTL, SPF and DMARC
    "dns-ttl-negative": (
        changed("oxy_dns", ttl=-1),
        ["oxy_dns.ttl: -1 is outside what DigitalOcean DNS accepts; allowed: 30 to 86400 seconds"],
    ),
    "dns-ttl-not-a-number": (
        changed("oxy_dns", ttl="soon"),
        [SPEC, "argument 'ttl' is of type str found in 'oxy_dns'"],
    ),
    "dns-unknown-key": (changed("oxy_dns", tll=300), [SPEC, "oxy_dns.tll"]),
    "dns-record-name": (changed("oxy_dns", api="API"), ["oxy_dns.api: 'API' is not a valid record name"]),
    "spf-plus-all": (
        changed("oxy_dns", spf="v=spf1 mx +all"),
        ["oxy_dns.spf: '+all' lets every server on the Internet send mail as the domain; allowed: -all"],
    ),
    "spf-neutral": (changed("oxy_dns", spf="v=spf1 mx ?all"), ["oxy_dns.spf: '?all' is neutral about every other"]),
    "spf-world-in-ip4": (
        changed("oxy_dns", spf="v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all"),
        ["oxy_dns.spf: 0.0.0.0/1, 128.0.0.0/1 together pass every IPv4 address, as +all does"],
    ),
    "dmarc-policy": (
        changed("oxy_dns", dmarc="v=DMARC1; p=maybe"),
        ["oxy_dns.dmarc: p=maybe is not allowed; allowed: none, quarantine, reject"],
    ),
    # image tags
    "image-tag-missing": (tags(allo_app=DROP), ["oxy_app_image_tags.allo-app: missing", "would deploy 'latest'"]),
    "image-tag-latest": (tags(oxy_api="latest"), ["oxy_app_image_tags.oxy-api: 'latest' moves"]),
    "image-tag-for-no-app": (tags(oxy_apii="2026.11.1"), ["oxy_app_image_tags.oxy-apii: no app of oxy_apps is named"]),
    # monitoring: who is told, and about what
    "monitoring-unknown-metric": (
        monitoring_changed(("droplet_alerts", 0, "metric"), "cpu_percent"),
        ["oxy_monitoring.droplet_alerts[0].metric: 'cpu_percent' is not a metric of v1/insights/droplet/<metric>"],
    ),
    "monitoring-database-metric-on-droplet": (
        monitoring_changed(("droplet_alerts", 3, "metric"), "cpu_alerts"),
        ["oxy_monitoring.droplet_alerts[3].metric: 'cpu_alerts' is not a metric of v1/insights/droplet/<metric>"],
    ),
    "monitoring-bad-window": (
        monitoring_changed(("droplet_alerts", 1, "window"), "7m"),
        ["oxy_monitoring.droplet_alerts[1].window: '7m' is not a window of alert policies; allowed: 5m, 10m, 30m, 1h"],
    ),
    "monitoring-bad-compare": (
        monitoring_changed(("database_alerts", 0, "compare"), "Above"),
        ["oxy_monitoring.database_alerts[0].compare: 'Above' is not a comparison; allowed: GreaterThan, LessThan"],
    ),
    "monitoring-percent-above-100": (
        monitoring_changed(("database_alerts", 2, "value"), 150),
        ["oxy_monitoring.database_alerts[2].value: 150 is outside what disk_utilization_alerts takes"],
    ),
    "monitoring-metric-twice": (
        monitoring_changed(("droplet_alerts", 1, "metric"), "cpu"),
        ["oxy_monitoring.droplet_alerts[1].metric: cpu is also oxy_monitoring.droplet_alerts[0]"],
    ),
    "monitoring-nobody-told": (
        {
            "oxy_monitoring": {
                **monitoring_changed(("slack_channel",), DROP)["oxy_monitoring"],
                "emails": [],
            }
        },
        ["oxy_monitoring.emails: is empty and there is no slack_channel: nobody would be told"],
    ),
    "monitoring-not-an-email": (
        monitoring_changed(("emails", 0), "ops-at-oxy.so"),
        ["oxy_monitoring.emails[0]: 'ops-at-oxy.so' is not an email address"],
    ),
    "monitoring-slack-without-webhook": (
        {"oxy_monitoring_slack_webhook": ""},
        ["oxy_monitoring_slack_webhook: oxy_monitoring.slack_channel #oxy-alerts has no incoming webhook"],
    ),
    "monitoring-webhook-not-https": (
        {"oxy_monitoring_slack_webhook": "http://hooks.slack.com/services/T0/B0/plain"},
        ["oxy_monitoring_slack_webhook: the webhook of #oxy-alerts is not an https:// URL (the value is not shown)"],
    ),
    "monitoring-bad-region": (
        monitoring_changed(("uptime", "regions", 1), "ams3"),
        ["oxy_monitoring.uptime.regions[1]: 'ams3' is not a region of uptime checks; allowed: us_east, us_west"],
    ),
    "monitoring-no-region": (
        monitoring_changed(("uptime", "regions"), []),
        ["oxy_monitoring.uptime.regions: is empty"],
    ),
    "monitoring-bad-check-alert-type": (
        monitoring_changed(("uptime", "ping_alerts", 0, "type"), "ssl_expiry"),
        ["oxy_monitoring.uptime.ping_alerts[0].type: 'ssl_expiry' is not an alert of this check"],
    ),
    "monitoring-ssl-expiry-without-threshold": (
        monitoring_changed(("uptime", "https_alerts", 1, "threshold"), DROP),
        ["oxy_monitoring.uptime.https_alerts[1].threshold: a ssl_expiry alert needs a threshold (days)"],
    ),
    "monitoring-bad-period": (
        monitoring_changed(("uptime", "https_alerts", 0, "period"), "4m"),
        ["oxy_monitoring.uptime.https_alerts[0].period: '4m' is not a period of uptime alerts"],
    ),
    "monitoring-unknown-app-alert": (
        monitoring_changed(("app_alerts", 1), "DOMAIN_BROKEN"),
        ["oxy_monitoring.app_alerts[1]: 'DOMAIN_BROKEN' is not an App Platform alert rule of an app"],
    ),
    "monitoring-unknown-key": (
        monitoring_changed(("droplet_alerts", 0, "treshold"), 5),
        [SPEC, "treshold"],
    ),
    # mail: mailboxes, aliases, senders and their passwords, the relay, DKIM and DMARC
    "mail-no-postmaster": (
        mail_changed(("mailboxes",), ["abuse", "ops", "dmarc"]),
        ["oxy_mail.mailboxes: has no postmaster; RFC 5321 requires postmaster@ to take mail"],
    ),
    "mail-bad-local-part": (
        mail_changed(("mailboxes", 1), "Abuse Team"),
        ["oxy_mail.mailboxes[1]: 'Abuse Team' is not a local part"],
    ),
    "mail-alias-to-nobody": (
        mail_changed(("aliases", "hostmaster"), ["nobody@oxy.so"]),
        ["oxy_mail.aliases.hostmaster[0]: 'nobody@oxy.so' is an address of oxy.so that is neither a mailbox nor an"],
    ),
    "mail-alias-is-a-mailbox": (
        mail_changed(("aliases", "abuse"), ["ops@oxy.so"]),
        ["oxy_mail.aliases.abuse: 'abuse' is also a mailbox (oxy_mail.mailboxes)"],
    ),
    "mail-sender-foreign-address": (
        mail_changed(("senders", 0, "addresses", 0), "no-reply@example.com"),
        ["oxy_mail.senders[0].addresses[0]: 'no-reply@example.com' is not an address of oxy.so"],
    ),
    "mail-api-sender-unknown": (
        mail_changed(("api_sender",), "oxy-app"),
        ["oxy_mail.api_sender: 'oxy-app' is not a sender; allowed: a username of oxy_mail.senders (oxy-api)"],
    ),
    "mail-sender-without-password": (
        {"oxy_mail_sender_passwords": {}},
        ["oxy_mail_sender_passwords.oxy-api: the sender oxy-api (oxy_mail.senders[0]) has no password"],
    ),
    "mail-relay-without-password": (
        {"oxy_mail_relay_password": ""},
        ["oxy_mail_relay_password: oxy_mail.relay smtp.relay.oxy-sandbox.test has no password"],
    ),
    "mail-relay-port-25": (
        relay_changed(port=25),
        ["oxy_mail.relay.port: 25 is the port DigitalOcean blocks for droplets"],
    ),
    "mail-relay-without-spf-include": (
        relay_changed(spf_include=DROP),
        ["oxy_mail.relay.spf_include: is missing; a relay needs host, port, username and spf_include"],
    ),
    "mail-relay-unknown-key": (relay_changed(pasword="x"), [SPEC, "pasword"]),
    "mail-dkim-bad-selector": (
        mail_changed(("dkim", "selector"), "Oxy_2026"),
        ["oxy_mail.dkim.selector: 'Oxy_2026' is not a selector; allowed: one lowercase DNS label"],
    ),
    "mail-dkim-retire-current": (
        mail_changed(("dkim", "retired"), ["oxy2026"]),
        ["oxy_mail.dkim.retired[0]: 'oxy2026' is the selector mail is signed with (oxy_mail.dkim.selector)"],
    ),
    "mail-dmarc-policy": (
        mail_changed(("dmarc", "policy"), "maybe"),
        ["oxy_mail.dmarc.policy: 'maybe' is not a DMARC policy; allowed: none, quarantine, reject"],
    ),
    "mail-dmarc-report-address": (
        mail_changed(("dmarc", "rua", 0), "dmarc-at-oxy.so"),
        ["oxy_mail.dmarc.rua[0]: 'dmarc-at-oxy.so' is not an email address"],
    ),
    "mail-unknown-key": (mail_changed(("dkim", "selecter"), "x"), [SPEC, "selecter"]),
}

# A few go through the real site.yml, every task of it, no tags: (case, extra ansible-playbook arguments).
THROUGH_SITE = [
    ("ssh-two-halves", ()),
    ("ssh-world-v6-spelling", ()),
    ("mongodb-version", ("--check", "--diff")),  # a plan reads the account too, and is refused
    ("eviction-policy", ()),
    ("port-70000", ()),
    ("image-tag-missing", ()),
    ("world-open-tcp-23-65535", ()),
    ("app-user-doadmin", ()),  # the API refused it only after 22 writes
    ("dns-ttl-negative", ()),  # the API refused it only after 8 writes
    ("name-trailing-newline", ()),
    ("monitoring-bad-window", ()),
    ("monitoring-slack-without-webhook", ("--check", "--diff")),
    ("mail-relay-without-password", ()),
    ("mail-dkim-retire-current", ("--check", "--diff")),
]


def case_play(case_id, overrides):
    """A play that runs site.yml's validation on one definition and records how it ended."""

    def record(outcome):
        return {
            "name": "Record the outcome",
            "ansible.builtin.set_fact": {
                "outcomes": "{{ outcomes | default({}) | combine({" + json.dumps(case_id) + ": " + outcome + "}) }}"
            },
        }

    return {
        "name": case_id,
        "hosts": "digitalocean",
        "gather_facts": False,
        "vars": overrides,
        "tasks": [
            {
                "name": "Validate",
                "block": [
                    {"name": "Validation", "ansible.builtin.import_tasks": str(VALIDATION_TASKS)},
                    record("{'failed': false}"),
                ],
                "rescue": [
                    record(
                        "{'failed': true, 'task': ansible_failed_task.name, 'msg': ansible_failed_result.msg | string}"
                    )
                ],
            }
        ],
    }


@pytest.fixture(scope="module")
def batch(sandbox_process, tmp_path_factory):
    """Every case (and the stock definition) validated in one ansible-playbook run."""
    sandbox_process.reset()
    work = tmp_path_factory.mktemp("bad_input")
    plays = [case_play("stock", {})] + [case_play(case_id, overrides) for case_id, (overrides, _) in CASES.items()]
    plays.append(
        {
            "name": "Write the outcomes",
            "hosts": "digitalocean",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Write the outcomes",
                    "ansible.builtin.copy": {
                        "content": "{{ outcomes | to_json }}",
                        "dest": str(work / "outcomes.json"),
                    },
                }
            ],
        }
    )
    playbook = work / "cases.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    started = time.monotonic()
    rc, out, _ = ansible_playbook(sandbox_process, playbook, timeout=600)
    assert rc == 0, out
    return {
        "seconds": time.monotonic() - started,
        "outcomes": json.loads((work / "outcomes.json").read_text()),
        "summary": sandbox_process.summary(),
        "output": out,
    }


def test_there_are_at_least_30_broken_definitions():
    assert len(CASES) >= 30


def test_the_stock_definition_passes(batch):
    assert batch["outcomes"]["stock"] == {"failed": False}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_broken_definition_is_refused_naming_the_field(batch, case_id):
    outcome = batch["outcomes"][case_id]
    assert outcome["failed"], f"{case_id} was accepted"
    for expected in CASES[case_id][1]:
        assert expected in outcome["msg"], outcome["msg"]
    assert batch["summary"]["writes"] == 0, batch["summary"]


def test_the_refused_definitions_only_read_the_account_once_per_run(batch):
    summary = batch["summary"]
    assert summary["writes"] == 0, summary
    routes = {(r["method"], r["route"]): r["count"] for r in summary["routes"]}
    assert set(routes) == {
        ("GET", "/v2/regions"),
        ("GET", "/v2/sizes"),
        ("GET", "/v2/databases/options"),
        ("GET", "/v2/databases"),  # the environment's clusters: their versions, and the token's view of them
    }
    # Every definition whose shape passes the spec reads the account; in one run the first read answers
    # the others (the run's read cache of the modules that run in the controller) while it is younger than
    # the cache's lifetime: a run longer than that reads again, once per lifetime.
    spec_passed = 1 + sum(SPEC not in CASES[c][1] for c in CASES)
    reads = 1 + int(batch["seconds"] // LIFETIME)
    assert spec_passed > 2 * reads and max(routes.values()) <= reads, (routes, batch["seconds"])


@pytest.mark.parametrize(("case_id", "extra"), THROUGH_SITE, ids=[c for c, _ in THROUGH_SITE])
def test_site_refuses_before_any_write(sandbox, case_id, extra):
    overrides, expected = CASES[case_id]
    rc, out, stats = run_site(sandbox, "-e", json.dumps(overrides), *extra)
    assert rc != 0 and stats["failed"] == 1, out
    for text in expected:
        assert text in out
    assert sandbox.summary()["writes"] == 0


def test_the_production_template_is_refused_naming_what_to_fill_in(sandbox):
    """inventory/production's account.yml is a template: its plan fails before anything is written."""
    rc, out, _ = ansible_playbook(
        sandbox, "site.yml", "--check", "--diff", inventory="inventory/production", timeout=600
    )
    assert rc != 0, out
    assert "oxy_ssh_allowed_cidrs: is empty" in out
    missing = re.findall(r"oxy_app_image_tags\.([a-z-]+): missing", out)
    assert sorted(set(missing)) == sorted(app["name"] for app in STOCK["oxy_apps"])
    # The Slack webhook comes from OXY_MONITORING_SLACK_WEBHOOK (or AWX), unset here.
    assert "oxy_monitoring_slack_webhook: oxy_monitoring.slack_channel #oxy-alerts has no incoming webhook" in out
    # So do the mail senders' passwords (OXY_MAIL_SENDER_PASSWORDS); the template has no relay, so no relay password.
    assert "oxy_mail_sender_passwords.oxy-api: the sender oxy-api (oxy_mail.senders[0]) has no password" in out
    assert "oxy_mail_relay_password" not in out
    assert sandbox.summary()["writes"] == 0


def test_account_info_reads_the_catalog_once_also_in_check_mode(run_module):
    for check in (True, False):
        result = run_module("account_info", check=check)
        assert result["changed"] is False
        assert "ams3" in [r["slug"] for r in result["regions"]]
        assert "s-2vcpu-4gb" in [s["slug"] for s in result["sizes"]]
        assert "8.0" in result["database_options"]["options"]["mongodb"]["versions"]
        assert sorted(result.calls) == [
            ("GET", "/v2/databases/options"),
            ("GET", "/v2/regions"),
            ("GET", "/v2/sizes"),
        ]
