"""The suite's two workers (tests/fixtures/groups.py): every test that gives a sandbox machines is in the one unit
that runs in order on one worker; a test that started machines elsewhere would race the unit's for the public
network's addresses and the default VPCs' ranges."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.groups import GROUP, MACHINES, unit_of

ROOT = Path(__file__).resolve().parents[1]
# What turns machines on: a sandbox with the stack, a sandbox process a test starts, the machines setting.
STARTS_MACHINES = re.compile(r"with_the_stack\(|process\.start\(|machines=True|\"machines\": True|machine_sandbox\(")


def test_every_test_that_starts_machines_is_in_the_machines_unit():
    starting = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if STARTS_MACHINES.search(path.read_text())
    }
    assert starting, "the pattern finds the machine tests"
    outside = sorted(p for p in starting if not p.startswith(MACHINES) and p != "tests/test_suite_groups.py")
    assert outside == [], f"tests that start machines outside tests/fixtures/groups.py's MACHINES: {outside}"


def test_the_units_of_work():
    assert unit_of("tests/machines/test_valkey.py::test_a_cluster_is_a_server") == GROUP
    assert unit_of("tests/playbooks/test_site_machines.py::test_site_brings_up") == GROUP
    assert unit_of("tests/awx/test_jobs.py::test_apply_and_verify_with_the_droplets_stack") == GROUP
    alone = "tests/playbooks/test_site.py::test_site_plans_converges_and_then_changes_nothing"
    assert unit_of(alone) == alone
    assert unit_of("tests/awx/test_execution_environment.py::test_the_image_runs") != GROUP
