"""The environment_problems filter: every check, on a definition shaped like the stock one."""

from __future__ import annotations

import copy
import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.oxy.infra.plugins.filter.environment import (
    as_ipv4,
    dmarc_problems,
    environment_problems,
    mail_txt_records,
    max_prefix,
    port_problems,
    source_problems,
    spf_problems,
    whole_families,
)

ANYWHERE = ["0.0.0.0/0", "::/0"]
SSH = ["203.0.113.7/32", "198.51.100.0/28"]


def app(name, short, region="ams", in_vpc=True, database=None, domain=None, external=None):
    entry = {"name": name, "app": short, "region": region, "in_vpc": in_vpc, "component": "web"}
    if database:
        entry["database"] = database
    if domain:
        entry["domain"] = domain
    if external is not None:
        entry["external"] = external
    return entry


STOCK = {
    "oxy_region": "ams3",
    "oxy_vpc": {"name": "default-ams3", "description": "Oxy production network"},
    "oxy_project": {
        "name": "Oxy",
        "purpose": "Service or API",
        "environment": "Production",
        "description": "Oxy production environment",
    },
    "oxy_node_env": "production",
    "oxy_env_suffixes": {"production": "prod", "development": "dev"},
    "oxy_droplet": {
        "name": "oxy-api-backend",
        "size": "s-2vcpu-4gb",
        "image": "ubuntu-24-04-x64",
        "tags": ["oxy", "api"],
        "monitoring": True,
    },
    "oxy_droplet_firewall": {
        "name": "oxy-api-backend",
        "inbound_rules": [
            {"protocol": "tcp", "ports": "22", "sources": {"addresses": SSH}},
            {"protocol": "tcp", "ports": "80", "sources": {"addresses": ANYWHERE}},
            {"protocol": "tcp", "ports": "443", "sources": {"addresses": ANYWHERE}},
            {"protocol": "tcp", "ports": "25", "sources": {"addresses": ANYWHERE}},
            {"protocol": "tcp", "ports": "587", "sources": {"addresses": ANYWHERE}},
        ],
        "world_open_ports": {"tcp": [80, 443, 25, 587], "udp": []},
        "outbound_rules": [
            {"protocol": "tcp", "ports": "all", "destinations": {"addresses": ANYWHERE}},
            {"protocol": "udp", "ports": "all", "destinations": {"addresses": ANYWHERE}},
            {"protocol": "icmp", "ports": "0", "destinations": {"addresses": ANYWHERE}},
        ],
    },
    "oxy_mongodb": {"name": "db-oxy", "engine": "mongodb", "version": "8.0", "size": "db-s-1vcpu-2gb", "num_nodes": 3},
    "oxy_valkey": {
        "name": "db-valkey-ams3-04785",
        "engine": "valkey",
        "version": "8",
        "size": "db-s-1vcpu-2gb",
        "num_nodes": 1,
        "eviction_policy": "volatile_lru",
    },
    "oxy_apps": [
        app("oxy-api", "oxy", domain="auth.oxy.so"),
        app("mention-production", "mention", database="mention-production", domain="mention.earth", external=True),
        app("allo-app", "allo", region="nyc", in_vpc=False, database="allo-production", domain="allo.oxy.so"),
    ],
    "oxy_dns": {"domain": "oxy.so", "api": "api", "mail": "mail", "ttl": 1800, "spf": "v=spf1 mx -all"},
    "oxy_ssh_allowed_cidrs": SSH,
    "oxy_app_image_tags": {"oxy-api": "2026.11.1", "mention-production": "2026.11.1", "allo-app": "2026.11.1"},
}

ACCOUNT = {
    "regions": [
        {"slug": "ams3", "available": True},
        {"slug": "nyc3", "available": True},
        {"slug": "ams2", "available": False},
    ],
    "sizes": [
        {"slug": "s-2vcpu-4gb", "available": True, "regions": ["ams3", "nyc3"]},
        {"slug": "s-1vcpu-1gb", "available": True, "regions": ["nyc3"]},
    ],
    "database_options": {
        "options": {
            "mongodb": {
                "versions": ["8.0", "7.0"],
                "regions": ["ams3", "nyc3"],
                "layouts": [
                    {"num_nodes": 1, "sizes": ["db-s-1vcpu-1gb", "db-s-1vcpu-2gb"]},
                    {"num_nodes": 3, "sizes": ["db-s-1vcpu-2gb"]},
                ],
            },
            "valkey": {
                "versions": ["8"],
                "regions": ["ams3"],
                "layouts": [{"num_nodes": 1, "sizes": ["db-s-1vcpu-1gb", "db-s-1vcpu-2gb"]}],
            },
        }
    },
}


def changed(**changes):
    definition = copy.deepcopy(STOCK)
    for key, value in changes.items():
        definition[key] = value
    return definition


def problems_of(definition, **kwargs):
    return environment_problems(definition, ACCOUNT, **kwargs)


def one_problem(definition, field, **kwargs):
    problems = problems_of(definition, **kwargs)
    assert len(problems) == 1, problems
    assert problems[0].startswith(field + ": "), problems
    return problems[0]


def test_the_stock_definition_has_no_problem():
    assert problems_of(STOCK) == []
    assert environment_problems(STOCK) == []  # without the account, its catalog is not checked


def test_the_definition_must_be_a_dict():
    with pytest.raises(AnsibleFilterError):
        environment_problems(["oxy_region"])


# -- SSH sources, parsed as networks ----------------------------------------------------------------
@pytest.mark.parametrize(
    "sources",
    [
        ["0.0.0.0/0"],
        ["::/0"],
        ["0::0/0"],
        ["0:0:0:0:0:0:0:0/0"],
        ["::ffff:0:0/96"],
        ["::ffff:0.0.0.0/96"],
        ["64:ff9b::/96"],
        ["0.0.0.0/1", "128.0.0.0/1"],
        ["::/1", "8000::/1"],
        ["10.0.0.0/8"],
        ["203.0.113.0/15"],
        ["::ffff:10.0.0.0/104"],  # 10.0.0.0/8, spelled in IPv6
        ["2001:db8::/12"],
    ],
)
def test_ssh_sources_wider_than_the_share_are_refused(sources):
    problems = problems_of(changed(oxy_ssh_allowed_cidrs=sources))
    assert problems[0].startswith("oxy_ssh_allowed_cidrs[0]: "), problems
    assert "an SSH source may cover at most 1/65536" in problems[0]
    assert all(p.startswith("oxy_ssh_allowed_cidrs") for p in problems), problems
    if len(sources) > 1:  # halves: each is too wide, and together they are the world
        assert "together, %s cover every" % ", ".join(sources) in problems[-1]


@pytest.mark.parametrize(
    "sources",
    [
        ["203.0.113.7/32"],
        ["203.0.113.7"],
        ["10.1.0.0/16"],
        ["2001:db8::/48"],
        ["::ffff:203.0.113.7/128"],
        ["203.0.113.7/32", "2001:db8::1/128"],
    ],
)
def test_restricted_ssh_sources_pass(sources):
    assert problems_of(changed(oxy_ssh_allowed_cidrs=sources)) == []


@pytest.mark.parametrize(
    ("sources", "field", "expected"),
    [
        ([], "oxy_ssh_allowed_cidrs", "is empty"),
        (["nope"], "oxy_ssh_allowed_cidrs[0]", "is not an IPv4 or IPv6 address or CIDR"),
        (["203.0.113.7/32", "203.0.113.7/33"], "oxy_ssh_allowed_cidrs[1]", "is not an IPv4 or IPv6"),
        (["300.0.0.1/32"], "oxy_ssh_allowed_cidrs[0]", "is not an IPv4 or IPv6"),
        ([" 203.0.113.7/32"], "oxy_ssh_allowed_cidrs[0]", "is not an IPv4 or IPv6"),
        ([32], "oxy_ssh_allowed_cidrs[0]", "is not an IPv4 or IPv6"),
    ],
)
def test_ssh_sources_must_be_networks(sources, field, expected):
    assert expected in one_problem(changed(oxy_ssh_allowed_cidrs=sources), field)


def test_the_share_is_configurable():
    wide = changed(oxy_ssh_allowed_cidrs=["10.0.0.0/8"])
    assert problems_of(wide, max_source_share=1 / 256) == []
    assert "at most 1/512" in one_problem(wide, "oxy_ssh_allowed_cidrs[0]", max_source_share=1 / 512)
    assert "an IPv4 /9, an IPv6 /9" in problems_of(wide, max_source_share=1 / 512)[0]


@pytest.mark.parametrize("share", [0, 1, 2, -0.5, "half"])
def test_the_share_must_be_a_fraction(share):
    assert one_problem(STOCK, "oxy_max_source_share", max_source_share=share)


def test_sources_that_together_cover_a_family_are_refused_whatever_the_share():
    halves = changed(oxy_ssh_allowed_cidrs=["0.0.0.0/1", "::ffff:128.0.0.0/97"])
    message = one_problem(halves, "oxy_ssh_allowed_cidrs", max_source_share=0.5)
    assert "together, 0.0.0.0/1, ::ffff:128.0.0.0/97 cover every IPv4 address" in message
    quarters = ["::/2", "4000::/2", "8000::/2", "c000::/2"]
    problems = source_problems("x", quarters, max_share=0.25)
    assert problems[0].startswith("x[0]: ::/2 stands for 0.0.0.0/0")  # it holds ::ffff:0:0/96
    assert problems[1].startswith("x: together, ::/2, 4000::/2, 8000::/2, c000::/2 cover every IPv6 address")


def test_an_inbound_rule_reaching_ssh_is_held_to_the_same_rules():
    definition = changed()
    definition["oxy_droplet_firewall"]["inbound_rules"].append(
        {"protocol": "tcp", "ports": "1-1024", "sources": {"addresses": ANYWHERE}}
    )
    problems = problems_of(definition)
    assert [p.split(":")[0] for p in problems] == [
        "oxy_droplet_firewall.inbound_rules[5].sources.addresses[0]",
        "oxy_droplet_firewall.inbound_rules[5].sources.addresses[1]",
        "oxy_droplet_firewall.inbound_rules[5]",  # and it opens more than the world's ports
    ]


def test_web_rules_may_be_open_but_their_addresses_must_parse():
    definition = changed()
    definition["oxy_droplet_firewall"]["outbound_rules"][0]["destinations"]["addresses"] = ["0.0.0.0/0", "::/129"]
    one_problem(definition, "oxy_droplet_firewall.outbound_rules[0].destinations.addresses[1]")


def test_ipv4_written_as_ipv6():
    assert as_ipv4(ipaddress.ip_network("::ffff:10.0.0.0/104")) == ipaddress.ip_network("10.0.0.0/8")
    assert as_ipv4(ipaddress.ip_network("::/64")) == ipaddress.ip_network("0.0.0.0/0")
    assert as_ipv4(ipaddress.ip_network("2001:db8::/32")) is None
    assert max_prefix(1 / 65536, 32) == 16


# -- Ports ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("protocol", "ports"),
    [("tcp", "22"), ("tcp", 22), ("udp", "8000-9000"), ("tcp", "all"), ("udp", "0"), ("tcp", "65535"), ("icmp", "0")],
)
def test_ports_digitalocean_accepts(protocol, ports):
    assert port_problems("p", protocol, ports) == []


@pytest.mark.parametrize(
    ("protocol", "ports"),
    [
        ("tcp", "70000"),
        ("tcp", "0-80"),
        ("tcp", "9000-8000"),
        ("udp", "22,80"),
        ("tcp", "ssh"),
        ("tcp", ""),
        ("tcp", "-1"),
        ("icmp", "22"),
        ("icmp", "all"),
    ],
)
def test_ports_digitalocean_refuses(protocol, ports):
    [message] = port_problems("oxy_droplet_firewall.inbound_rules[0].ports", protocol, ports)
    assert message.startswith("oxy_droplet_firewall.inbound_rules[0].ports: ")


def test_a_bad_port_is_named_by_its_rule():
    definition = changed()
    definition["oxy_droplet_firewall"]["inbound_rules"][1]["ports"] = "70000"
    assert "outside 1-65535" in one_problem(definition, "oxy_droplet_firewall.inbound_rules[1].ports")


@pytest.mark.parametrize("ports", ["22\n", "80\n", "\u0662\u0662", "8000-9000\n", " 22"])
def test_ports_are_matched_whole_and_in_ascii_digits(ports):
    [message] = port_problems("p", "tcp", ports)
    assert message.startswith("p: %r is not a port" % ports)


# -- What faces the world ---------------------------------------------------------------------------
def with_inbound(*rules, **allow):
    definition = changed()
    definition["oxy_droplet_firewall"]["inbound_rules"] += [
        {"protocol": protocol, "ports": ports, "sources": {"addresses": addresses}}
        for protocol, ports, addresses in rules
    ]
    definition["oxy_droplet_firewall"]["world_open_ports"].update(allow)
    return definition


@pytest.mark.parametrize(
    ("protocol", "ports", "addresses", "families", "outside"),
    [
        ("tcp", "23-65535", ANYWHERE, "IPv4 and IPv6", "ports 23-24, 26-79, 81-442, 444-586, 588-65535 are not on"),
        ("udp", "1-65535", ["::/0"], "IPv4 and IPv6", "ports 1-65535 are not on oxy_droplet_firewall.world_open_ports"),
        ("tcp", "all", ["0.0.0.0/0"], "IPv4", "ports 1-24, 26-79, 81-442, 444-586, 588-65535 are not on"),
        ("udp", "0", ANYWHERE, "IPv4 and IPv6", "ports 1-65535 are not on oxy_droplet_firewall.world_open_ports.udp"),
        ("tcp", "8080", ["0.0.0.0/1", "128.0.0.0/1"], "IPv4", "port 8080 is not on"),
        ("tcp", "3306", ["::ffff:0:0/96"], "IPv4", "port 3306 is not on"),
        ("tcp", "3306", ["0::0/0"], "IPv4 and IPv6", "port 3306 is not on"),
        ("tcp", 8080, ["2000::/3", "::/3", "4000::/2", "8000::/1"], "IPv4 and IPv6", "port 8080 is not on"),
        (
            "udp",
            "443",
            ANYWHERE,
            "IPv4 and IPv6",
            "port 443 is not on oxy_droplet_firewall.world_open_ports.udp (empty",
        ),
        ("tcp", "80-443", ANYWHERE, "IPv4 and IPv6", "ports 81-442 are not on"),
    ],
)
def test_a_rule_open_to_the_world_must_be_on_the_allow_list(protocol, ports, addresses, families, outside):
    problems = problems_of(with_inbound((protocol, ports, addresses)))
    # A tcp rule that reaches port 22 is also told as an SSH source (its addresses), not again here.
    [message] = [p for p in problems if p.startswith("oxy_droplet_firewall.inbound_rules[5]: ")]
    assert all(p.startswith("oxy_droplet_firewall.inbound_rules[5]") for p in problems), problems
    assert "%s %s from %s is open to every %s address" % (protocol, ports, ", ".join(addresses), families) in message
    assert outside in message


def test_the_allow_list_is_named_with_what_it_holds():
    message = one_problem(with_inbound(("tcp", "23-65535", ANYWHERE)), "oxy_droplet_firewall.inbound_rules[5]")
    assert message == (
        "oxy_droplet_firewall.inbound_rules[5]: tcp 23-65535 from 0.0.0.0/0, ::/0 is open to every IPv4 and IPv6 "
        "address, and ports 23-24, 26-79, 81-442, 444-586, 588-65535 are not on "
        "oxy_droplet_firewall.world_open_ports.tcp (25, 80, 443, 587); open only listed ports to the world, "
        "or narrow the sources"
    )


@pytest.mark.parametrize(
    ("protocol", "ports", "addresses"),
    [
        ("tcp", "443", ["::/0"]),
        ("tcp", "25", ["0.0.0.0/0"]),
        ("tcp", "8080", ["203.0.113.0/24"]),
        ("udp", "1-65535", ["10.0.0.0/8", "2001:db8::/32"]),
        ("udp", "all", ["0.0.0.0/1"]),  # half of the world is not the world
        ("icmp", "0", ANYWHERE),  # no ports
    ],
)
def test_rules_on_the_list_or_not_open_to_the_world_pass(protocol, ports, addresses):
    assert problems_of(with_inbound((protocol, ports, addresses))) == []


def test_the_allow_list_lives_in_the_definition():
    assert problems_of(with_inbound(("udp", "443", ANYWHERE), udp=[443])) == []
    assert problems_of(with_inbound(("tcp", "8000-8002", ANYWHERE), tcp=[80, 443, 25, 587, 8000, 8001, 8002])) == []
    problems = problems_of(with_inbound(tcp=[443]))
    assert [p.split(": ")[0] for p in problems] == [
        "oxy_droplet_firewall.inbound_rules[1]",
        "oxy_droplet_firewall.inbound_rules[3]",
        "oxy_droplet_firewall.inbound_rules[4]",
    ]
    assert "port 80 is not on oxy_droplet_firewall.world_open_ports.tcp (443)" in problems[0]


def test_rules_that_together_open_a_port_to_the_world_are_refused():
    definition = with_inbound(
        ("tcp", "3306", ["0.0.0.0/1"]),
        ("tcp", "3306", ["128.0.0.0/1"]),
        ("tcp", "3306", ["203.0.113.0/24"]),  # not needed for the whole: not named
    )
    message = one_problem(definition, "oxy_droplet_firewall.inbound_rules")
    assert (
        "together, [5] tcp 3306 from 0.0.0.0/1 and [6] tcp 3306 from 128.0.0.0/1 are open to every IPv4 address, "
        "and port 3306 is not on oxy_droplet_firewall.world_open_ports.tcp" in message
    )


def test_rules_together_count_where_their_ports_overlap():
    definition = with_inbound(("udp", "1000-2000", ["0.0.0.0/1"]), ("udp", "1500-3000", ["::ffff:128.0.0.0/97"]))
    message = one_problem(definition, "oxy_droplet_firewall.inbound_rules")
    assert "every IPv4 address, and ports 1500-2000 are not on oxy_droplet_firewall.world_open_ports.udp" in message


def test_rules_together_on_listed_ports_pass():
    assert problems_of(with_inbound(("tcp", "443", ["0.0.0.0/1"]), ("tcp", "443", ["128.0.0.0/1"]))) == []


@pytest.mark.parametrize(
    ("allow", "field", "expected"),
    [
        ({"tcp": [80, 443, 25, 587, 22]}, "oxy_droplet_firewall.world_open_ports.tcp[4]", "22 is SSH, which is never"),
        ({"udp": [70000]}, "oxy_droplet_firewall.world_open_ports.udp[0]", "70000 is not a port"),
        ({"tcp": [80, 443, 25, 587, "x"]}, "oxy_droplet_firewall.world_open_ports.tcp[4]", "'x' is not a port"),
    ],
)
def test_the_allow_list_itself_is_checked(allow, field, expected):
    assert expected in one_problem(with_inbound(**allow), field)


def test_udp_22_is_not_ssh():
    assert problems_of(with_inbound(("udp", "22", ANYWHERE), udp=[22])) == []


@pytest.mark.parametrize(
    ("addresses", "families"),
    [
        (["0.0.0.0/0"], [4]),
        (["0.0.0.0/1", "128.0.0.0/1"], [4]),
        (["::/0"], [4, 6]),  # ::ffff:0:0/96, IPv4 written as IPv6, is in it
        (["::ffff:0:0/97", "::ffff:128.0.0.0/97"], [4]),
        (["2000::/3"], []),
        (["nope", "0.0.0.0/0"], [4]),
        ([], []),
    ],
)
def test_whole_families_in_any_spelling(addresses, families):
    assert whole_families(addresses) == families


# -- Names ------------------------------------------------------------------------------------------
def test_app_names_are_unique():
    apps = [*STOCK["oxy_apps"], app("oxy-api", "oxy2")]
    tags = dict(STOCK["oxy_app_image_tags"])
    message = one_problem(changed(oxy_apps=apps, oxy_app_image_tags=tags), "oxy_apps[3].name")
    assert "'oxy-api' is also the name of oxy_apps[0]" in message


def test_app_users_are_unique():
    apps = [*STOCK["oxy_apps"], app("oxy-web", "oxy", database="oxy-web")]
    tags = dict(STOCK["oxy_app_image_tags"], **{"oxy-web": "1"})
    assert "'oxy' is also the app of oxy_apps[0]" in one_problem(
        changed(oxy_apps=apps, oxy_app_image_tags=tags), "oxy_apps[3].app"
    )


def test_databases_are_unique_after_the_naming_rule():
    legacy = [*STOCK["oxy_apps"], app("homiio", "homiio", database="mention-production")]
    tags = dict(STOCK["oxy_app_image_tags"], homiio="1")
    message = one_problem(changed(oxy_apps=legacy, oxy_app_image_tags=tags), "oxy_apps[3].database")
    assert "'mention-production' is also the database of oxy_apps[1] (mention-production)" in message
    computed = [*STOCK["oxy_apps"], app("homiio", "homiio", database="oxy-prod")]
    message = one_problem(changed(oxy_apps=computed, oxy_app_image_tags=tags), "oxy_apps[3].database")
    assert "'oxy-prod' is also the database of oxy_apps[0] (oxy-api)" in message


def test_app_domains_are_unique():
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[0]["domain"] = apps[2]["domain"] = "auth.oxy.so"
    message = one_problem(changed(oxy_apps=apps), "oxy_apps[2].domain")
    assert "'auth.oxy.so' is also the domain of oxy_apps[0] (oxy-api)" in message


def test_cluster_names_are_unique():
    valkey = dict(STOCK["oxy_valkey"], name="db-oxy")
    assert "is also the name of oxy_mongodb" in one_problem(changed(oxy_valkey=valkey), "oxy_valkey.name")


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("oxy_droplet", dict(STOCK["oxy_droplet"], name="oxy api"), "oxy_droplet.name"),
        ("oxy_droplet", dict(STOCK["oxy_droplet"], tags=["oxy", "a b"]), "oxy_droplet.tags[1]"),
        ("oxy_mongodb", dict(STOCK["oxy_mongodb"], name="DB_Oxy"), "oxy_mongodb.name"),
        ("oxy_vpc", dict(STOCK["oxy_vpc"], name="default ams3"), "oxy_vpc.name"),
        ("oxy_droplet_firewall", dict(STOCK["oxy_droplet_firewall"], name="-fw"), "oxy_droplet_firewall.name"),
        ("oxy_project", dict(STOCK["oxy_project"], name=""), "oxy_project.name"),
        ("oxy_project", dict(STOCK["oxy_project"], description="x" * 256), "oxy_project.description"),
    ],
)
def test_names_as_digitalocean_accepts_them(key, value, field):
    one_problem(changed(**{key: value}), field)


def test_app_names_as_app_platform_accepts_them():
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[0]["component"] = "Web"
    one_problem(changed(oxy_apps=apps), "oxy_apps[0].component")


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("oxy_droplet", dict(STOCK["oxy_droplet"], name="oxy-api-backend\n"), "oxy_droplet.name"),
        ("oxy_droplet", dict(STOCK["oxy_droplet"], tags=["oxy\n", "api"]), "oxy_droplet.tags[0]"),
        ("oxy_droplet", dict(STOCK["oxy_droplet"], image="ubuntu-24-04-x64\n"), "oxy_droplet.image"),
        ("oxy_vpc", dict(STOCK["oxy_vpc"], name="default-ams3\n"), "oxy_vpc.name"),
        ("oxy_droplet_firewall", dict(STOCK["oxy_droplet_firewall"], name="oxy-fw\n"), "oxy_droplet_firewall.name"),
        ("oxy_mongodb", dict(STOCK["oxy_mongodb"], name="db-oxy\n"), "oxy_mongodb.name"),
        (
            "oxy_app_image_tags",
            dict(STOCK["oxy_app_image_tags"], **{"oxy-api": "2026.11.1\n"}),
            "oxy_app_image_tags.oxy-api",
        ),
        ("oxy_dns", dict(STOCK["oxy_dns"], domain="oxy.so\n"), "oxy_dns.domain"),
        ("oxy_dns", dict(STOCK["oxy_dns"], api="api\n"), "oxy_dns.api"),
    ],
)
def test_a_name_followed_by_a_newline_is_refused(key, value, field):
    message = one_problem(changed(**{key: value}), field)
    assert "\\n' is not a valid" in message


@pytest.mark.parametrize(("field", "value"), [("component", "web\n"), ("app", "allo\n"), ("database", "allo-prod\n")])
def test_app_fields_followed_by_a_newline_are_refused(field, value):
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[2][field] = value
    assert any(
        p.startswith("oxy_apps[2].%s: " % field) and "\\n' is not a valid" in p
        for p in problems_of(changed(oxy_apps=apps))
    )


# -- Names the database keeps for itself ------------------------------------------------------------
@pytest.mark.parametrize("user", ["doadmin", "admin", "root", "local", "config", "__system", "DoAdmin"])
def test_reserved_mongodb_users_are_refused(user):
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[2]["app"] = user
    message = one_problem(changed(oxy_apps=apps), "oxy_apps[2].app")
    assert "%r is a reserved MongoDB user name" % user in message
    assert "reserved: __system, admin, config, doadmin, local, root" in message


@pytest.mark.parametrize("database", ["admin", "local", "config", "Local"])
def test_reserved_databases_are_refused(database):
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[1]["database"] = database
    message = one_problem(changed(oxy_apps=apps), "oxy_apps[1].database")
    assert "is a database MongoDB keeps for itself; reserved (in any case): admin, config, local" in message


@pytest.mark.parametrize("user", ["doadmin2", "admins", "rooted"])
def test_names_that_merely_contain_a_reserved_one_pass(user):
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[2]["app"] = user
    assert problems_of(changed(oxy_apps=apps)) == []


# -- NODE_ENV, image tags, regions ------------------------------------------------------------------
def test_node_env_must_be_a_key_of_the_suffixes():
    message = one_problem(changed(oxy_node_env="prodution"), "oxy_node_env")
    assert "allowed: development, production" in message


def test_every_app_needs_an_explicit_tag():
    tags = {"oxy-api": "2026.11.1", "mention-production": "latest", "alia": "1"}
    problems = problems_of(changed(oxy_app_image_tags=tags))
    assert [p.split(":")[0] for p in problems] == [
        "oxy_app_image_tags.mention-production",
        "oxy_app_image_tags.allo-app",
        "oxy_app_image_tags.alia",
    ]
    assert "'latest' moves" in problems[0]
    assert "missing" in problems[1] and "oxy_apps[2] would deploy 'latest'" in problems[1]
    assert "no app of oxy_apps is named 'alia'" in problems[2]


def test_an_image_tag_is_a_tag():
    tags = dict(STOCK["oxy_app_image_tags"], **{"oxy-api": "2026 11"})
    one_problem(changed(oxy_app_image_tags=tags), "oxy_app_image_tags.oxy-api")


def test_an_app_in_the_vpc_runs_in_its_region():
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[2]["in_vpc"] = True
    message = one_problem(changed(oxy_apps=apps), "oxy_apps[2].in_vpc")
    assert "allo-app runs in nyc and cannot join the VPC in ams3" in message


# -- What the account offers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "field", "allowed"),
    [
        ("oxy_region", "ams2", "oxy_region", "allowed: ams3, nyc3"),
        ("oxy_droplet", dict(STOCK["oxy_droplet"], size="s-1vcpu-1gb"), "oxy_droplet.size", "allowed: s-2vcpu-4gb"),
        ("oxy_mongodb", dict(STOCK["oxy_mongodb"], version="5.0"), "oxy_mongodb.version", "allowed: 7.0, 8.0"),
        ("oxy_mongodb", dict(STOCK["oxy_mongodb"], num_nodes=2), "oxy_mongodb.num_nodes", "allowed: 1, 3"),
        ("oxy_mongodb", dict(STOCK["oxy_mongodb"], size="db-s-1vcpu-1gb"), "oxy_mongodb.size", "db-s-1vcpu-2gb"),
        ("oxy_valkey", dict(STOCK["oxy_valkey"], engine="redis"), "oxy_valkey.engine", "allowed: mongodb, valkey"),
    ],
)
def test_what_the_account_does_not_offer_is_refused(key, value, field, allowed):
    assert allowed in one_problem(changed(**{key: value}), field)


def test_a_region_without_the_engine():
    nyc = changed(oxy_region="nyc3", oxy_apps=STOCK["oxy_apps"][2:], oxy_app_image_tags={"allo-app": "1"})
    message = one_problem(nyc, "oxy_region")
    assert "valkey clusters (oxy_valkey) are not offered in 'nyc3'; allowed: ams3" in message


# -- App domains ------------------------------------------------------------------------------------
def with_domain(index, domain, **fields):
    apps = copy.deepcopy(STOCK["oxy_apps"])
    apps[index]["domain"] = domain
    apps[index].update(fields)
    return changed(oxy_apps=apps)


@pytest.mark.parametrize("domain", ["login.google.com", "evil-oxy.so", "oxy.so.example.com", "auth.oxy.sox"])
def test_an_app_domain_outside_the_zones_is_refused(domain):
    message = one_problem(with_domain(0, domain), "oxy_apps[0].domain")
    assert "%r is not under a DNS zone this definition holds (oxy_dns.domain: oxy.so)" % domain in message
    assert "or set oxy_apps[0].external: true" in message


def test_an_app_domain_declared_external_passes():
    assert problems_of(with_domain(0, "login.google.com", external=True)) == []
    assert problems_of(with_domain(0, "deep.name.oxy.so")) == []


def test_external_on_a_name_in_the_zone_is_refused():
    message = one_problem(with_domain(2, "allo.oxy.so", external=True), "oxy_apps[2].external")
    assert "'allo.oxy.so' is under oxy.so, a zone this definition holds" in message


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("oxy.so", "is the apex"),
        ("api.oxy.so", "the droplet's own name (oxy_dns.api)"),
        ("mail.oxy.so", "(oxy_dns.mail)"),
    ],
)
def test_an_app_does_not_take_the_zone_or_the_droplet_names(domain, expected):
    assert expected in one_problem(with_domain(0, domain), "oxy_apps[0].domain")


@pytest.mark.parametrize(
    "domain",
    [
        "auth.oxy.so\n",
        "Auth.oxy.so",
        "auth.oxy.so.",
        "*.oxy.so",
        "auth..oxy.so",
        "-auth.oxy.so",
        "a" * 64 + ".oxy.so",
        "",
        7,
    ],
)
def test_an_app_domain_is_a_hostname(domain):
    assert "is not a valid domain name" in one_problem(with_domain(0, domain, external=True), "oxy_apps[0].domain")


# -- DNS settings, SPF and DMARC --------------------------------------------------------------------
@pytest.mark.parametrize("ttl", [-1, 0, 29, 86401, "1800\n", "abc", True, 1.5, None])
def test_a_ttl_outside_what_digitalocean_accepts_is_refused(ttl):
    message = one_problem(changed(oxy_dns=dict(STOCK["oxy_dns"], ttl=ttl)), "oxy_dns.ttl")
    assert "is outside what DigitalOcean DNS accepts; allowed: 30 to 86400 seconds" in message


@pytest.mark.parametrize("ttl", [30, 86400, 3600, "3600"])
def test_a_ttl_digitalocean_accepts_passes(ttl):
    assert problems_of(changed(oxy_dns=dict(STOCK["oxy_dns"], ttl=ttl))) == []


@pytest.mark.parametrize(
    ("field", "value"), [("domain", "oxy"), ("domain", "OXY.so"), ("api", "API"), ("mail", ""), ("api", "a b")]
)
def test_dns_names_are_checked(field, value):
    one_problem(changed(oxy_dns=dict(STOCK["oxy_dns"], **{field: value})), "oxy_dns." + field)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=spf1 mx +all", "'+all' lets every server on the Internet send mail as the domain"),
        ("v=spf1 mx all", "'all' lets every server on the Internet send"),
        ("v=spf1 mx ?all", "'?all' is neutral about every other server"),
        ("v=spf1 mx", "ends without -all or ~all"),
        ("v=spf1 ip4:0.0.0.0/0 -all", "0.0.0.0/0 together pass every IPv4 address, as +all does"),
        ("v=spf1 ip4:0.0.0.0/1 +ip4:128.0.0.0/1 -all", "together pass every IPv4 address"),
        ("v=spf1 ip6:::/0 ~all", "::/0 together pass every IPv4 and IPv6 address"),
        ("v=spf1 a/0 -all", "'a/0' passes every address"),
        ("v=spf1 mx:mail.oxy.so//0 -all", "passes every address"),
        ("v=spf1 -all mx", "'mx' comes after '-all'"),
        ("spf1 mx -all", "does not start with v=spf1"),
        ("v=spf1 mx -all\n", "is not one line of printable ASCII"),
        ("v=spf1 ip4:300.1.1.1 -all", "'ip4:300.1.1.1' is not ip4:<IPv4 address or CIDR>"),
        ("v=spf1 ip4:2001:db8::/32 -all", "is not ip4:"),
        ("v=spf1 include -all", "'include' is not a valid include mechanism"),
        ("v=spf1 a/33 -all", "is not a valid a mechanism"),
        ("v=spf1 bogus -all", "'bogus' is not an SPF mechanism or modifier"),
        ("v=spf1 redirect=a.oxy.so redirect=b.oxy.so", "redirect= takes one domain, once"),
        ("v=spf1 " + " ".join("include:%d.example.com" % i for i in range(11)) + " -all", "takes 11 DNS lookups"),
        (None, "is not one line"),
    ],
)
def test_spf_that_lets_others_send_is_refused(record, expected):
    problems = spf_problems("oxy_dns.spf", record)
    assert any(p.startswith("oxy_dns.spf: ") and expected in p for p in problems), problems


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 mx -all",
        "v=spf1 mx ~all",
        "V=SPF1 MX -ALL",
        "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 include:_spf.google.com a mx:mail.oxy.so/24 ~all",
        "v=spf1 -ip4:0.0.0.0/0 mx -all",  # failing the world is fine
        "v=spf1 redirect=_spf.oxy.so",
        "v=spf1 mx exp=explain.oxy.so -all",
        "v=spf1  mx   -all",
    ],
)
def test_spf_that_ends_in_fail_or_softfail_passes(record):
    assert spf_problems("oxy_dns.spf", record) == []


def test_the_spf_of_the_definition_is_checked():
    message = one_problem(changed(oxy_dns=dict(STOCK["oxy_dns"], spf="v=spf1 mx +all")), "oxy_dns.spf")
    assert message.startswith("oxy_dns.spf: '+all' lets every server on the Internet send mail as the domain")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=DMARC1", "p= (none, quarantine or reject) must follow v=DMARC1"),
        ("v=DMARC1; p=nothing", "p=nothing is not allowed; allowed: none, quarantine, reject"),
        ("v=dmarc1; p=none", "does not start with v=DMARC1"),
        ("p=none; v=DMARC1", "does not start with v=DMARC1"),
        ("v=DMARC1; rua=mailto:a@oxy.so; p=none", "p= (none, quarantine or reject) must follow v=DMARC1"),
        ("v=DMARC1; p=none; pct=101", "pct=101 is not allowed; allowed: 0 to 100"),
        ("v=DMARC1; p=none; p=reject", "p= is given twice"),
        ("v=DMARC1; p=none; foo=bar", "foo= is not a DMARC tag"),
        ("v=DMARC1; p=none; sp=all", "sp=all is not allowed"),
        ("v=DMARC1; p=none; adkim=x", "adkim=x is not allowed; allowed: r, s"),
        ("v=DMARC1; p=none; rua=https://oxy.so/dmarc", "rua=https://oxy.so/dmarc is not allowed; allowed: mailto:"),
        ("v=DMARC1; p=none; rua=mailto:nobody", "rua=mailto:nobody is not allowed"),
        ("v=DMARC1; p=none; fo=2", "fo=2 is not allowed"),
        ("v=DMARC1; p=none\n", "is not one line of printable ASCII"),
        ("v=DMARC1 p=none", "'v=DMARC1 p=none' is not a tag=value pair"),
        ("v=DMARC1; p=", "'p=' is not a tag=value pair"),
        ("v=DMARC1;; p=none", "'' is not a tag=value pair"),
        ("", "does not start with v=DMARC1"),
        (42, "is not one line"),
    ],
)
def test_a_dmarc_record_that_is_not_well_formed_is_refused(record, expected):
    problems = dmarc_problems("oxy_dns.dmarc", record)
    assert any(p.startswith("oxy_dns.dmarc: ") and expected in p for p in problems), problems


@pytest.mark.parametrize(
    "record",
    [
        "v=DMARC1; p=none",
        "v=DMARC1; p=reject; rua=mailto:dmarc@oxy.so; pct=100; adkim=s; aspf=r;",
        "v=DMARC1;p=quarantine;sp=reject;fo=1:d;ri=86400;rf=afrf;ruf=mailto:a@oxy.so,mailto:b@example.com!10m",
        "v=DMARC1; p=quarantine; np=reject",
    ],
)
def test_a_well_formed_dmarc_record_passes(record):
    assert dmarc_problems("oxy_dns.dmarc", record) == []


def test_the_dmarc_of_the_definition_is_checked_when_it_has_one():
    assert problems_of(changed(oxy_dns=dict(STOCK["oxy_dns"], dmarc="v=DMARC1; p=reject"))) == []
    one_problem(changed(oxy_dns=dict(STOCK["oxy_dns"], dmarc="v=DMARC1; p=maybe")), "oxy_dns.dmarc")


# -- Mail (oxy_mail) ---------------------------------------------------------------------------------------
MAIL = {
    "mailboxes": ["postmaster", "abuse", "ops", "dmarc"],
    "aliases": {"hostmaster": ["postmaster@oxy.so"]},
    "dkim": {"selector": "oxy2026", "retired": []},
    "dmarc": {"policy": "quarantine", "rua": ["dmarc@oxy.so"]},
    "relay": {"host": "smtp.relay.example", "port": 587, "username": "oxy", "spf_include": "spf.relay.example"},
    "senders": [{"username": "oxy-api", "addresses": ["no-reply@oxy.so"]}],
    "api_sender": "oxy-api",
}
MAILED = {
    **STOCK,
    "oxy_dns": {k: v for k, v in STOCK["oxy_dns"].items() if k != "spf"},
    "oxy_mail": MAIL,
    "oxy_mail_relay_password": "********",
    "oxy_mail_sender_passwords": {"oxy-api": "********"},
}


def mail_changed(**changes):
    definition = copy.deepcopy(MAILED)
    definition["oxy_mail"].update(changes)
    return definition


def test_the_stock_mail_has_no_problem():
    assert problems_of(MAILED) == []


def test_mail_records_are_derived_from_the_definition_and_the_droplet_keys():
    records = mail_txt_records(MAILED, {"oxy2026": "AAAA", "oxy2025": "BBBB"})
    assert records == [
        {"name": "@", "data": "v=spf1 mx include:spf.relay.example -all"},
        {"name": "_dmarc", "data": "v=DMARC1; p=quarantine; rua=mailto:dmarc@oxy.so"},
        {"name": "oxy2026._domainkey", "data": "v=DKIM1; k=rsa; p=AAAA"},
        {"name": "oxy2025._domainkey", "data": "v=DKIM1; k=rsa; p=BBBB"},  # kept by the droplet, not retired
    ]


def test_without_a_relay_spf_is_mx_alone_and_a_retired_selector_is_deleted():
    definition = mail_changed(relay={}, dkim={"selector": "oxy2027", "retired": ["oxy2026"]})
    definition["oxy_mail"]["dmarc"] = {"policy": "reject", "subdomain_policy": "none", "pct": 50, "adkim": "s"}
    # The droplet deleted the retired key; the current one is not made yet: no item, or a placeholder.
    assert mail_txt_records(definition, {}) == [
        {"name": "@", "data": "v=spf1 mx -all"},
        {"name": "_dmarc", "data": "v=DMARC1; p=reject; sp=none; adkim=s; pct=50"},
        {"name": "oxy2026._domainkey", "state": "absent"},
    ]
    placeholder = mail_txt_records(definition, {}, True)[2]
    assert placeholder["data"] == "(public key of selector oxy2027, made on the droplet)"


def test_records_written_out_in_oxy_dns_are_published_instead():
    definition = copy.deepcopy(MAILED)
    definition["oxy_dns"].update(spf="v=spf1 a mx -all", dmarc="v=DMARC1; p=none")
    assert [r["data"] for r in mail_txt_records(definition)[:2]] == ["v=spf1 a mx -all", "v=DMARC1; p=none"]


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"mailboxes": ["abuse"], "aliases": {}}, "oxy_mail.mailboxes", "has no postmaster"),
        ({"aliases": {"hostmaster": ["nobody@oxy.so"]}}, "oxy_mail.aliases.hostmaster[0]", "neither a mailbox"),
        ({"aliases": {"ops": ["x@example.com"]}}, "oxy_mail.aliases.ops", "is also a mailbox"),
        ({"relay": {**MAIL["relay"], "spf_include": ""}}, "oxy_mail.relay.spf_include", "is missing"),
        ({"relay": {**MAIL["relay"], "port": 25}}, "oxy_mail.relay.port", "25 is the port DigitalOcean blocks"),
        ({"relay": {**MAIL["relay"], "port": 70000}}, "oxy_mail.relay.port", "is not a port"),
        ({"senders": [{"username": "oxy-api", "addresses": ["a@b.example"]}]}, "oxy_mail.senders[0].addresses[0]", ""),
        ({"api_sender": "nobody"}, "oxy_mail.api_sender", "is not a sender"),
        ({"dkim": {"selector": "a.b", "retired": []}}, "oxy_mail.dkim.selector", "is not a selector"),
        ({"dkim": {"selector": "s1", "retired": ["s1"]}}, "oxy_mail.dkim.retired[0]", "is the selector mail"),
        ({"dmarc": {"policy": "reject", "pct": 101}}, "oxy_mail.dmarc.pct", "allowed: 0 to 100"),
        ({"dmarc": {"policy": "reject", "aspf": "x"}}, "oxy_mail.dmarc.aspf", "is not an alignment"),
    ],
)
def test_a_mail_problem_names_its_field(changes, field, expected):
    assert expected in one_problem(mail_changed(**changes), field)


def test_mail_passwords_are_required_and_never_quoted():
    definition = copy.deepcopy(MAILED)
    definition.update(oxy_mail_relay_password="", oxy_mail_sender_passwords={"oxy-api": "", "old": "********"})
    problems = problems_of(definition)
    assert [p.split(":")[0] for p in problems] == [
        "oxy_mail_relay_password",
        "oxy_mail_sender_passwords.oxy-api",
        "oxy_mail_sender_passwords.old",
    ], problems
    assert not any("********" in p for p in problems)
