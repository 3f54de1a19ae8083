"""The collections the project uses are the ones it declares: galaxy.yml for the collection's roles and
plugins, requirements.yml for the playbooks, inventories and molecule scenarios (and the collection)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections/ansible_collections/oxy/infra"
# Modules, roles, plugins, filters and action groups by FQCN; not DNS names or attribute chains
# (registry.digitalocean.com, item.domain.endswith): only a known collection's namespace.name counts.
FQCN = re.compile(r"(?<![\w.$/-])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
BUILT_IN = {"ansible.builtin", "oxy.infra"}
CORE_IMPORT = re.compile(r"^\s*(from|import)\s+ansible\.[\w.]+.*$", re.M)


def known_collections() -> dict[str, Path]:
    """Every collection this Python can load: the `ansible` package's and the repository's own."""
    found = {}
    for location in importlib.util.find_spec("ansible_collections").submodule_search_locations:
        for manifest in [*Path(location).glob("*/*/MANIFEST.json"), *Path(location).glob("*/*/galaxy.yml")]:
            found.setdefault(f"{manifest.parent.parent.name}.{manifest.parent.name}", manifest.parent)
    return found | {"ansible.builtin": Path()}


def used_in(*files: Path) -> dict[str, set[str]]:
    known = known_collections()
    used: dict[str, set[str]] = {}
    for path in files:
        text = path.read_text()
        if path.suffix == ".py":
            # ansible-core's own packages (ansible.utils.display) share names with collections (ansible.utils);
            # Python reaches a collection only as ansible_collections.<namespace>.<name>.
            text = CORE_IMPORT.sub("", text)
        for namespace, name in FQCN.findall(text):
            if f"{namespace}.{name}" in known:
                used.setdefault(f"{namespace}.{name}", set()).add(str(path.relative_to(ROOT)))
    return used


def files(base: Path, *patterns: str) -> list[Path]:
    return sorted(p for pattern in patterns for p in base.glob(pattern) if "tests/output" not in str(p))


COLLECTION_FILES = files(COLLECTION, "roles/**/*.yml", "roles/**/*.j2", "plugins/**/*.py")
PROJECT_FILES = [
    ROOT / "site.yml",
    ROOT / "ansible.cfg",
    *files(ROOT, "playbooks/**/*.yml", "inventory/**/*.yml", "molecule/**/*.yml"),
]


def galaxy_dependencies() -> dict[str, str]:
    return yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["dependencies"] or {}


def requirements_yml() -> dict[str, str]:
    return {
        c["name"]: c.get("version", "*") for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    }


def test_the_scan_finds_what_is_known_to_be_used():
    used = used_in(*COLLECTION_FILES, *PROJECT_FILES)
    assert "collections/ansible_collections/oxy/infra/roles/api_stack/tasks/base.yml" in used["community.docker"]
    assert "ansible.cfg" in used["oxy.infra"]  # the plan callback
    assert not {"registry.digitalocean", "item.domain", "api.oxy"} & set(used)


def test_galaxy_yml_declares_exactly_the_collections_the_collection_uses():
    used = set(used_in(*COLLECTION_FILES)) - BUILT_IN
    declared = set(galaxy_dependencies())
    assert declared - used == set(), "declared in galaxy.yml, used nowhere in roles or plugins"
    assert used - declared == set(), "used by roles or plugins, missing from galaxy.yml dependencies"


def test_requirements_yml_declares_exactly_the_collections_the_project_uses():
    used = used_in(*COLLECTION_FILES, *PROJECT_FILES)
    declared = set(requirements_yml())
    unused = declared - set(used)
    missing = {name: sorted(where) for name, where in used.items() if name not in declared | BUILT_IN}
    assert unused == set(), "listed in requirements.yml, used nowhere"
    assert missing == {}, "used, missing from requirements.yml"


@pytest.mark.parametrize("source", ["galaxy.yml", "requirements.yml"])
def test_the_pinned_ansible_package_satisfies_the_declared_versions(source):
    declared = galaxy_dependencies() if source == "galaxy.yml" else requirements_yml()
    known = known_collections()
    for name, spec in declared.items():
        manifest = json.loads((known[name] / "MANIFEST.json").read_text())
        assert meets_requirements(manifest["collection_info"]["version"], spec), (name, spec)
