"""site.yml (DigitalOcean side) under injected faults and kills: the full count, with its figures.

    .venv/bin/python bench/reliability.py [--seeds 10] [--kills 12]

Each fault run starts from an empty account with 20% of requests answered 429/500/503 (some after the
request took effect) and 20 ms latency; each kill run starts from an empty account and SIGKILLs the
playbook's process group after N writes (N spread over the run), then runs it again in full. After each,
a clean run must change nothing. Prints per run: requests, faults injected, duplicates found, apps whose
delivered credentials are not their users' current ones (a password lost), the clean
run's changes and writes; then the totals. tests/reliability/test_faults_and_kills.py runs a sample in CI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from oxy_sandbox import process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.sandbox import Sandbox
from tests.reliability.harness import KILL_POINTS, fault_run, kill_run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--kills", type=int, default=len(KILL_POINTS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "id_ed25519"  # the operators' key pair the sandbox inventory reads
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        os.environ["OXY_SSH_KEY_FILE"] = str(key)
        sandbox = Sandbox(process.start(Path(tmp) / "state", reset=True, extra=["--machines", "off"]))
        do = sandbox.client()
        outcomes = []
        try:
            runs = [("fault", s) for s in range(1, args.seeds + 1)] + [("kill", k) for k in KILL_POINTS[: args.kills]]
            for kind, value in runs:
                sandbox.reset()
                outcome = fault_run(sandbox, do, value) if kind == "fault" else kill_run(sandbox, do, value)
                outcomes.append(outcome)
                print(
                    f"{kind:5s} {outcome.label:28s} requests {outcome.requests:4d}  faults {outcome.faults:3d}  "
                    f"converged {outcome.converged!s:5s}  duplicates {len(outcome.duplicates)}  "
                    f"stale credentials {len(outcome.stale_credentials)}  "
                    f"clean run: changed {outcome.second_run_changed} writes {outcome.second_run_writes}"
                    + ("" if outcome.ok else "   <-- FAILED"),
                    flush=True,
                )
        finally:
            sandbox.control("POST", "reset")
            process.stop(sandbox.running)
        faults = [o for o in outcomes if o.label.startswith("seed")]
        kills = [o for o in outcomes if not o.label.startswith("seed")]
        print(
            f"\nfault runs: {len(faults)}, requests {sum(o.requests for o in faults)}, "
            f"faults injected {sum(o.faults for o in faults)}, duplicates found "
            f"{sum(len(o.duplicates) for o in faults)}, passwords lost (stale credentials) "
            f"{sum(len(o.stale_credentials) for o in faults)}, failed {sum(not o.ok for o in faults)}"
        )
        print(
            f"kill runs: {len(kills)}, requests {sum(o.requests for o in kills)}, duplicates found "
            f"{sum(len(o.duplicates) for o in kills)}, passwords lost (stale credentials) "
            f"{sum(len(o.stale_credentials) for o in kills)}, failed {sum(not o.ok for o in kills)}"
        )


if __name__ == "__main__":
    main()
