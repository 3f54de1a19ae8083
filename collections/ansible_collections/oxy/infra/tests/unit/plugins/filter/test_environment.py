"""The environment_problems filter: every check, on a definition shaped like the stock one."""

from __future__ import annotations

import copy
import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.oxy.infra.plugins.filter.environment import (
    as_ipv4,
    environment_problems,
    max_prefix,
    port_problems,
    source_problems,
)

ANYWHERE = ["0.0.0.0/0", "::/0"]
SSH = ["203.0.113.7/32", "198.51.100.0/28"]


def app(name, short, region="ams", in_vpc=True, database=None):
    entry = {"name": name, "app": short, "region": region, "in_vpc": in_vpc, "component": "web"}
    if database:
        entry["database"] = database
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
        ],
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
        app("oxy-api", "oxy"),
        app("mention-production", "mention", database="mention-production"),
        app("allo-app", "allo", region="nyc", in_vpc=False, database="allo-production"),
    ],
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
        "oxy_droplet_firewall.inbound_rules[3].sources.addresses[0]",
        "oxy_droplet_firewall.inbound_rules[3].sources.addresses[1]",
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
