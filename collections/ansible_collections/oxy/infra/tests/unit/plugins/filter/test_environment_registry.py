"""The environment_problems filter on oxy_registry: the droplet's pull credentials must expire, and not too soon."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.oxy.infra.plugins.filter.environment import registry_problems

STOCK_DEFINITION = Path(__file__).resolve().parents[8] / "inventory/production/group_vars/all/oxy.yml"


def registry(expiry):
    return {
        "oxy_registry": {"name": "oxy", "region": "ams3", "subscription_tier": "basic", "credentials_expiry": expiry}
    }


def test_the_stock_definition_gives_the_droplet_credentials_for_a_week():
    stock = yaml.safe_load(STOCK_DEFINITION.read_text())
    assert stock["oxy_registry"]["credentials_expiry"] == 604800
    assert registry_problems(stock) == []


@pytest.mark.parametrize("expiry", [7200, 86400, 604800, 2592000, "86400"])
def test_expiries_from_two_hours_to_thirty_days_pass(expiry):
    assert registry_problems(registry(expiry)) == []


@pytest.mark.parametrize("expiry", [0, -1, 3600, 7199, 2592001, "1d", True, None])
def test_everlasting_short_or_long_expiries_are_refused_by_their_path(expiry):
    (problem,) = registry_problems(registry(expiry))
    assert problem.startswith("oxy_registry.credentials_expiry: %r is outside 7200 to 2592000 seconds" % (expiry,))
