"""Every role's meta/argument_specs.yml documents exactly its defaults, with the same default values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = sorted((Path(__file__).resolve().parents[2] / "collections/ansible_collections/oxy/infra/roles").iterdir())


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_mirror_defaults(role):
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    options = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults), "document every default, and only defaults"
    for name, value in defaults.items():
        assert name.startswith(role.name + "_"), f"{name}: public variables are named {role.name}_*"
        assert options[name].get("default") == value, f"{name}: argument_specs default differs from defaults/main.yml"
        assert options[name].get("description"), f"{name}: needs a description"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_internal_variables_are_prefixed(role):
    for path in (role / "vars").glob("*.yml"):
        for name in yaml.safe_load(path.read_text()) or {}:
            assert name.startswith(f"_{role.name}_"), f"{path.name}: {name} should be _{role.name}_*"
