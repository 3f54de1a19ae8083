"""The moto-style split holds: routes parse and render, backends own state."""

from __future__ import annotations

import ast
from pathlib import Path

import oxy_sandbox

PACKAGE = Path(oxy_sandbox.__file__).parent
ROUTES = sorted((PACKAGE / "routes").glob("*.py"))


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found += [f"{'.' * node.level}{node.module or ''}:{a.name}" for a in node.names]
    return found


def test_routes_never_import_each_other_nor_backends():
    for path in ROUTES:
        if path.name == "__init__.py":
            continue
        for imported in _imports(path):
            module = imported.split(":")[0]
            assert not (module.startswith(".") and not module.startswith("..") and module != "._deps"), (
                path.name,
                imported,
            )
            assert "backends" not in module, (path.name, imported)


def test_routes_do_not_touch_the_store():
    for path in ROUTES:
        text = path.read_text()
        if path.name == "control.py":
            text = text.replace("sb.store.reset()", "")
        assert "sb.store" not in text and ".put(" not in text.replace("@router.put(", ""), path.name


def test_the_store_has_no_raw_put():
    from oxy_sandbox.store import Store

    assert not hasattr(Store, "put")


def _modules_imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (``TYPE_CHECKING`` blocks and functions included),
    relative imports resolved; ``from X import name`` counts as importing ``X.name`` too."""
    package = ["oxy_sandbox", *path.parent.relative_to(PACKAGE).parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_backends_never_import_core():
    """Core builds the backends; what they share with it (errors, scopes, stamps) lives in its own modules."""
    for path in sorted((PACKAGE / "backends").glob("*.py")):
        for module in _modules_imported(path):
            assert module != "oxy_sandbox.core" and not module.startswith("oxy_sandbox.core."), (path.name, module)
