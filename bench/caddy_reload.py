"""Caddy reloaded under a flood of new TLS connections: connections lost with the role's kernel settings for
Caddy's container (net.ipv4.tcp_migrate_req=1) and without them, alternated round by round in one run.

    .venv/bin/python bench/caddy_reload.py [--rounds 3] [--reloads 50] [--concurrency 64]

Prints per round and variant: reloads, connections, failures and their kinds; then the totals, and failures
per 100 reloads. The bound: none lost with the role's settings. tests/machines/test_caddy_reload.py runs a
sample of the first variant in CI. Needs a Docker engine and OXY_IMAGE_CADDY (tests/images/build).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.reload_flood import flood, role_caddy_sysctls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reloads", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    client, image = docker.from_env(), os.environ["OXY_IMAGE_CADDY"]
    variants = {"role's settings": role_caddy_sysctls(), "without them": {}}
    totals = {name: collections.Counter() for name in variants}
    for number in range(1, args.rounds + 1):
        for name, sysctls in variants.items():
            result = flood(client, image, args.reloads, sysctls, args.concurrency)
            totals[name].update(reloads=result.reloads, connections=result.outcomes.total(), failures=result.failures)
            print(
                f"round {number}  {name:16s} reloads {result.reloads:4d}  connections {result.outcomes.total():6d}  "
                f"failures {result.failures:3d}  {round(result.seconds)} s  {result.failed or ''}",
                flush=True,
            )
    print()
    for name, total in totals.items():
        rate = 100 * total["failures"] / total["reloads"]
        print(
            f"{name:16s} reloads {total['reloads']:5d}  connections {total['connections']:7d}  "
            f"failures {total['failures']:4d}  per 100 reloads {rate:5.2f}"
        )
    lost = totals["role's settings"]["failures"]
    print(f"bound: no connection lost with the role's settings: {'met' if lost == 0 else 'NOT MET'} ({lost})")


if __name__ == "__main__":
    main()
