from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.oxy.infra.plugins.filter.naming import app_database

SUFFIXES = {"production": "prod", "development": "dev"}


@pytest.mark.parametrize(
    ("app", "env", "expected"),
    [
        ({"app": "oxy"}, "production", "oxy-prod"),
        ({"app": "oxy"}, "development", "oxy-dev"),
        ({"app": "oxy"}, "staging", "oxy-staging"),  # no entry: NODE_ENV itself, as the apps do
        ({"app": "mention", "database": "mention-production"}, "production", "mention-production"),
    ],
)
def test_app_database(app, env, expected):
    assert app_database(app, env, SUFFIXES) == expected


def test_app_database_needs_an_app_name():
    with pytest.raises(AnsibleFilterError):
        app_database({"name": "oxy-api"}, "production", SUFFIXES)
