"""The wheel carries every subpackage, the adapters and the weights (package data)."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "cvlearned").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert found - listed == set(), f"add to pyproject.toml packages: {sorted(found - listed)}"
    assert config["package-dir"]["cvlearned.adapters"] == "adapters"
    assert config["package-dir"]["cvlearned.weights"] == "weights"


def test_weights_and_adapters_import_as_subpackages():
    import cvlearned.adapters
    import cvlearned.weights

    assert Path(cvlearned.weights.__file__).parent.name == "weights"
    assert Path(cvlearned.adapters.__file__).parent.name == "adapters"
