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

# Names as DigitalOcean accepts them.
NAME_RULES = {
    "droplet": (r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$", "letters, digits, '.' and '-', up to 253"),
    "tag": (r"^[a-zA-Z0-9_:-]{1,255}$", "letters, digits, '_', ':' and '-', up to 255"),
    "vpc": (r"^[a-zA-Z0-9.-]{1,255}$", "letters, digits, '.' and '-', up to 255"),
    "firewall": (r"^[a-zA-Z0-9][a-zA-Z0-9.-]{1,254}$", "letters, digits, '.' and '-', 2 to 255, not starting with '.'"),
    "cluster": (r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$", "3 to 63 lowercase letters, digits and '-', starting with a letter"),
    "app": (r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$", "2 to 32 lowercase letters, digits and '-', starting with a letter"),
    "user": (r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,62}$", "1 to 63 letters, digits, '_', '.' and '-'"),
    "database": (r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}$", "1 to 63 letters, digits, '_' and '-'"),
    "image_tag": (r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$", "1 to 128 letters, digits, '_', '.' and '-'"),
}
PORTS = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
SSH_PORT = 22


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
    covered = {4: [], 6: []}
    for index, value in enumerate(sources):
        where = "%s[%d]" % (path, index)
        network = parse_network(value)
        if network is None:
            problems.append("%s: %r is not an IPv4 or IPv6 address or CIDR (such as 203.0.113.7/32)" % (where, value))
            continue
        covered[network.version].append(network)
        ipv4 = as_ipv4(network) if network.version == 6 else None
        if ipv4 is not None:
            covered[4].append(ipv4)
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
    for version, networks in covered.items():
        if WHOLE_SPACE[version] in networks:
            continue  # one source is the whole space, told above
        if networks and WHOLE_SPACE[version] in ipaddress.collapse_addresses(networks):
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
    match = PORTS.match(ports) if isinstance(ports, str) else None
    if not match:
        return ["%s: %r is not a port; %s" % (path, ports, allowed)]
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= low <= high <= 65535:
        return ["%s: %r is outside 1-65535 or reversed; %s" % (path, ports, allowed)]
    return []


def reaches_port(ports, port):
    if ports in ("0", "all", None):
        return True
    match = PORTS.match(str(ports))
    return bool(match) and int(match.group(1)) <= port <= int(match.group(2) or match.group(1))


def name_problems(path, value, kind):
    pattern, allowed = NAME_RULES[kind]
    if not isinstance(value, str) or not re.match(pattern, value):
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


def app_region_problems(definition):
    region = definition.get("oxy_region")
    family = re.sub(r"\d+$", "", region) if isinstance(region, str) else None
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
    problems += node_env_problems(definition)
    problems += uniqueness_problems(definition)
    problems += naming_problems(definition)
    problems += image_tag_problems(definition)
    problems += app_region_problems(definition)
    problems += credential_problems(definition)
    if account:
        problems += account_problems(definition, account)
    return problems


class FilterModule:
    def filters(self):
        return {"environment_problems": environment_problems}
