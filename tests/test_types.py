"""mypy (configured in pyproject.toml, ``[tool.mypy]``) reports nothing on the package sources.

The files checked (cvlearned/ and adapters/) and the settings are the configuration's; the
cache is mypy's default ``.mypy_cache`` in the repository, so a rerun takes seconds (a cold
run about half a minute).
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes():
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "pyproject.toml"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
