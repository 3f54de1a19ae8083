"""Caddy's graceful reload, the moment api_stack switches to a new API, drops no connection.

Caddy 2.6 opens new listening sockets beside the old ones on a reload (SO_REUSEPORT) and closes the old; the
connections still waiting in an old socket's queue are reset, so now and then a client fails at the switch
(one request of the redeploy's load loop did, in CI). The role starts Caddy with net.ipv4.tcp_migrate_req, and
the kernel hands those connections to the new socket instead. This runs a sample: reloads under a flood of new
TLS connections, with the role's settings, and not one fails. bench/caddy_reload.py runs the full count beside
the same Caddy without the setting, where some do.

Needs a Docker engine and the Caddy image (scripts/test builds it and exports OXY_IMAGE_CADDY).
"""

from __future__ import annotations

import pytest

from tests.fixtures.caddy import caddy_image, docker_client
from tests.fixtures.reload_flood import flood, role_caddy_sysctls


def test_the_role_has_the_kernel_hand_over_the_connections_of_a_closed_listener():
    assert role_caddy_sysctls() == {"net.ipv4.tcp_migrate_req": "1"}


@pytest.mark.slow
def test_reloads_under_a_flood_of_new_connections_drop_none():
    client, image = docker_client(), caddy_image()
    result = flood(client, image, reloads=12, sysctls=role_caddy_sysctls(), concurrency=48)
    assert result.failed == {}, f"{result.failures} of {result.outcomes.total()} connections failed: {result.failed}"
    # Both configurations answered: the reloads took effect while the clients ran.
    assert result.outcomes["200 a"] > 100 and result.outcomes["200 b"] > 100, dict(result.outcomes)
