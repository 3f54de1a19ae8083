"""meta/runtime.yml's action group reaches every DigitalOcean module, and every module renders its docs."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

COLLECTION = Path(__file__).resolve().parents[2]
# Modules that only read, or connect and look (writing nothing but a probe they remove): no diff.
READ_ONLY_CHECKS = {
    "oxy.infra.database_connection",
    "oxy.infra.endpoint_check",
    "oxy.infra.mongodb_access",
    "oxy.infra.owned_resources",
    "oxy.infra.valkey_access",
}


def modules_using(*client_bases):
    found = set()
    for path in (COLLECTION / "plugins/modules").glob("*.py"):
        if any(base in path.read_text() for base in client_bases):
            found.add(path.stem)
    return found


def test_digitalocean_action_group_is_complete():
    runtime = yaml.safe_load((COLLECTION / "meta/runtime.yml").read_text())
    group = set(runtime["action_groups"]["digitalocean"])
    backend = modules_using("module_utils._digitalocean import", "module_utils._info import")
    assert group == backend, "add the module to meta/runtime.yml"


def test_ansible_doc_renders_every_module_with_full_support():
    """ansible-doc resolves the doc fragments; state modules claim check mode, diff and idempotence."""
    names = sorted("oxy.infra." + p.stem for p in (COLLECTION / "plugins/modules").glob("*.py"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTION.parents[2]))
    out = subprocess.run(
        [sys.executable, "-m", "ansible", "doc", "--json", *names],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    ).stdout
    docs = json.loads(out)
    assert sorted(docs) == names
    digitalocean = {
        "oxy.infra." + m for m in modules_using("module_utils._digitalocean import", "module_utils._info import")
    }
    for name, entry in docs.items():
        doc = entry["doc"]
        assert doc["module"] == name.rsplit(".", 1)[1]
        assert entry["examples"] and entry["return"], name
        reads_only = name.endswith("_info") or name in READ_ONLY_CHECKS
        expected = {
            "check_mode": "full",
            "diff_mode": "none" if reads_only else "full",
            "idempotent": "full",
        }
        for attribute, support in expected.items():
            assert doc["attributes"][attribute]["support"] == support, (name, attribute)
        if name in digitalocean:
            assert doc["options"]["token"]["required"] is True


def test_secret_looking_options_state_no_log():
    for path in sorted((COLLECTION / "plugins/modules").glob("*.py")):
        tree = ast.parse(path.read_text())
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "dict"):
                continue
            for kw in call.keywords:
                if kw.arg and any(w in kw.arg for w in ("key", "pass", "token", "secret")):
                    inner = kw.value
                    if isinstance(inner, ast.Call) and getattr(inner.func, "id", None) == "dict":
                        assert any(k.arg == "no_log" for k in inner.keywords), (path.name, kw.arg)
