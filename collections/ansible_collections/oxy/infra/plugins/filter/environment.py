# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the Oxy environment definition that an argument spec cannot express.

The definition's shape (types, choices, required keys) is checked first by
``ansible.builtin.validate_argument_spec`` against ``inventory/environment.spec.yml``; what
needs several fields at once, networks or the account's catalog is checked here, in one place.
Every problem names its field by its path in the definition (``oxy_apps[2].database``), says
what is wrong and what is allowed.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from fractions import Fraction

from ansible.errors import AnsibleFilterError
from ansible_collections.oxy.infra.plugins.filter.naming import app_database

DEFAULT_MAX_SOURCE_SHARE = Fraction(1, 65536)

# IPv6 prefixes whose addresses stand for IPv4 addresses (IPv4-mapped, NAT64, IPv4-compatible):
# ::ffff:0:0/96 is the whole IPv4 Internet spelled in IPv6.
EMBEDDED_IPV4 = tuple(ipaddress.ip_network(p) for p in ("::ffff:0:0/96", "64:ff9b::/96", "::/96"))
WHOLE_SPACE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}

# Names as DigitalOcean accepts them, matched whole (re.fullmatch: a pattern ending in "$" would also
# take a name followed by a newline, which Python's "$" matches before).
NAME_RULES = {
    "droplet": (r"[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?", "letters, digits, '.' and '-', up to 253"),
    "tag": (r"[a-zA-Z0-9_:-]{1,255}", "letters, digits, '_', ':' and '-', up to 255"),
    "vpc": (r"[a-zA-Z0-9.-]{1,255}", "letters, digits, '.' and '-', up to 255"),
    "firewall": (r"[a-zA-Z0-9][a-zA-Z0-9.-]{1,254}", "letters, digits, '.' and '-', 2 to 255, not starting with '.'"),
    "cluster": (r"[a-z][a-z0-9-]{1,61}[a-z0-9]", "3 to 63 lowercase letters, digits and '-', starting with a letter"),
    "app": (r"[a-z][a-z0-9-]{0,30}[a-z0-9]", "2 to 32 lowercase letters, digits and '-', starting with a letter"),
    "user": (r"[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,62}", "1 to 63 letters, digits, '_', '.' and '-'"),
    "database": (r"[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}", "1 to 63 letters, digits, '_' and '-'"),
    "image_tag": (r"[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}", "1 to 128 letters, digits, '_', '.' and '-'"),
    # DNS names are written in lowercase here: site.yml compares them as written (is an app's domain in the zone?).
    "domain": (
        r"(?=.{4,253}\Z)(?!.*[^.]{64})(?:(?:xn--)?[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63}",
        "a lowercase hostname of 4 to 253 characters such as app.example.com, without a final '.'",
    ),
    "image": (r"[a-z0-9][a-z0-9._-]{0,254}", "an image slug such as ubuntu-24-04-x64, or an image id"),
    "record": (
        r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*",
        "lowercase DNS labels (letters, digits and '-') joined by '.', such as api",
    ),
}
PORTS = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?")
SSH_PORT = 22
ALL_PORTS = (1, 65535)

# Names the MongoDB cluster keeps for itself: DigitalOcean's administrative user (doadmin, which it
# creates with the cluster and never deletes), MongoDB's internal and conventional administrators,
# and the databases mongod reserves (admin, local, config; names differing only in case conflict).
RESERVED_USERS = ("__system", "admin", "config", "doadmin", "local", "root")
RESERVED_DATABASES = ("admin", "config", "local")

# DigitalOcean DNS accepts a record TTL of 30 seconds to a day.
DNS_TTL = (30, 86400)
# The droplet's registry credentials (seconds): twice the hour before their end from which a run logs in
# again (oxy.infra.api_stack), up to 30 days; never 0, which DigitalOcean reads as "never expire".
REGISTRY_CREDENTIALS_EXPIRY = (7200, 2592000)


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _quoted(values):
    return ", ".join(sorted(str(v) for v in values)) or "(none)"


def _share_text(share):
    share = Fraction(share)
    if share == 1:
        return "all"
    return str(share) if share.numerator == 1 or share.denominator == 1 else "%.6g" % float(share)


def max_prefix(share, bits):
    """The shortest prefix length whose network covers at most ``share`` of a ``bits``-bit space."""
    return min(bits, max(0, math.ceil(-math.log2(share))))


def parse_network(value):
    """An ``ipaddress`` network for a CIDR or address; None when it is neither."""
    if not isinstance(value, str) or value != value.strip():
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def as_ipv4(network):
    """The IPv4 addresses an IPv6 network stands for (IPv4-mapped and the like): a network or None."""
    if network.version == 4:
        return network
    for prefix in EMBEDDED_IPV4:
        if network.subnet_of(prefix):
            offset = int(network.network_address) - int(prefix.network_address)
            return ipaddress.ip_network((offset, network.prefixlen - 96))
        if prefix.subnet_of(network):
            return WHOLE_SPACE[4]
    return None


def _share(network):
    return Fraction(network.num_addresses, WHOLE_SPACE[network.version].num_addresses)


def _networks(values):
    """The networks among ``values`` by IP version, IPv4 written as IPv6 counted as IPv4 too; the rest is skipped."""
    networks = {4: [], 6: []}
    for value in values:
        network = parse_network(value)
        if network is None:
            continue  # told by the check of the field it is in
        networks[network.version].append(network)
        ipv4 = as_ipv4(network) if network.version == 6 else None
        if ipv4 is not None:
            networks[4].append(ipv4)
    return networks


def whole_families(values):
    """The IP versions (4, 6) whose every address ``values`` cover together, in any spelling.

    ``0.0.0.0/0``, ``0.0.0.0/1`` with ``128.0.0.0/1``, ``0::0/0`` or ``::ffff:0:0/96`` (IPv4 written as IPv6)
    all count; addresses that are not networks are left out.
    """
    networks = _networks(values)
    return [v for v in (4, 6) if networks[v] and WHOLE_SPACE[v] in ipaddress.collapse_addresses(networks[v])]


def _int(value):
    """An int, or a string of ASCII digits as one; None for anything else (a bool is no number here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return None


def source_problems(path, sources, max_share=None, required=True):
    """Problems of a list of firewall sources that may reach SSH.

    Each must be a network; none may cover more than ``max_share`` of its family's address space
    (an IPv6 spelling of IPv4 addresses counts as IPv4), and together they may not cover a whole family.
    """
    share = Fraction(max_share if max_share is not None else DEFAULT_MAX_SOURCE_SHARE).limit_denominator(2**64)
    limit = "at most %s of its family's address space (an IPv4 /%d, an IPv6 /%d; oxy_max_source_share)" % (
        _share_text(share),
        max_prefix(share, 32),
        max_prefix(share, 128),
    )
    if not isinstance(sources, list) or not sources:
        if required:
            return ["%s: is empty; list the operators' addresses as CIDRs such as 203.0.113.7/32" % path]
        return []
    problems = []
    for index, value in enumerate(sources):
        where = "%s[%d]" % (path, index)
        network = parse_network(value)
        if network is None:
            problems.append("%s: %r is not an IPv4 or IPv6 address or CIDR (such as 203.0.113.7/32)" % (where, value))
            continue
        ipv4 = as_ipv4(network) if network.version == 6 else None
        if _share(network) > share:
            problems.append(
                "%s: %s covers %s of the IPv%d address space; an SSH source may cover %s"
                % (where, value, _share_text(_share(network)), network.version, limit)
            )
        elif ipv4 is not None and _share(ipv4) > share:
            problems.append(
                "%s: %s stands for %s (IPv4 written as IPv6), %s of the IPv4 address space; an SSH source may cover %s"
                % (where, value, ipv4, _share_text(_share(ipv4)), limit)
            )
    networks = _networks(sources)
    for version in whole_families(sources):
        if WHOLE_SPACE[version] in networks[version]:
            continue  # one source is the whole space, told above
        problems.append(
            "%s: together, %s cover every IPv%d address, which opens SSH to the world; "
            "list the operators' addresses only" % (path, ", ".join(str(s) for s in sources), version)
        )
    return problems


def port_problems(path, protocol, ports):
    """``ports`` as DigitalOcean accepts it for ``protocol``."""
    ports = str(ports) if isinstance(ports, (int, str)) and not isinstance(ports, bool) else ports
    if protocol == "icmp":
        if ports not in (None, "0"):
            return ['%s: %r: icmp has no ports; use "0"' % (path, ports)]
        return []
    allowed = '%s allows a port 1-65535, a range such as "8000-9000", "all" or "0" (every port)' % protocol
    if ports in ("0", "all"):
        return []
    match = PORTS.fullmatch(ports) if isinstance(ports, str) else None
    if not match:
        return ["%s: %r is not a port; %s" % (path, ports, allowed)]
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= low <= high <= 65535:
        return ["%s: %r is outside 1-65535 or reversed; %s" % (path, ports, allowed)]
    return []


def port_range(ports):
    """The (first, last) port a rule's ``ports`` covers: every port for "0", "all" or none; None when invalid."""
    if ports in ("0", "all", None):
        return ALL_PORTS
    valid = isinstance(ports, (int, str)) and not isinstance(ports, bool)
    match = PORTS.fullmatch(str(ports)) if valid else None
    if not match:
        return None
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    return (low, high) if 1 <= low <= high <= 65535 else None


def reaches_port(ports, port):
    covered = port_range(ports)
    return covered is not None and covered[0] <= port <= covered[1]


def name_problems(path, value, kind):
    pattern, allowed = NAME_RULES[kind]
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        return ["%s: %r is not a valid %s name; allowed: %s" % (path, value, kind.replace("_", " "), allowed)]
    return []


def unique_problems(entries, what, why):
    """``entries``: (path, value, owner); a value seen before is a problem of the later entry."""
    problems = []
    first = {}
    for path, value, owner in entries:
        if value is None:
            continue
        if value in first:
            problems.append("%s: %s %r is also the %s of %s; %s" % (path, what, value, what, first[value], why))
        else:
            first[value] = owner
    return problems


def _apps(definition):
    return [(i, app) for i, app in enumerate(_list(definition.get("oxy_apps"))) if isinstance(app, dict)]


def _clusters(definition):
    return [(key, definition[key]) for key in ("oxy_mongodb", "oxy_valkey") if isinstance(definition.get(key), dict)]


def _droplets(definition):
    return [("oxy_droplet", definition["oxy_droplet"])] if isinstance(definition.get("oxy_droplet"), dict) else []


def naming_problems(definition):
    problems = []
    for path, droplet in _droplets(definition):
        problems += name_problems(path + ".name", droplet.get("name"), "droplet")
        if "image" in droplet:
            problems += name_problems(path + ".image", droplet.get("image"), "image")
        for index, tag in enumerate(_list(droplet.get("tags"))):
            problems += name_problems("%s.tags[%d]" % (path, index), tag, "tag")
    if isinstance(definition.get("oxy_vpc"), dict):
        problems += name_problems("oxy_vpc.name", definition["oxy_vpc"].get("name"), "vpc")
    if isinstance(definition.get("oxy_droplet_firewall"), dict):
        problems += name_problems(
            "oxy_droplet_firewall.name", definition["oxy_droplet_firewall"].get("name"), "firewall"
        )
    for path, cluster in _clusters(definition):
        problems += name_problems(path + ".name", cluster.get("name"), "cluster")
    for index, app in _apps(definition):
        problems += name_problems("oxy_apps[%d].name" % index, app.get("name"), "app")
        problems += name_problems("oxy_apps[%d].component" % index, app.get("component"), "app")
        problems += name_problems("oxy_apps[%d].app" % index, app.get("app"), "user")
    project = _dict(definition.get("oxy_project"))
    for field, low, high in (("name", 1, 175), ("purpose", 1, 255), ("description", 0, 255)):
        value = project.get(field)
        if field in project and not (isinstance(value, str) and low <= len(value) <= high):
            told = "%d characters" % len(value) if isinstance(value, str) else repr(value)
            problems.append("oxy_project.%s: %s; allowed: text of %d to %d characters" % (field, told, low, high))
    return problems


def uniqueness_problems(definition):
    apps = _apps(definition)
    problems = unique_problems(
        [("oxy_apps[%d].name" % i, a.get("name"), "oxy_apps[%d]" % i) for i, a in apps],
        "name",
        "app names must be unique (an app is adopted by its name: the later one would overwrite the earlier)",
    )
    problems += unique_problems(
        [("oxy_apps[%d].app" % i, a.get("app"), "oxy_apps[%d]" % i) for i, a in apps],
        "app",
        "each app has a MongoDB user of its own, named after its app",
    )
    problems += unique_problems(
        [("oxy_apps[%d].domain" % i, a.get("domain"), "oxy_apps[%d] (%s)" % (i, a.get("name"))) for i, a in apps],
        "domain",
        "a domain belongs to one app only",
    )
    node_env = definition.get("oxy_node_env")
    suffixes = _dict(definition.get("oxy_env_suffixes"))
    databases = []
    for i, a in apps:
        if not a.get("app"):
            continue
        name = app_database(a, node_env, suffixes)
        field = "database" if a.get("database") else "app"
        databases.append(("oxy_apps[%d].%s" % (i, field), name, "oxy_apps[%d] (%s)" % (i, a.get("name"))))
        problems += name_problems("oxy_apps[%d].%s" % (i, field), name, "database")
    problems += unique_problems(
        databases,
        "database",
        "each app needs a database of its own (set oxy_apps[].database to a legacy name, or rename the app)",
    )
    problems += unique_problems(
        [(path + ".name", c.get("name"), path) for path, c in _clusters(definition)],
        "name",
        "database cluster names must be unique in the account",
    )
    problems += unique_problems(
        [(path + ".name", d.get("name"), path) for path, d in _droplets(definition)],
        "name",
        "droplet names must be unique (droplets are adopted by name)",
    )
    return problems


def node_env_problems(definition):
    node_env = definition.get("oxy_node_env")
    suffixes = _dict(definition.get("oxy_env_suffixes"))
    problems = []
    for key, suffix in suffixes.items():
        if not isinstance(suffix, str) or not suffix:
            problems.append("oxy_env_suffixes.%s: %r must be a database name suffix such as 'prod'" % (key, suffix))
    if node_env not in suffixes:
        problems.append(
            "oxy_node_env: %r is not a key of oxy_env_suffixes; allowed: %s (a new NODE_ENV needs its suffix there)"
            % (node_env, _quoted(suffixes))
        )
    return problems


def image_tag_problems(definition):
    tags = _dict(definition.get("oxy_app_image_tags"))
    names = [a.get("name") for _i, a in _apps(definition)]
    problems = []
    for index, name in enumerate(names):
        if name not in tags:
            problems.append(
                "oxy_app_image_tags.%s: missing; every app needs an explicit image tag (oxy_apps[%d] would "
                "deploy 'latest'); add it to account.yml, for example %s: \"2026.11.1\"" % (name, index, name)
            )
            continue
        tag = tags[name]
        if tag == "latest":
            problems.append(
                "oxy_app_image_tags.%s: 'latest' moves under a running app; pin the release, such as \"2026.11.1\""
                % name
            )
        else:
            problems += name_problems("oxy_app_image_tags.%s" % name, tag, "image_tag")
    for name in tags:
        if name not in names:
            problems.append(
                "oxy_app_image_tags.%s: no app of oxy_apps is named %r; allowed: %s" % (name, name, _quoted(names))
            )
    return problems


def firewall_problems(definition, max_share=None):
    problems = source_problems("oxy_ssh_allowed_cidrs", definition.get("oxy_ssh_allowed_cidrs"), max_share)
    firewall = _dict(definition.get("oxy_droplet_firewall"))
    for direction, targets in (("inbound_rules", "sources"), ("outbound_rules", "destinations")):
        for index, rule in enumerate(_list(firewall.get(direction))):
            if not isinstance(rule, dict):
                continue
            path = "oxy_droplet_firewall.%s[%d]" % (direction, index)
            problems += port_problems(path + ".ports", rule.get("protocol"), rule.get("ports"))
            addresses = _dict(rule.get(targets)).get("addresses")
            where = "%s.%s.addresses" % (path, targets)
            if not _list(addresses):
                continue
            ssh = direction == "inbound_rules" and rule.get("protocol") == "tcp" and reaches_port(rule.get("ports"), 22)
            if ssh and addresses == definition.get("oxy_ssh_allowed_cidrs"):
                continue  # the SSH sources themselves, checked above
            if ssh:
                problems += source_problems(where, addresses, max_share)
            else:
                problems += [
                    "%s[%d]: %r is not an IPv4 or IPv6 address or CIDR" % (where, i, value)
                    for i, value in enumerate(addresses)
                    if parse_network(value) is None
                ]
    return problems


# -- What faces the world ---------------------------------------------------------------------------
WORLD_OPEN = "oxy_droplet_firewall.world_open_ports"


def _ports_text(ranges):
    text = ", ".join(str(low) if low == high else "%d-%d" % (low, high) for low, high in ranges)
    many = len(ranges) > 1 or ranges[0][0] != ranges[0][1]
    return ("ports %s are" if many else "port %s is") % text


def _outside(low, high, allowed):
    """The ranges of ports low..high that are not in ``allowed``."""
    ranges = []
    start = low
    for port in sorted(p for p in allowed if low <= p <= high):
        if port > start:
            ranges.append((start, port - 1))
        start = port + 1
    if start <= high:
        ranges.append((start, high))
    return ranges


def _merged(ranges):
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def _families_text(versions):
    return " and ".join("IPv%d" % v for v in versions)


def world_open_allowed(firewall):
    """The firewall's allow list of ports open to the world, {protocol: ports}, and its problems."""
    policy = _dict(firewall.get("world_open_ports"))
    allowed, problems = {}, []
    for protocol in ("tcp", "udp"):
        allowed[protocol] = set()
        for index, value in enumerate(_list(policy.get(protocol))):
            where = "%s.%s[%d]" % (WORLD_OPEN, protocol, index)
            port = _int(value)
            if port is None or not 1 <= port <= 65535:
                problems.append("%s: %r is not a port; allowed: one port, 1-65535" % (where, value))
            elif protocol == "tcp" and port == SSH_PORT:
                problems.append(
                    "%s: 22 is SSH, which is never open to the world; its sources are oxy_ssh_allowed_cidrs" % where
                )
            else:
                allowed[protocol].add(port)
    return allowed, problems


def _not_allowed_text(protocol, ranges, allowed):
    on_list = ", ".join(str(p) for p in sorted(allowed[protocol])) or "empty: no %s port" % protocol
    return "%s not on %s.%s (%s)" % (_ports_text(ranges), WORLD_OPEN, protocol, on_list)


def _needed(rules, families):
    """The rules of ``rules`` that it takes to cover ``families``: each one the others cover without is left out."""
    needed = list(rules)
    for rule in list(needed):
        rest = [r for r in needed if r is not rule]
        if rest and set(whole_families([a for r in rest for a in r["addresses"]])) >= set(families):
            needed = rest
    return needed


def world_open_problems(definition):
    """Every port an inbound rule opens to every address (in any spelling) must be on the firewall's allow list.

    A range counts for each port it covers, ``all`` and ``0`` for every port; rules that each cover part of the
    address space count together when, between them, they open a port to a whole IP family.
    """
    firewall = _dict(definition.get("oxy_droplet_firewall"))
    allowed, problems = world_open_allowed(firewall)
    rules = []
    for index, rule in enumerate(_list(firewall.get("inbound_rules"))):
        if not isinstance(rule, dict) or rule.get("protocol") not in allowed:
            continue  # icmp has no ports
        covered = port_range(rule.get("ports"))
        addresses = _list(_dict(rule.get("sources")).get("addresses"))
        if covered is None or not addresses:
            continue  # a bad port or address is told by firewall_problems
        rules.append(
            {
                "path": "oxy_droplet_firewall.inbound_rules[%d]" % index,
                "index": index,
                "protocol": rule["protocol"],
                "ports": covered,
                "addresses": addresses,
                "text": "%s %s from %s" % (rule["protocol"], rule.get("ports"), ", ".join(str(a) for a in addresses)),
            }
        )
    partial = []
    for rule in rules:
        families = whole_families(rule["addresses"])
        if not families:
            partial.append(rule)
            continue
        outside = _outside(*rule["ports"], allowed[rule["protocol"]])
        if outside:
            problems.append(
                "%s: %s is open to every %s address, and %s; open only listed ports to the world, or narrow the sources"
                % (
                    rule["path"],
                    rule["text"],
                    _families_text(families),
                    _not_allowed_text(rule["protocol"], outside, allowed),
                )
            )
    for protocol in ("tcp", "udp"):
        mine = [rule for rule in partial if rule["protocol"] == protocol]
        cuts = {1, 65536}
        for rule in mine:
            cuts |= {rule["ports"][0], rule["ports"][1] + 1}
        for port in allowed[protocol]:
            cuts |= {port, port + 1}
        found = {}
        cuts = sorted(cuts)
        for low, after in itertools.pairwise(cuts):
            if low in allowed[protocol]:
                continue  # then this stretch is that one port
            covering = [rule for rule in mine if rule["ports"][0] <= low and after - 1 <= rule["ports"][1]]
            families = whole_families([a for rule in covering for a in rule["addresses"]]) if len(covering) > 1 else []
            if families:
                key = (tuple(rule["index"] for rule in _needed(covering, families)), tuple(families))
                found.setdefault(key, []).append((low, after - 1))
        for (indexes, families), ranges in found.items():
            problems.append(
                "oxy_droplet_firewall.inbound_rules: together, %s are open to every %s address, and %s; "
                "open only listed ports to the world, or narrow the sources"
                % (
                    " and ".join(
                        "[%d] %s" % (rule["index"], rule["text"]) for rule in mine if rule["index"] in indexes
                    ),
                    _families_text(families),
                    _not_allowed_text(protocol, _merged(ranges), allowed),
                )
            )
    return problems


# -- Domains and DNS --------------------------------------------------------------------------------
def _zones(definition):
    """The DNS zones the definition holds (site.yml creates them and lets App Platform manage names in them).

    None when a zone's own name is not valid: that is told once, not again for every app's domain.
    """
    dns = _dict(definition.get("oxy_dns"))
    if "domain" not in dns:
        return []
    return None if name_problems("oxy_dns.domain", dns["domain"], "domain") else [dns["domain"]]


def app_domain_problems(definition):
    """An app's domain is a name under a zone of the definition, or declared ``external: true`` on purpose."""
    zones = _zones(definition)
    if zones is None:
        return []
    dns = _dict(definition.get("oxy_dns"))
    # The droplet's own names in the zone (its API and mail host): no app may take them over.
    hosts = {
        "%s.%s" % (dns[field], zones[0]): "oxy_dns." + field
        for field in ("api", "mail")
        if zones and isinstance(dns.get(field), str)
    }
    held = ", ".join(zones) or "none"
    problems = []
    for index, app in _apps(definition):
        if "domain" not in app:
            continue
        path = "oxy_apps[%d]" % index
        domain = app.get("domain")
        told = name_problems(path + ".domain", domain, "domain")
        if told:
            problems += told
            continue
        zone = next((z for z in zones if domain.endswith("." + z)), None)
        example = "%s.%s" % (app.get("app") or "app", zones[0]) if zones else "app.example.com"
        if domain in hosts:
            problems.append(
                "%s.domain: %r is the droplet's own name (%s); an app needs a name of its own, such as %s"
                % (path, domain, hosts[domain], example)
            )
        elif domain in zones:
            problems.append(
                "%s.domain: %r is the apex of the zone %s, which holds its mail records (MX, SPF); use a name "
                "under it, such as %s" % (path, domain, domain, example)
            )
        elif app.get("external") and zone:
            problems.append(
                "%s.external: %r is under %s, a zone this definition holds (App Platform manages its record "
                "there); remove external: true" % (path, domain, zone)
            )
        elif not app.get("external") and not zone:
            problems.append(
                "%s.domain: %r is not under a DNS zone this definition holds (oxy_dns.domain: %s); use a name "
                "under it, such as %s, or set %s.external: true if this domain is deliberately the app's and "
                "managed elsewhere" % (path, domain, held, example, path)
            )
    return problems


PRINTABLE = re.compile(r"[ -~]*")  # one line of printable ASCII: what a TXT value here holds
SPF_MECHANISM = re.compile(r"([-+~?]?)(all|include|a|mx|ptr|ip4|ip6|exists)((?::|/).*)?", re.IGNORECASE)
SPF_MODIFIER = re.compile(r"([a-z][a-z0-9_.-]*)=(.*)", re.IGNORECASE)
SPF_HOST_ARGUMENT = re.compile(r"(?::([^/]+))?(?:/([0-9]{1,3}))?(?://([0-9]{1,3}))?")
SPF_MAX_LOOKUPS = 10  # RFC 7208 4.6.4: more DNS lookups is a permerror
SPF_EXAMPLE = "v=spf1 mx -all"


def spf_problems(path, record):
    """An SPF record (RFC 7208) that cannot let the world send as the domain: it ends in -all or ~all.

    ``+all`` (or a bare ``all``), ``?all``, no ``all`` at all, ``ip4``/``ip6`` networks that together cover
    an IP family with a passing qualifier, terms after ``all``, malformed terms and more than 10 DNS lookups
    are problems.
    """
    if not isinstance(record, str) or not PRINTABLE.fullmatch(record):
        return ["%s: %r is not one line of printable ASCII; an SPF record reads like %r" % (path, record, SPF_EXAMPLE)]
    terms = record.split()
    if not terms or terms[0].lower() != "v=spf1":
        return ["%s: %r does not start with v=spf1; an SPF record reads like %r" % (path, record, SPF_EXAMPLE)]
    problems = []
    ending = None
    lookups = 0
    passing = []
    modifiers = set()
    for term in terms[1:]:
        mechanism = SPF_MECHANISM.fullmatch(term)
        modifier = None if mechanism else SPF_MODIFIER.fullmatch(term)
        if modifier:
            name = modifier.group(1).lower()
            if name in ("redirect", "exp"):
                if name in modifiers or not modifier.group(2):
                    problems.append("%s: %r: %s= takes one domain, once" % (path, term, name))
                modifiers.add(name)
                lookups += name == "redirect"
            continue
        if not mechanism:
            problems.append("%s: %r is not an SPF mechanism or modifier (RFC 7208)" % (path, term))
            continue
        qualifier, name, argument = mechanism.group(1), mechanism.group(2).lower(), mechanism.group(3) or ""
        if ending is not None:
            problems.append(
                "%s: %r comes after %r, which ends the evaluation; %r never counts" % (path, term, ending, term)
            )
        if name == "all":
            ending = term
            if argument:
                problems.append("%s: %r: all takes no argument" % (path, term))
            elif qualifier in ("", "+"):
                problems.append(
                    "%s: %r lets every server on the Internet send mail as the domain; allowed: -all (others fail) "
                    "or ~all (others soft-fail)" % (path, term)
                )
            elif qualifier == "?":
                problems.append(
                    "%s: %r is neutral about every other server, so forged mail passes as undecided; allowed: "
                    "-all (others fail) or ~all (others soft-fail)" % (path, term)
                )
        elif name in ("ip4", "ip6"):
            network = parse_network(argument[1:]) if argument.startswith(":") else None
            if network is None or network.version != int(name[-1]):
                problems.append("%s: %r is not %s:<IPv%s address or CIDR>" % (path, term, name, name[-1]))
            elif qualifier in ("", "+"):
                passing.append(str(network))
        else:
            lookups += 1
            host = SPF_HOST_ARGUMENT.fullmatch(argument)
            prefixes = [int(p) for p in (host.group(2), host.group(3)) if p] if host else []
            if (
                not host
                or (name in ("include", "exists") and not host.group(1))
                or (name in ("include", "exists", "ptr") and prefixes)
                or int(host.group(2) or 0) > 32
                or int(host.group(3) or 0) > 128
            ):
                problems.append("%s: %r is not a valid %s mechanism" % (path, term, name))
            elif qualifier in ("", "+") and 0 in prefixes:
                problems.append(
                    "%s: %r passes every address (a /0 around the host), as +all does; drop the /0" % (path, term)
                )
    families = whole_families(passing)
    if families:
        problems.append(
            "%s: %s together pass every %s address, as +all does; list the mail servers only"
            % (path, ", ".join(passing), _families_text(families))
        )
    if ending is None and "redirect" not in modifiers:
        problems.append(
            "%s: %r ends without -all or ~all, so every other server is neutral, as with ?all; end it with -all "
            "or ~all" % (path, record)
        )
    if lookups > SPF_MAX_LOOKUPS:
        problems.append(
            "%s: %r takes %d DNS lookups (include, a, mx, ptr, exists, redirect); receivers allow %d and fail "
            "the record beyond that (permerror)" % (path, record, lookups, SPF_MAX_LOOKUPS)
        )
    return problems


DMARC_POLICIES = ("none", "quarantine", "reject")
DMARC_URI = re.compile(r"mailto:[^@\s,;!]+@[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.[a-z]{2,63}(![0-9]+[kmgt]?)?", re.IGNORECASE)
DMARC_EXAMPLE = "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"


def _dmarc_value_problem(name, value):
    """What is wrong with one DMARC tag's value (RFC 7489 6.3), or None."""
    if name in ("p", "sp", "np"):
        ok = value in DMARC_POLICIES
        allowed = ", ".join(DMARC_POLICIES)
    elif name in ("adkim", "aspf"):
        ok, allowed = value in ("r", "s"), "r, s"
    elif name == "pct":
        ok, allowed = _int(value) is not None and 0 <= _int(value) <= 100 and value.isdigit(), "0 to 100"
    elif name == "ri":
        ok, allowed = value.isdigit() and int(value) < 2**32, "seconds, such as 86400"
    elif name == "fo":
        ok, allowed = all(option in ("0", "1", "d", "s") for option in value.split(":")), "0, 1, d, s joined by ':'"
    elif name == "rf":
        ok, allowed = all(option == "afrf" for option in value.split(":")), "afrf"
    else:  # rua, ruf
        ok = all(DMARC_URI.fullmatch(uri.strip()) for uri in value.split(","))
        allowed = "mailto: addresses joined by ',', such as mailto:dmarc@example.com"
    return None if ok else allowed


def dmarc_problems(path, record):
    """A DMARC record (RFC 7489) well formed: ``v=DMARC1; p=none|quarantine|reject``, then known tags once each."""
    if not isinstance(record, str) or not PRINTABLE.fullmatch(record):
        return [
            "%s: %r is not one line of printable ASCII; a DMARC record reads like %r" % (path, record, DMARC_EXAMPLE)
        ]
    parts = [part.strip() for part in record.split(";")]
    if parts and not parts[-1]:
        parts.pop()  # a final ';' is allowed
    tags = []
    for part in parts:
        pair = re.fullmatch(r"([a-z]+) *= *([^ ]+(?: *, *[^ ]+)*)", part)
        if not pair:
            return ["%s: %r is not a tag=value pair; a DMARC record reads like %r" % (path, part, DMARC_EXAMPLE)]
        tags.append((pair.group(1), pair.group(2)))
    if not tags or tags[0] != ("v", "DMARC1"):
        return ["%s: %r does not start with v=DMARC1; a DMARC record reads like %r" % (path, record, DMARC_EXAMPLE)]
    if len(tags) < 2 or tags[1][0] != "p":
        return [
            "%s: %r: p= (none, quarantine or reject) must follow v=DMARC1; a DMARC record reads like %r"
            % (path, record, DMARC_EXAMPLE)
        ]
    problems = []
    seen = set()
    known = ("p", "sp", "np", "adkim", "aspf", "pct", "ri", "fo", "rf", "rua", "ruf")
    for name, value in tags[1:]:
        if name in seen or name not in known:
            why = "is given twice" if name in seen else "is not a DMARC tag; allowed: %s" % ", ".join(known)
            problems.append("%s: %s= %s" % (path, name, why))
            continue
        seen.add(name)
        allowed = _dmarc_value_problem(name, value)
        if allowed:
            problems.append("%s: %s=%s is not allowed; allowed: %s" % (path, name, value, allowed))
    return problems


def dns_problems(definition):
    """The zone's name, its record names and TTL as DigitalOcean DNS accepts them; its SPF and DMARC records."""
    if not isinstance(definition.get("oxy_dns"), dict):
        return []
    dns = definition["oxy_dns"]
    problems = []
    if "domain" in dns:
        problems += name_problems("oxy_dns.domain", dns.get("domain"), "domain")
    for field in ("api", "mail"):
        if field in dns:
            problems += name_problems("oxy_dns." + field, dns.get(field), "record")
    if "ttl" in dns:
        ttl = _int(dns.get("ttl"))
        if ttl is None or not DNS_TTL[0] <= ttl <= DNS_TTL[1]:
            problems.append(
                "oxy_dns.ttl: %r is outside what DigitalOcean DNS accepts; allowed: %d to %d seconds (such as 1800)"
                % (dns.get("ttl"), DNS_TTL[0], DNS_TTL[1])
            )
    if "spf" in dns:
        problems += spf_problems("oxy_dns.spf", dns.get("spf"))
    if "dmarc" in dns:
        problems += dmarc_problems("oxy_dns.dmarc", dns.get("dmarc"))
    return problems


# -- Names the database keeps for itself ------------------------------------------------------------
def reserved_name_problems(definition):
    """No app's MongoDB user or database takes a name the cluster keeps (compared in any case)."""
    node_env = definition.get("oxy_node_env")
    suffixes = _dict(definition.get("oxy_env_suffixes"))
    problems = []
    for index, app in _apps(definition):
        user = app.get("app")
        if not isinstance(user, str) or not user:
            continue
        if user.lower() in RESERVED_USERS:
            problems.append(
                "oxy_apps[%d].app: %r is a reserved MongoDB user name (each app's user is named after its app; "
                "doadmin is DigitalOcean's administrator of the cluster); reserved: %s"
                % (index, user, ", ".join(RESERVED_USERS))
            )
        database = app_database(app, node_env, suffixes)
        if isinstance(database, str) and database.lower() in RESERVED_DATABASES:
            problems.append(
                "oxy_apps[%d].%s: %r is a database MongoDB keeps for itself; reserved (in any case): %s"
                % (index, "database" if app.get("database") else "app", database, ", ".join(RESERVED_DATABASES))
            )
    return problems


def app_region_problems(definition):
    region = definition.get("oxy_region")
    family = re.sub(r"[0-9]+\Z", "", region) if isinstance(region, str) else None
    problems = []
    for index, app in _apps(definition):
        if app.get("in_vpc") and family and app.get("region") != family:
            problems.append(
                "oxy_apps[%d].in_vpc: %s runs in %s and cannot join the VPC in %s; allowed: in_vpc: false, "
                "or region: %s" % (index, app.get("name"), app.get("region"), region, family)
            )
    return problems


def credential_problems(definition):
    """The droplet's API uses the database of one of the apps; a rotation names apps, users, valkey or all."""
    apps = [app for _index, app in _apps(definition)]
    users = sorted(set(str(app.get("app")) for app in apps))
    names = [str(app.get("name")) for app in apps]
    problems = []
    droplet = _dict(definition.get("oxy_droplet"))
    if "app" in droplet and droplet.get("app") not in users:
        problems.append(
            "oxy_droplet.app: %r is not the app of any of oxy_apps; allowed: %s" % (droplet.get("app"), _quoted(users))
        )
    rotate = definition.get("oxy_rotate_credentials")
    if rotate is None:
        return problems
    if isinstance(rotate, str):
        rotate = [rotate]
    if not isinstance(rotate, list):
        return [*problems, "oxy_rotate_credentials: expected a list of names (or all), got %r" % (rotate,)]
    allowed = users + names + ["valkey", "all"]
    for index, name in enumerate(rotate):
        if name not in allowed:
            problems.append(
                "oxy_rotate_credentials[%d]: %r is not an app, an app's user, valkey or all; allowed: %s"
                % (index, name, _quoted(allowed))
            )
    return problems


def registry_problems(definition):
    """The droplet's registry credentials expire, neither so soon that every run logs in again nor after a month."""
    registry = definition.get("oxy_registry")
    if not isinstance(registry, dict) or "credentials_expiry" not in registry:
        return []
    expiry = _int(registry.get("credentials_expiry"))
    low, high = REGISTRY_CREDENTIALS_EXPIRY
    if expiry is None or not low <= expiry <= high:
        return [
            "oxy_registry.credentials_expiry: %r is outside %d to %d seconds (such as 604800, a week): the droplet's "
            "pull credentials must expire, and last longer than the hour before their end in which a run renews them"
            % (registry.get("credentials_expiry"), low, high)
        ]
    return []


# Monitoring (oxy_monitoring): what DigitalOcean's uptime checks, alert policies and App Platform alerts take.
UPTIME_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")
UPTIME_ALERT_TYPES = {
    "https_alerts": ("down", "down_global", "latency", "ssl_expiry"),
    "ping_alerts": ("down", "down_global", "latency"),  # ssl_expiry needs an https check
}
UPTIME_PERIODS = ("2m", "3m", "5m", "10m", "15m", "30m", "1h")
UPTIME_COMPARISONS = ("greater_than", "less_than")
UPTIME_THRESHOLD_UNITS = {"latency": "milliseconds", "ssl_expiry": "days"}
POLICY_WINDOWS = ("5m", "10m", "30m", "1h")
POLICY_COMPARES = ("GreaterThan", "LessThan")
# The ends of the policy types each list takes (v1/insights/droplet/<metric>, v1/dbaas/alerts/<metric>);
# the percent ones are 0..100.
POLICY_METRICS = {
    "droplet_alerts": (
        "v1/insights/droplet/",
        (
            "cpu",
            "memory_utilization_percent",
            "disk_utilization_percent",
            "load_1",
            "load_5",
            "load_15",
            "disk_read",
            "disk_write",
            "public_outbound_bandwidth",
            "public_inbound_bandwidth",
            "private_outbound_bandwidth",
            "private_inbound_bandwidth",
        ),
        ("cpu", "memory_utilization_percent", "disk_utilization_percent"),
    ),
    "database_alerts": (
        "v1/dbaas/alerts/",
        ("load_15_alerts", "memory_utilization_alerts", "disk_utilization_alerts", "cpu_alerts"),
        ("memory_utilization_alerts", "disk_utilization_alerts", "cpu_alerts"),
    ),
}
# App Platform's alert rules that concern the app as a whole (the spec's top-level alerts).
APP_ALERT_RULES = (
    "DEPLOYMENT_FAILED",
    "DEPLOYMENT_LIVE",
    "DEPLOYMENT_STARTED",
    "DEPLOYMENT_CANCELED",
    "DOMAIN_FAILED",
    "DOMAIN_LIVE",
)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SLACK_CHANNEL = re.compile(r"[#@]?[a-z0-9][a-z0-9._-]{0,79}")


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _uptime_alert_problems(path, alerts, allowed):
    problems = []
    seen = {}
    for index, alert in enumerate(_list(alerts)):
        where = "%s[%d]" % (path, index)
        alert = _dict(alert)
        kind = alert.get("type")
        if kind not in allowed:
            problems.append(
                "%s.type: %r is not an alert of this check; allowed: %s" % (where, kind, ", ".join(allowed))
            )
            continue
        if kind in seen:
            problems.append("%s.type: %s is also %s[%d]; one alert per type" % (where, kind, path, seen[kind]))
        seen[kind] = index
        if alert.get("period") is not None and alert.get("period") not in UPTIME_PERIODS:
            problems.append(
                "%s.period: %r is not a period of uptime alerts; allowed: %s"
                % (where, alert.get("period"), ", ".join(UPTIME_PERIODS))
            )
        if alert.get("comparison") is not None and alert.get("comparison") not in UPTIME_COMPARISONS:
            problems.append(
                "%s.comparison: %r is not a comparison; allowed: %s"
                % (where, alert.get("comparison"), ", ".join(UPTIME_COMPARISONS))
            )
        threshold = _int(alert.get("threshold"))
        if kind in UPTIME_THRESHOLD_UNITS and threshold is None:
            problems.append(
                "%s.threshold: a %s alert needs a threshold (%s)" % (where, kind, UPTIME_THRESHOLD_UNITS[kind])
            )
        elif alert.get("threshold") is not None and kind not in UPTIME_THRESHOLD_UNITS:
            problems.append("%s.threshold: a %s alert has no threshold (only latency and ssl_expiry)" % (where, kind))
        elif threshold is not None and threshold < 1:
            problems.append("%s.threshold: %r is not above 0" % (where, alert.get("threshold")))
    return problems


def _policy_problems(path, policies, family):
    prefix, metrics, percent = POLICY_METRICS[family]
    problems = []
    seen = {}
    for index, policy in enumerate(_list(policies)):
        where = "%s[%d]" % (path, index)
        policy = _dict(policy)
        metric = policy.get("metric")
        if metric not in metrics:
            problems.append(
                "%s.metric: %r is not a metric of %s<metric>; allowed: %s" % (where, metric, prefix, ", ".join(metrics))
            )
        elif metric in seen:
            problems.append("%s.metric: %s is also %s[%d]; one policy per metric" % (where, metric, path, seen[metric]))
        else:
            seen[metric] = index
        if policy.get("compare") not in POLICY_COMPARES:
            problems.append(
                "%s.compare: %r is not a comparison; allowed: %s"
                % (where, policy.get("compare"), ", ".join(POLICY_COMPARES))
            )
        if policy.get("window") not in POLICY_WINDOWS:
            problems.append(
                "%s.window: %r is not a window of alert policies; allowed: %s"
                % (where, policy.get("window"), ", ".join(POLICY_WINDOWS))
            )
        value = _number(policy.get("value"))
        if value is None or value < 0 or (metric in percent and value > 100):
            allowed = "0 to 100 (a percentage)" if metric in percent else "a number, not negative"
            problems.append(
                "%s.value: %r is outside what %s takes; allowed: %s" % (where, policy.get("value"), metric, allowed)
            )
    return problems


def monitoring_problems(definition):
    """Who is told (someone, reachable: emails, a Slack channel with its webhook) and what they are told about."""
    monitoring = definition.get("oxy_monitoring")
    if not isinstance(monitoring, dict):
        return []
    problems = []
    emails = _list(monitoring.get("emails"))
    for index, email in enumerate(emails):
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            problems.append("oxy_monitoring.emails[%d]: %r is not an email address" % (index, email))
    channel = monitoring.get("slack_channel")
    webhook = definition.get("oxy_monitoring_slack_webhook") or ""
    if channel is not None and not (isinstance(channel, str) and SLACK_CHANNEL.fullmatch(channel)):
        problems.append(
            "oxy_monitoring.slack_channel: %r is not a Slack channel name (such as #oxy-alerts: lowercase letters, "
            "digits, '.', '_' and '-')" % (channel,)
        )
    elif channel and not webhook:
        problems.append(
            "oxy_monitoring_slack_webhook: oxy_monitoring.slack_channel %s has no incoming webhook; set its URL in "
            "account.yml (production: the environment variable OXY_MONITORING_SLACK_WEBHOOK, in AWX the Oxy "
            "monitoring credential), or remove slack_channel" % channel
        )
    elif channel and not webhook.startswith("https://"):
        problems.append(
            "oxy_monitoring_slack_webhook: the webhook of %s is not an https:// URL (the value is not shown)" % channel
        )
    if not emails and not channel:
        problems.append(
            "oxy_monitoring.emails: is empty and there is no slack_channel: nobody would be told; allowed: at least "
            "one email address or a Slack channel"
        )
    uptime = _dict(monitoring.get("uptime"))
    regions = _list(uptime.get("regions"))
    if "regions" in uptime and not regions:
        problems.append(
            "oxy_monitoring.uptime.regions: is empty; allowed: one or more of %s" % ", ".join(UPTIME_REGIONS)
        )
    for index, region in enumerate(regions):
        if region not in UPTIME_REGIONS:
            problems.append(
                "oxy_monitoring.uptime.regions[%d]: %r is not a region of uptime checks; allowed: %s"
                % (index, region, ", ".join(UPTIME_REGIONS))
            )
    for key, allowed in UPTIME_ALERT_TYPES.items():
        problems += _uptime_alert_problems("oxy_monitoring.uptime.%s" % key, uptime.get(key), allowed)
    for family in POLICY_METRICS:
        problems += _policy_problems("oxy_monitoring.%s" % family, monitoring.get(family), family)
    rules = _list(monitoring.get("app_alerts"))
    for index, rule in enumerate(rules):
        if rule not in APP_ALERT_RULES:
            problems.append(
                "oxy_monitoring.app_alerts[%d]: %r is not an App Platform alert rule of an app; allowed: %s"
                % (index, rule, ", ".join(APP_ALERT_RULES))
            )
        elif rules.index(rule) != index:
            problems.append(
                "oxy_monitoring.app_alerts[%d]: %s is also app_alerts[%d]" % (index, rule, rules.index(rule))
            )
    return problems


# -- Mail (oxy_mail): what port 25 takes, who submits on 587, the relay, DKIM and DMARC ---------------
LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")
LOCAL_PART_ALLOWED = "lowercase letters, digits and '.', '_', '+', '-' inside, up to 64, such as postmaster"
DKIM_SELECTOR = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DKIM_SELECTOR_ALLOWED = "one lowercase DNS label (letters, digits, '-' inside), such as oxy2026"
DKIM_PLACEHOLDER = "(public key of selector %s, made on the droplet)"
DKIM_PUBLIC_KEY = re.compile(r"[A-Za-z0-9+/]+={0,2}")
MAIL_PASSWORD_SET = "********"


def mail_spf(definition):
    """The zone's SPF record: ``oxy_dns.spf`` when given, else ``v=spf1 mx [include:<relay>] -all``."""
    dns = _dict(definition.get("oxy_dns"))
    if dns.get("spf"):
        return dns["spf"]
    relay = _dict(_dict(definition.get("oxy_mail")).get("relay"))
    include = relay.get("spf_include")
    return "v=spf1 mx %s-all" % ("include:%s " % include if include else "")


def mail_dmarc(definition):
    """The zone's _dmarc record: ``oxy_dns.dmarc`` when given, else built from ``oxy_mail.dmarc``."""
    dns = _dict(definition.get("oxy_dns"))
    if dns.get("dmarc"):
        return dns["dmarc"]
    dmarc = _dict(_dict(definition.get("oxy_mail")).get("dmarc"))
    parts = ["v=DMARC1", "p=%s" % dmarc.get("policy")]
    for key, tag in (("subdomain_policy", "sp"), ("adkim", "adkim"), ("aspf", "aspf"), ("pct", "pct")):
        if dmarc.get(key) not in (None, ""):
            parts.append("%s=%s" % (tag, dmarc[key]))
    for tag in ("rua", "ruf"):
        if _list(dmarc.get(tag)):
            parts.append("%s=%s" % (tag, ",".join("mailto:%s" % a for a in dmarc[tag])))
    return "; ".join(parts)


def mail_dkim_record(public_key):
    """The TXT record of one DKIM key (RSA), from the base64 of its DER SubjectPublicKeyInfo."""
    return "v=DKIM1; k=rsa; p=%s" % public_key


def mail_txt_records(definition, public_keys=None, placeholders=False):
    """Mail's TXT records of the zone, as ``oxy.infra.domain_record`` items: ``{name, data}`` to publish and
    ``{name, state: absent}`` for every retired DKIM selector.

    ``public_keys``: selector -> public key, what the droplet keeps (``api_stack_dkim_public_keys``). Every
    selector it keeps that is not retired is published. The current selector's key, not known (not made yet,
    or the droplet's tasks left out), is shown as a placeholder with ``placeholders`` (a plan of a droplet
    still to be made) and left as it is otherwise.
    """
    mail = _dict(definition.get("oxy_mail"))
    dkim = _dict(mail.get("dkim"))
    keys = _dict(public_keys)
    current = dkim.get("selector") or ""
    retired = [s for s in _list(dkim.get("retired")) if isinstance(s, str)]
    records = [{"name": "@", "data": mail_spf(definition)}, {"name": "_dmarc", "data": mail_dmarc(definition)}]
    selectors = ([current] if current else []) + sorted(s for s in keys if s != current and s not in retired)
    for selector in selectors:
        if keys.get(selector):
            records.append({"name": selector + "._domainkey", "data": mail_dkim_record(keys[selector])})
        elif placeholders:
            records.append({"name": selector + "._domainkey", "data": DKIM_PLACEHOLDER % selector})
    for selector in retired:
        if selector != current:
            records.append({"name": selector + "._domainkey", "state": "absent"})
    return records


def _address_problems(path, value, domain=None):
    if not isinstance(value, str) or not EMAIL.fullmatch(value) or value != value.strip():
        return ["%s: %r is not an email address" % (path, value)]
    if domain and value.rsplit("@", 1)[1].lower() != domain:
        return ["%s: %r is not an address of %s (mail is signed for that domain only)" % (path, value, domain)]
    return []


def _local_part_problems(path, value):
    if not isinstance(value, str) or not LOCAL_PART.fullmatch(value):
        return ["%s: %r is not a local part; allowed: %s" % (path, value, LOCAL_PART_ALLOWED)]
    return []


def _mailbox_problems(mail, domain):
    problems = []
    mailboxes = _list(mail.get("mailboxes"))
    if not mailboxes:
        problems.append("oxy_mail.mailboxes: is empty; allowed: at least postmaster (RFC 5321 requires it)")
    for index, box in enumerate(mailboxes):
        problems += _local_part_problems("oxy_mail.mailboxes[%d]" % index, box)
    problems += unique_problems(
        [("oxy_mail.mailboxes[%d]" % i, b, "oxy_mail.mailboxes[%d]" % i) for i, b in enumerate(mailboxes)],
        "mailbox",
        "each mailbox once",
    )
    if mailboxes and all(isinstance(b, str) for b in mailboxes) and "postmaster" not in mailboxes:
        problems.append("oxy_mail.mailboxes: has no postmaster; RFC 5321 requires postmaster@ to take mail")
    aliases = _dict(mail.get("aliases"))
    local = set(b for b in mailboxes if isinstance(b, str))
    for name in sorted(aliases, key=str):
        path = "oxy_mail.aliases.%s" % name
        problems += _local_part_problems(path, name)
        if name in local:
            problems.append("%s: %r is also a mailbox (oxy_mail.mailboxes); keep it in one of them" % (path, name))
        targets = aliases[name]
        if not isinstance(targets, list) or not targets:
            problems.append("%s: %r is not a list of addresses to forward to" % (path, targets))
            continue
        for index, target in enumerate(targets):
            found = _address_problems("%s[%d]" % (path, index), target)
            if not found and domain and target.rsplit("@", 1)[1].lower() == domain:
                part = target.rsplit("@", 1)[0]
                if part not in local and part not in aliases:
                    found = [
                        "%s[%d]: %r is an address of %s that is neither a mailbox nor an alias; its mail would be "
                        "refused" % (path, index, target, domain)
                    ]
            problems += found
    return problems


def _relay_problems(mail, definition):
    relay = mail.get("relay")
    if relay in (None, "", {}):
        return []
    if not isinstance(relay, dict):
        return ["oxy_mail.relay: %r is not a relay (host, port, username, spf_include) nor empty" % (relay,)]
    problems = []
    for field in ("host", "port", "username", "spf_include"):
        if relay.get(field) in (None, ""):
            problems.append("oxy_mail.relay.%s: is missing; a relay needs host, port, username and spf_include" % field)
    if relay.get("host"):
        problems += name_problems("oxy_mail.relay.host", relay["host"], "domain")
    if relay.get("spf_include"):
        problems += name_problems("oxy_mail.relay.spf_include", relay["spf_include"], "domain")
    port = _int(relay.get("port")) if relay.get("port") not in (None, "") else None
    if relay.get("port") not in (None, "") and (port is None or not 1 <= port <= 65535):
        problems.append("oxy_mail.relay.port: %r is not a port; allowed: 1 to 65535 (such as 587)" % relay["port"])
    elif port == 25:
        problems.append(
            "oxy_mail.relay.port: 25 is the port DigitalOcean blocks for droplets; allowed: the relay's submission "
            "port (587, or 465)"
        )
    if not definition.get("oxy_mail_relay_password"):
        problems.append(
            "oxy_mail_relay_password: oxy_mail.relay %s has no password; set it in account.yml (in production "
            "OXY_MAIL_RELAY_PASSWORD, or AWX's Oxy mail credential), or empty oxy_mail_relay" % relay.get("host")
        )
    return problems


def _sender_problems(mail, definition, domain):
    problems = []
    senders = _list(mail.get("senders"))
    passwords = definition.get("oxy_mail_sender_passwords")
    passwords = passwords if isinstance(passwords, dict) else {}
    names = []
    for index, sender in enumerate(senders):
        path = "oxy_mail.senders[%d]" % index
        sender = _dict(sender)
        username = sender.get("username")
        problems += name_problems(path + ".username", username, "user")
        names.append((path + ".username", username, path))
        addresses = _list(sender.get("addresses"))
        if not addresses:
            problems.append("%s.addresses: is empty; a sender sends from at least one address" % path)
        for position, address in enumerate(addresses):
            problems += _address_problems("%s.addresses[%d]" % (path, position), address, domain)
        if isinstance(username, str) and not passwords.get(username):
            problems.append(
                "oxy_mail_sender_passwords.%s: the sender %s (%s) has no password; set it in account.yml (in "
                "production OXY_MAIL_SENDER_PASSWORDS, or AWX's Oxy mail credential)" % (username, username, path)
            )
    problems += unique_problems(names, "username", "each sender once")
    usernames = [entry[1] for entry in names if isinstance(entry[1], str)]
    for username in sorted(set(passwords) - set(usernames), key=str):
        problems.append(
            "oxy_mail_sender_passwords.%s: is the password of no sender of oxy_mail.senders (%s)"
            % (username, _quoted(usernames))
        )
    api_sender = mail.get("api_sender")
    if api_sender and api_sender not in usernames:
        problems.append(
            "oxy_mail.api_sender: %r is not a sender; allowed: a username of oxy_mail.senders (%s)"
            % (api_sender, _quoted(usernames))
        )
    return problems


def _dkim_problems(mail, definition):
    problems = []
    dkim = _dict(mail.get("dkim"))
    selector = dkim.get("selector")
    if not isinstance(selector, str) or not DKIM_SELECTOR.fullmatch(selector):
        problems.append("oxy_mail.dkim.selector: %r is not a selector; allowed: %s" % (selector, DKIM_SELECTOR_ALLOWED))
    retired = _list(dkim.get("retired"))
    for index, old in enumerate(retired):
        path = "oxy_mail.dkim.retired[%d]" % index
        if not isinstance(old, str) or not DKIM_SELECTOR.fullmatch(old):
            problems.append("%s: %r is not a selector; allowed: %s" % (path, old, DKIM_SELECTOR_ALLOWED))
        elif old == selector:
            problems.append(
                "%s: %r is the selector mail is signed with (oxy_mail.dkim.selector); retire a selector only after "
                "a new one took its place" % (path, old)
            )
    problems += unique_problems(
        [("oxy_mail.dkim.retired[%d]" % i, s, "oxy_mail.dkim.retired[%d]" % i) for i, s in enumerate(retired)],
        "selector",
        "retire each once",
    )
    for name, key in sorted(_dict(definition.get("oxy_mail_dkim_public_keys")).items(), key=str):
        if not isinstance(key, str) or not DKIM_PUBLIC_KEY.fullmatch(key):
            problems.append(
                "oxy_mail_dkim_public_keys.%s: is not a public key (the base64 of a DER SubjectPublicKeyInfo)" % name
            )
    return problems


def _dmarc_field_problems(mail, domain):
    dmarc = mail.get("dmarc")
    if not isinstance(dmarc, dict):
        return []
    problems = []
    for field in ("policy", "subdomain_policy"):
        value = dmarc.get(field)
        if (field == "policy" or value not in (None, "")) and value not in DMARC_POLICIES:
            problems.append(
                "oxy_mail.dmarc.%s: %r is not a DMARC policy; allowed: %s" % (field, value, ", ".join(DMARC_POLICIES))
            )
    for field in ("adkim", "aspf"):
        if dmarc.get(field) not in (None, "", "r", "s"):
            problems.append(
                "oxy_mail.dmarc.%s: %r is not an alignment; allowed: r (relaxed), s (strict)" % (field, dmarc[field])
            )
    pct = dmarc.get("pct")
    if pct not in (None, "") and (_int(pct) is None or not 0 <= _int(pct) <= 100):
        problems.append("oxy_mail.dmarc.pct: %r is not a share; allowed: 0 to 100" % (pct,))
    for field in ("rua", "ruf"):
        for index, address in enumerate(_list(dmarc.get(field))):
            problems += _address_problems("oxy_mail.dmarc.%s[%d]" % (field, index), address)
    return problems


def mail_problems(definition):
    """Mail as the droplet can serve it and DNS can publish it (oxy_mail, with the secrets' presence only)."""
    mail = definition.get("oxy_mail")
    if not isinstance(mail, dict):
        return []
    domain = _dict(definition.get("oxy_dns")).get("domain")
    domain = domain.lower() if isinstance(domain, str) else None
    problems = []
    problems += _mailbox_problems(mail, domain)
    problems += _relay_problems(mail, definition)
    problems += _sender_problems(mail, definition, domain)
    problems += _dkim_problems(mail, definition)
    problems += _dmarc_field_problems(mail, domain)
    dns = _dict(definition.get("oxy_dns"))
    if not problems and not dns.get("spf"):
        problems += spf_problems("oxy_mail.relay.spf_include (the SPF record it makes)", mail_spf(definition))
    if not problems and not dns.get("dmarc"):
        problems += dmarc_problems("oxy_mail.dmarc (the DMARC record it makes)", mail_dmarc(definition))
    return problems


# Droplet backups (oxy_droplet.backups): DigitalOcean's backup_policy, checked before any write.
BACKUP_PLANS = ("daily", "weekly")
BACKUP_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
BACKUP_HOURS = (0, 4, 8, 12, 16, 20)  # UTC starts of the four-hour backup windows


def backup_problems(definition):
    """``oxy_droplet.backups``: on or off, and when it is on, a policy DigitalOcean takes."""
    backups = _dict(definition.get("oxy_droplet")).get("backups")
    if backups is None:
        return []
    path = "oxy_droplet.backups"
    if not isinstance(backups, dict):
        return ["%s: %r is not a mapping; allowed: enabled, plan, weekday, hour" % (path, backups)]
    problems = []
    enabled = backups.get("enabled")
    if not isinstance(enabled, bool):
        problems.append("%s.enabled: %r is not true or false" % (path, enabled))
    policy = [k for k in ("plan", "weekday", "hour") if backups.get(k) is not None]
    if enabled is False:
        if policy:
            problems.append(
                "%s: %s set while enabled is false; a backup policy needs backups on (remove it, or enable backups)"
                % (path, ", ".join(policy))
            )
        return problems
    plan = backups.get("plan")
    if plan not in BACKUP_PLANS:
        problems.append("%s.plan: %r is not a backup plan; allowed: %s" % (path, plan, ", ".join(BACKUP_PLANS)))
    weekday = backups.get("weekday")
    if weekday is not None:
        if weekday not in BACKUP_WEEKDAYS:
            problems.append(
                "%s.weekday: %r is not a weekday; allowed: %s" % (path, weekday, ", ".join(BACKUP_WEEKDAYS))
            )
        elif plan == "daily":
            problems.append("%s.weekday: %s is set, but a daily plan has no weekday (only weekly)" % (path, weekday))
    elif plan == "weekly":
        problems.append("%s.weekday: a weekly plan needs its day; allowed: %s" % (path, ", ".join(BACKUP_WEEKDAYS)))
    hour = backups.get("hour")
    if hour is not None and _int(hour) not in BACKUP_HOURS:
        problems.append(
            "%s.hour: %r is not the start of a backup window; allowed (UTC): %s"
            % (path, hour, ", ".join(str(h) for h in BACKUP_HOURS))
        )
    return problems


def snapshot_problems(definition):
    """``oxy_droplet.snapshots``: whether a resize takes a snapshot first, and how many of them are kept."""
    snapshots = _dict(definition.get("oxy_droplet")).get("snapshots")
    if snapshots is None:
        return []
    path = "oxy_droplet.snapshots"
    if not isinstance(snapshots, dict):
        return ["%s: %r is not a mapping; allowed: before_resize, keep" % (path, snapshots)]
    problems = []
    if not isinstance(snapshots.get("before_resize"), bool):
        problems.append("%s.before_resize: %r is not true or false" % (path, snapshots.get("before_resize")))
    keep = snapshots.get("keep")
    if keep is not None and (_int(keep) is None or _int(keep) < 1):
        problems.append(
            "%s.keep: %r is not a number of snapshots to keep; allowed: a whole number, at least 1 "
            "(leave it out to delete none)" % (path, keep)
        )
    return problems


def account_problems(definition, account):
    """The region, the droplet size and the clusters' engine, version, region and layout, as the account offers."""
    regions = {r.get("slug"): r for r in _list(account.get("regions")) if isinstance(r, dict)}
    sizes = {s.get("slug"): s for s in _list(account.get("sizes")) if isinstance(s, dict)}
    options = _dict(_dict(account.get("database_options")).get("options"))
    region = definition.get("oxy_region")
    problems = []
    if region not in regions or not regions[region].get("available", True):
        available = [slug for slug, r in regions.items() if r.get("available", True)]
        problems.append("oxy_region: %r is not a region of the account; allowed: %s" % (region, _quoted(available)))
        region = None  # what the account offers there is moot
    for path, droplet in _droplets(definition) if region else []:
        size = droplet.get("size")
        here = [slug for slug, s in sizes.items() if s.get("available", True) and region in (s.get("regions") or [])]
        if size not in here:
            problems.append(
                "%s.size: %r is not a droplet size the account offers in %s; allowed: %s"
                % (path, size, region, _quoted(here))
            )
    for path, cluster in _clusters(definition):
        engine = cluster.get("engine")
        if engine not in options:
            problems.append(
                "%s.engine: %r is not a database engine of the account; allowed: %s" % (path, engine, _quoted(options))
            )
            continue
        offer = _dict(options[engine])
        versions = [str(v) for v in _list(offer.get("versions"))]
        if str(cluster.get("version")) not in versions:
            problems.append(
                "%s.version: %r is not a %s version the account offers; allowed: %s"
                % (path, cluster.get("version"), engine, _quoted(versions))
            )
        if region and region not in _list(offer.get("regions")):
            problems.append(
                "oxy_region: %s clusters (%s) are not offered in %r; allowed: %s"
                % (engine, path, region, _quoted(offer.get("regions") or []))
            )
        layouts = {layout.get("num_nodes"): layout.get("sizes") or [] for layout in _list(offer.get("layouts"))}
        nodes = cluster.get("num_nodes")
        if nodes not in layouts:
            problems.append(
                "%s.num_nodes: %r nodes is not a %s layout of the account; allowed: %s"
                % (path, nodes, engine, _quoted(layouts))
            )
        elif cluster.get("size") not in layouts[nodes]:
            problems.append(
                "%s.size: %r is not offered for %s nodes of %s; allowed: %s"
                % (path, cluster.get("size"), nodes, engine, _quoted(layouts[nodes]))
            )
    return problems


def environment_problems(definition, account=None, max_source_share=None):
    """Every problem of ``definition`` (the ``oxy_*`` variables) a spec cannot express, as messages.

    ``account`` is the result of ``oxy.infra.account_info``; without it the account's catalog is not checked.
    """
    if not isinstance(definition, dict):
        raise AnsibleFilterError("environment_problems: expects the definition as a dict, got %r" % (definition,))
    if max_source_share is not None:
        try:
            max_source_share = Fraction(max_source_share).limit_denominator(2**64)
        except (TypeError, ValueError):
            return ["oxy_max_source_share: %r is not a number; allowed: a share above 0 and below 1" % max_source_share]
        if not 0 < max_source_share < 1:
            return ["oxy_max_source_share: %s is outside (0, 1); allowed: a share such as 1/65536" % max_source_share]
    problems = []
    problems += firewall_problems(definition, max_source_share)
    problems += world_open_problems(definition)
    problems += node_env_problems(definition)
    problems += uniqueness_problems(definition)
    problems += naming_problems(definition)
    problems += reserved_name_problems(definition)
    problems += image_tag_problems(definition)
    problems += app_region_problems(definition)
    problems += app_domain_problems(definition)
    problems += dns_problems(definition)
    problems += credential_problems(definition)
    problems += registry_problems(definition)
    problems += monitoring_problems(definition)
    problems += mail_problems(definition)
    problems += backup_problems(definition)
    problems += snapshot_problems(definition)
    if account:
        problems += account_problems(definition, account)
    return problems


class FilterModule:
    def filters(self):
        return {"environment_problems": environment_problems, "mail_txt_records": mail_txt_records}
