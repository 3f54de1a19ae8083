"""Caddy switched between two answers under a flood of new TLS connections: connections lost when it switches the
role's way (its upstream file, which Caddy's health checks read: no reload) and when it reloads its configuration
(as the role switched before; with the role's kernel settings for Caddy's container, net.ipv4.tcp_migrate_req=1,
and without), alternated round by round in one run.

    .venv/bin/python bench/caddy_reload.py [--rounds 3] [--switches 50] [--concurrency 64]

Prints per round and variant: switches, connections, failures and their kinds; then the totals, and failures
per 100 switches. The bound: none lost the role's way. tests/machines/test_caddy_reload.py runs a sample of it
in CI. Then what the switch costs on every request: requests per second on kept-alive connections, the role's
Caddyfile (both slots, steered by health checks) against the same with the API named in place, alternated round
by round (--cost-seconds each, 0 to skip); the bound: at least 0.9 of it (the switch reads nothing per request;
an earlier one read the file on every request, 0.28).
Needs a Docker engine and OXY_IMAGE_CADDY (tests/images/build).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.reload_flood import (
    caddy_stack,
    flood,
    literal_caddyfile,
    role_caddy_sysctls,
    role_caddyfile,
    served,
)

ROLE = "the role's (file)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--switches", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--cost-seconds", type=float, default=10)
    args = parser.parse_args()
    client, image = docker.from_env(), os.environ["OXY_IMAGE_CADDY"]
    # (switched by, kernel settings, pause after a switch): a reload takes about a second, so the role's switches
    # pause as long, for as many connections around as many switches.
    variants = {
        ROLE: ("file", role_caddy_sysctls(), 1.2),
        "reload": ("reload", role_caddy_sysctls(), 0.2),
        "reload, no sysctl": ("reload", {}, 0.2),
    }
    totals = {name: collections.Counter() for name in variants}
    for number in range(1, args.rounds + 1):
        for name, (by, sysctls, pause) in variants.items():
            result = flood(client, image, args.switches, sysctls, by, args.concurrency, pause)
            connections = result.outcomes.total()
            totals[name].update(switches=result.switches, connections=connections, failures=result.failures)
            print(
                f"round {number}  {name:18s} switches {result.switches:4d}  connections {connections:6d}  "
                f"failures {result.failures:4d}  {round(result.seconds)} s  {result.failed or ''}",
                flush=True,
            )
    print()
    for name, total in totals.items():
        rate = 100 * total["failures"] / total["switches"]
        print(
            f"{name:18s} switches {total['switches']:5d}  connections {total['connections']:7d}  "
            f"failures {total['failures']:5d}  per 100 switches {rate:7.2f}"
        )
    lost = totals[ROLE]["failures"]
    print(f"bound: no connection lost the role's way: {'met' if lost == 0 else 'NOT MET'} ({lost})")
    if args.cost_seconds > 0:
        cost(client, image, args.rounds, args.cost_seconds)


def cost(client, image: str, rounds: int, seconds: float) -> None:
    print()
    variants = {"the role's": role_caddyfile(), "API in place": literal_caddyfile()}
    totals = collections.Counter()
    for number in range(1, rounds + 1):
        for name, caddyfile in variants.items():
            with caddy_stack(client, image, caddyfile, role_caddy_sysctls()) as stack:
                answered = served(stack, seconds)
            totals[name] += answered
            rate = answered / seconds
            print(f"round {number}  {name:14s} requests {answered:7d}  per second {rate:7.0f}", flush=True)
    rates = {name: totals[name] / (rounds * seconds) for name in variants}
    print()
    for name in variants:
        print(f"{name:14s} per second {rates[name]:7.0f}")
    ratio = rates["the role's"] / rates["API in place"]
    verdict = "met" if ratio >= 0.9 else "NOT MET"
    print(f"the role's switch serves {ratio:.2f} of the requests per second (bound 0.9: {verdict})")


if __name__ == "__main__":
    main()
