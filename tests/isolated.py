"""Run a test's worker in a child Python process, so that a crash (segfault, abort) in native
code fails the test that provoked it instead of killing the whole pytest run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_isolated(script: str | Path, *args: str, timeout: float = 600) -> Any:
    """Run ``python script args...`` from the repository root → the JSON its last stdout line holds.

    Fails (AssertionError with the child's stderr) when the child dies from a signal or
    exits non-zero.
    """
    proc = subprocess.run([sys.executable, str(script), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (
        f"worker {Path(script).name} {' '.join(args)} exited with {proc.returncode} "
        f"(negative = killed by that signal)\n{proc.stderr[-4000:]}"
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])
