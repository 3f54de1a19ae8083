"""oxy.infra.firewall against the sandbox: the seed's droplet perimeter."""

from __future__ import annotations

import time

ANYWHERE = ["0.0.0.0/0", "::/0"]
SEED_RULES = [
    {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.7/32"]}},
    {"protocol": "tcp", "ports": "80", "sources": {"addresses": ANYWHERE}},
    {"protocol": "tcp", "ports": "443", "sources": {"addresses": ANYWHERE}},
    {"protocol": "tcp", "ports": "25", "sources": {"addresses": ANYWHERE}},
    {"protocol": "tcp", "ports": "587", "sources": {"addresses": ANYWHERE}},
]
OUTBOUND = [
    {"protocol": "tcp", "ports": "all", "destinations": {"addresses": ANYWHERE}},
    {"protocol": "udp", "ports": "all", "destinations": {"addresses": ANYWHERE}},
    {"protocol": "icmp", "destinations": {"addresses": ANYWHERE}},
]


def test_firewall_full_cycle(run_module, do):
    droplet = do.droplets.create(
        {"name": "oxy-api-backend", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}
    )["droplet"]
    args = dict(name="oxy-api-backend", droplets=["oxy-api-backend"], inbound_rules=SEED_RULES, outbound_rules=OUTBOUND)
    plan = run_module("firewall", check=True, **args)
    assert plan["changed"] is True and plan.writes == []
    assert plan["diff"]["after"]["droplet_ids"] == [droplet["id"]]

    created = run_module("firewall", **args)
    assert created["changed"] is True and created.writes == [("POST", "/v2/firewalls")]
    fw = created["firewall"]
    assert fw["status"] == "succeeded"
    assert sorted(r["ports"] for r in fw["inbound_rules"]) == ["22", "25", "443", "587", "80"]
    assert fw["droplet_ids"] == [droplet["id"]]

    reordered = dict(args, inbound_rules=list(reversed(SEED_RULES)))
    again = run_module("firewall", **reordered)
    assert (again["changed"], again.writes) == (False, [])

    narrowed = [dict(SEED_RULES[0], sources={"addresses": ["198.51.100.9/32"]}), *SEED_RULES[1:]]
    updated = run_module("firewall", **dict(args, inbound_rules=narrowed))
    assert updated["changed"] is True and updated.writes == [("PUT", "/v2/firewalls/{firewall_id}")]
    ssh = [r for r in do.firewalls.get(fw["id"])["firewall"]["inbound_rules"] if r["ports"] == "22"]
    assert ssh[0]["sources"] == {"addresses": ["198.51.100.9/32"]}

    do.firewalls.add_rules(
        fw["id"], {"inbound_rules": [{"protocol": "tcp", "ports": "3306", "sources": {"addresses": ANYWHERE}}]}
    )
    drift = run_module("firewall", check=True, **dict(args, inbound_rules=narrowed))
    assert drift["changed"] is True and drift.writes == []
    assert len(drift["diff"]["before"]["inbound_rules"]) == 6 and len(drift["diff"]["after"]["inbound_rules"]) == 5

    # Options left out are not desired: the droplet membership stays as it is.
    rules_only = run_module("firewall", name="oxy-api-backend", inbound_rules=narrowed, outbound_rules=OUTBOUND)
    assert rules_only["firewall"]["droplet_ids"] == [droplet["id"]]

    gone = run_module("firewall", name="oxy-api-backend", state="absent", allow_delete=True)
    assert gone["changed"] is True and gone.writes == [("DELETE", "/v2/firewalls/{firewall_id}")]
    assert run_module("firewall", name="oxy-api-backend", state="absent", allow_delete=True)["changed"] is False


def test_firewall_bad_input_fails_before_writes(run_module):
    cases = [
        ({"inbound_rules": [{"protocol": "tcp", "ports": "70000", "sources": {"addresses": ANYWHERE}}]}, "ports"),
        ({"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {}}]}, "at least one target"),
        ({"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["1.2.3.999"]}}]}, "addresses"),
        ({"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"hosts": ["a"]}}]}, "unknown target"),
        ({}, "at least one rule"),
        ({"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"droplets": ["ghost"]}}]}, "ghost"),
    ]
    for extra, fragment in cases:
        failed = run_module("firewall", name="fw", expect_fail=True, **extra)
        assert fragment in failed["msg"], failed["msg"]
        assert failed.writes == []


def test_unknown_tag_is_refused_once_and_fast(run_module, sandbox):
    """The sandbox answers 400 (which pydo returns as a body): a refusal, so the POST is never sent again."""
    rules = [{"protocol": "tcp", "ports": "443", "sources": {"tags": ["ghost"]}}]
    started = time.monotonic()
    failed = run_module("firewall", name="fw", inbound_rules=rules, expect_fail=True)
    elapsed = time.monotonic() - started
    assert failed["status"] == 400 and failed["error_id"] == "bad_request", failed
    assert "ghost" in failed["msg"] and "(HTTP 400)" in failed["msg"]
    assert failed.writes == [("POST", "/v2/firewalls")]
    assert elapsed < 10, elapsed
