"""ruff (configured in pyproject.toml) reports nothing on the package, adapters, tests, benchmarks and examples."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    pytest.importorskip("ruff")
    folders = ["cvlearned", "adapters", "tests", "benchmarks", "examples"]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *folders], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
