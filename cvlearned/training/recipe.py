"""Named recipes: the exact command sequence that produced each shipped weight file.

``cvlearned/training/recipes/<NAME>.sh`` reproduces ``weights/<NAME>.pt`` step by step as
its model card records it; the manifest record of each file names its recipe. Run one with
``cvlearned train --recipe NAME [--data DIR]`` from the repository root of a checkout (the
recipes read its training configs and, for fine-tunes, the shipped weights they start
from); ``--dry-run`` prints the script instead. NAME is the recipe name, the weight file
name or the registered model name (``xfeat-lite-v1``, ``xfeat-lite-v1.pt`` or ``xfeat-lite``).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from cvlearned.weight_files import WeightsEntry, load_manifest

__all__ = ["RECIPES_DIR", "find_recipe", "recipe_commands", "run_recipe"]

#: folder of the recipe scripts (installed with the package)
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


def find_recipe(name: str) -> tuple[WeightsEntry, Path]:
    """The manifest record and recipe script of ``name`` (recipe, weight file or model name).

    Raises:
        ValueError: no shipped file has that name (the message lists the recipes).
    """
    for entry in load_manifest().values():
        if name in (entry.recipe, entry.file, entry.model):
            return entry, RECIPES_DIR / f"{entry.recipe}.sh"
    known = sorted(entry.recipe for entry in load_manifest().values())
    raise ValueError(f"no recipe {name!r}; recipes (one per shipped weight file): {', '.join(known)}")


def recipe_commands(script: Path, data: str = "DATA") -> list[list[str]]:
    """The command lines of a recipe script, each split into words (continuation lines
    joined, comments and shell set-up left out, ``$DATA``/``$OUT`` expanded with ``data`` and
    the script's own ``OUT`` value). For checking and printing; the script itself is what runs."""
    text = script.read_text(encoding="utf-8").replace("\\\n", " ")
    variables = {"DATA": data}
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] in ("set", "#!/usr/bin/env"):
            continue
        if len(words) == 1 and "=" in words[0] and words[0].split("=")[0].isidentifier():
            key, value = words[0].split("=", 1)
            variables[key] = _expand(value.replace("${1:-../shared/data}", data), variables)
            continue
        commands.append([_expand(word, variables) for word in words])
    return commands


def _expand(word: str, variables: dict[str, str]) -> str:
    """``word`` with ``$NAME`` / ``${NAME}`` of ``variables`` replaced (others left as they are)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), word)


def run_recipe(name: str, data: str = "../shared/data", dry_run: bool = False) -> int:
    """Run (or with ``dry_run`` print) the recipe of ``name``; the script's exit status.

    Raises:
        ValueError: unknown name, or not run from a checkout's root, or ``data`` missing.
    """
    entry, script = find_recipe(name)
    if not script.is_file():
        raise ValueError(f"the recipe of {entry.file} ({script}) is missing from this installation")
    if dry_run:
        print(f"# {script} (card: weights/{entry.model_card})")
        print(script.read_text(encoding="utf-8"), end="")
        return 0
    if not Path("cvlearned/training/configs").is_dir():
        raise ValueError("run recipes from the repository root of a cvlearned checkout "
                         "(they read cvlearned/training/configs and weights/)")
    if not Path(data).is_dir():
        raise ValueError(f"data folder {data} does not exist (pass --data DIR, the folder holding photos/)")
    return subprocess.run(["bash", str(script), data], check=False).returncode
