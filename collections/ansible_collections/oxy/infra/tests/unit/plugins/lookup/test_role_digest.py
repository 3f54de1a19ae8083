"""oxy.infra.role_digest: the code a converge stamp depends on, a module of this collection that a role uses
included."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError
from ansible_collections.oxy.infra.plugins.lookup import role_digest


def test_a_module_the_role_uses_is_part_of_the_digest(monkeypatch, tmp_path):
    alone = role_digest.role_digest(["api_stack"])
    with_module = role_digest.role_digest(["api_stack"], modules=["host_files"])
    assert with_module != alone
    assert role_digest.role_digest(["api_stack"], modules=["host_files"]) == with_module  # stable

    # The module's source changes: so does the digest.
    copy = tmp_path / "host_files.py"
    copy.write_bytes(Path(role_digest.MODULES, "host_files.py").read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(role_digest, "MODULES", str(tmp_path))
    assert role_digest.role_digest(["api_stack"], modules=["host_files"]) != with_module


def test_an_unknown_module_or_role_is_refused():
    with pytest.raises(AnsibleLookupError, match="no module 'nope'"):
        role_digest.role_digest(["api_stack"], modules=["nope"])
    with pytest.raises(AnsibleLookupError, match="no role 'nope'"):
        role_digest.role_digest(["nope"])
