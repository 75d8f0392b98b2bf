"""Import a script from the repository's ``examples/`` folder as a module (examples are not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """Load ``examples/<name>.py`` (``name`` with or without ``.py``) once and cache it in ``sys.modules``."""
    stem = name[:-3] if name.endswith(".py") else name
    path = EXAMPLES_DIR / f"{stem}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no example script {path}")
    module_name = f"cvlearned_examples_{stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses resolve their module through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
