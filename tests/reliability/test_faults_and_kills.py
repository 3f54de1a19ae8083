"""site.yml survives injected API faults and being killed mid-run: it converges, leaves exactly one of each
resource, and the run after it changes nothing.

CI runs a sample that covers every path (one fault seed, with changes applied and then answered with an
error; a kill early and one late in the run); bench/reliability.py runs the full count (10 seeds, 12
kill points) and prints the figures. OXY_FAULT_SEEDS and OXY_KILL_POINTS (comma-separated) override the
sample.
"""

from __future__ import annotations

import os

import pytest

from tests.playbooks.test_site import assert_seed_environment
from tests.reliability.harness import fault_run, kill_run


def _sample(name: str, default: str) -> list[int]:
    return [int(v) for v in os.environ.get(name, default).split(",") if v.strip()]


def _explain(outcome) -> str:
    return (
        f"{outcome.label}: converged={outcome.converged} duplicates={outcome.duplicates} "
        f"stale credentials={outcome.stale_credentials} "
        f"second run changed={outcome.second_run_changed} writes={outcome.second_run_writes}\n{outcome.output[-6000:]}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", _sample("OXY_FAULT_SEEDS", "20261125"))
def test_site_converges_through_faults_without_duplicates(sandbox, do, seed):
    outcome = fault_run(sandbox, do, seed)
    assert outcome.faults >= 5, "the run went through too few faults to prove anything"
    assert any(e["fault"].startswith("after:") for e in sandbox.log()), "no change was applied and answered an error"
    assert outcome.ok, _explain(outcome)
    assert_seed_environment(do)  # exactly the environment: one of each resource, as defined


@pytest.mark.slow
@pytest.mark.parametrize("after_writes", _sample("OXY_KILL_POINTS", "2,27"))
def test_site_killed_mid_run_converges_on_the_next_run_without_duplicates(sandbox, do, after_writes):
    outcome = kill_run(sandbox, do, after_writes)
    assert "the run ended first" not in outcome.label, "the kill point lies beyond the run's writes"
    assert outcome.ok, _explain(outcome)
