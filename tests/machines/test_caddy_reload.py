"""A switch of API, the moment api_stack sends Caddy's requests to a new API, drops no connection.

The role's Caddyfile proxies to both slots, the first healthy one taken, and Caddy's health checks ask an endpoint
of its own which slot the upstream file names (Caddy 2.9's health_upstream): a switch rewrites that file, and Caddy
is not reloaded. A reload would start new listeners beside
the old ones and close those: connections arriving in that instant fail (Caddy 2.6 refused their handshakes, its
new configuration had no certificates yet; 2.11 closes some of them unanswered), and the redeploy's load loop
caught it in CI. This runs a sample: switches under a flood of new TLS connections, with the role's Caddyfile and
container settings, and not one fails. bench/caddy_reload.py runs the full count beside switches by reloads.

For the reloads a change of Caddy's own configuration still needs, the role starts Caddy with
net.ipv4.tcp_migrate_req, so the connections waiting on a closed listener move to the new one, not reset.

Needs a Docker engine and the Caddy image (scripts/test builds it and exports OXY_IMAGE_CADDY).
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.fixtures.caddy import caddy_image, docker_client
from tests.fixtures.reload_flood import answers, caddy_stack, flood, role_caddy_sysctls, role_caddyfile, switch


def test_the_role_has_the_kernel_hand_over_the_connections_of_a_closed_listener():
    assert role_caddy_sysctls() == {"net.ipv4.tcp_migrate_req": "1"}


@pytest.mark.slow
def test_switches_of_api_under_a_flood_of_new_connections_drop_none():
    client, image = docker_client(), caddy_image()
    # A switch takes effect within a quarter second (the checks' interval): each holds for longer.
    result = flood(client, image, switches=12, sysctls=role_caddy_sysctls(), by="file", concurrency=48, pause=0.6)
    assert result.failed == {}, f"{result.failures} of {result.outcomes.total()} connections failed: {result.failed}"
    # Both APIs answered: the switches took effect while the clients ran.
    assert result.outcomes["200 a"] > 100 and result.outcomes["200 b"] > 100, dict(result.outcomes)


@pytest.mark.slow
def test_the_api_the_file_names_serves_alone_once_the_other_is_removed_and_after_caddy_restarts():
    """After a switch the role removes the previous API, and Caddy may start again with the first slot gone: every
    request is answered by the API the file names (a slot that cannot be reached is passed over), none fails."""
    client, image = docker_client(), caddy_image()
    with caddy_stack(client, image, role_caddyfile(), role_caddy_sysctls()) as stack:
        assert answers(stack, 10) == {"200 a": 10}
        switch(stack, "green")
        time.sleep(0.6)  # the checks' interval is a quarter second
        assert answers(stack, 10) == {"200 b": 10}
        client.containers.get(f"oxy-api-blue-{stack.caddy.name}").remove(force=True)
        assert answers(stack, 10) == {"200 b": 10}
        stack.caddy.restart()  # blue, the first upstream, is gone: green serves from Caddy's first checks on
        stack.caddy.reload()
        network = next(iter(stack.caddy.attrs["NetworkSettings"]["Networks"].values()))
        assert answers(dataclasses.replace(stack, address=network["IPAddress"]), 10) == {"200 b": 10}
