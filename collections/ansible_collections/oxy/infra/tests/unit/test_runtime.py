"""meta/runtime.yml's action group reaches every DigitalOcean module, and every module renders its docs."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

COLLECTION = Path(__file__).resolve().parents[2]


def modules_using(client_base):
    found = set()
    for path in (COLLECTION / "plugins/modules").glob("*.py"):
        if client_base in path.read_text():
            found.add(path.stem)
    return found


def test_digitalocean_action_group_is_complete():
    runtime = yaml.safe_load((COLLECTION / "meta/runtime.yml").read_text())
    group = set(runtime["action_groups"]["digitalocean"])
    assert group == modules_using("module_utils._digitalocean import"), "add the module to meta/runtime.yml"


def test_every_module_documents_check_mode_diff_and_idempotence():
    for path in sorted((COLLECTION / "plugins/modules").glob("*.py")):
        tree = ast.parse(path.read_text())
        docs = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name) and t.id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
        }
        assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, path.name
        doc = yaml.safe_load(docs["DOCUMENTATION"])
        assert doc["module"] == path.stem
        for attribute in ("check_mode", "diff_mode", "idempotent"):
            assert doc["attributes"][attribute]["support"] == "full", (path.name, attribute)
        yaml.safe_load(docs["EXAMPLES"])
        yaml.safe_load(docs["RETURN"])


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
