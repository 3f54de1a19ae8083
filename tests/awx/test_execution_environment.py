"""The execution environment: its definition is what ansible-builder accepts and pins what
requirements.txt pins; the collection declares its own needs; the built image (scripts/ee-build) has them."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections/ansible_collections/oxy/infra"
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#;]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


LOCKED = pins((ROOT / "requirements.txt").read_text().splitlines())


def test_ansible_builder_accepts_the_definitions():
    ee_schema = pytest.importorskip("ansible_builder.ee_schema", reason="ansible-builder is not installed")
    ee_schema.validate_schema(EE)
    ee_schema.validate_schema(yaml.safe_load((COLLECTION / "meta/execution-environment.yml").read_text()))


def test_the_image_pins_what_requirements_txt_pins():
    deps = EE["dependencies"]
    image = pins([deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"], *deps["python"]])
    assert {name: LOCKED.get(name) for name in image} == image


def test_the_collection_declares_every_library_its_plugins_import():
    meta = yaml.safe_load((COLLECTION / "meta/execution-environment.yml").read_text())["dependencies"]
    declared = {
        re.split(r"[<>=\[ ]", line.strip())[0].lower().replace("_", "-")
        for line in (COLLECTION / meta["python"]).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    distribution = {"pydo": "pydo", "azure": "azure-core", "pymongo": "pymongo", "redis": "redis", "bson": "pymongo"}
    imported = set()
    for path in (COLLECTION / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            imported |= {distribution[n.split(".")[0]] for n in names if n.split(".")[0] in distribution}
    assert imported - declared == set()
    assert "openssh-client [platform:dpkg]" in (COLLECTION / meta["system"]).read_text()


def test_the_galaxy_sources_are_what_scripts_ee_build_stages():
    names = {c["name"] for c in EE["dependencies"]["galaxy"]["collections"]}
    requirements = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    assert {f"collections/{c['name']}" for c in requirements} <= names
    assert "collections/oxy-infra.tar.gz" in names


@pytest.fixture(scope="module")
def ee_image() -> str:
    image = os.environ.get("OXY_IMAGE_EE")
    if not image:
        pytest.skip('the execution environment is not built: eval "$(scripts/ee-build)" sets OXY_IMAGE_EE')
    return image


def test_the_image_runs_the_collection_with_its_dependencies(ee_image):
    script = (
        "ansible --version | head -1; ansible-runner --version; ansible-galaxy collection list 2>/dev/null;"
        " python3 -c 'import pydo, azure.core, pymongo, dns, redis, docker, requests; print(\"imports ok\")';"
        " ssh -V 2>&1; ansible-doc -t inventory oxy.infra.droplets >/dev/null && echo inventory ok"
    )
    out = subprocess.run(
        ["docker", "run", "--rm", ee_image, "bash", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert f"core {LOCKED['ansible-core']}" in out.stdout
    for line in ("oxy.infra ", "community.docker ", "imports ok", "OpenSSH", "inventory ok"):
        assert line in out.stdout
