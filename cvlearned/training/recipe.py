"""Named recipes: the exact command sequence that produced each shipped weight file.

``cvlearned/training/recipes/<NAME>.sh`` reproduces ``weights/<NAME>.pt`` step by step as
its model card records it; the manifest record of each file names its recipe. Run one with
``cvlearned train --recipe NAME --data DIR`` from the repository root of a checkout (the
recipes read its training configs and, for fine-tunes, the shipped weights they start
from); ``--dry-run`` prints the script instead. NAME is the recipe name, the weight file
name or the registered model name (``xfeat-lite-v1``, ``xfeat-lite-v1.pt`` or ``xfeat-lite``).
A recipe writes under ``runs/recipes/NAME/`` and never into ``weights/``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from cvlearned.weight_files import WeightsEntry, load_manifest

__all__ = ["RECIPES_DIR", "find_recipe", "recipe_commands", "recipe_output_dir", "run_recipe"]

#: folder of the recipe scripts (installed with the package)
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"

#: what separates the simple commands of one script line
_CONTROL_OPERATORS = {"&&", "||", ";", "|", "&"}

#: the line a trainer logs when it stops at its wall-time cap (``max_minutes``)
_TIME_BUDGET = re.compile(r"time budget of [\d.]+ min reached at step \d+")


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


def recipe_output_dir(entry: WeightsEntry) -> Path:
    """``runs/recipes/<recipe>``: the folder a recipe writes (relative to the repository root)."""
    return Path("runs") / "recipes" / entry.recipe


def recipe_commands(script: Path, data: str = "DATA") -> list[list[str]]:
    """The simple commands of a recipe script, each split into words, for checking it.

    Continuation lines are joined, comments dropped, lines split at ``&&``, ``||``, ``;``,
    ``|`` and ``&`` (redirections such as ``> FILE`` stay in their command's words), and
    ``$VAR`` / ``${VAR}`` expanded from the script's own assignments, ``DATA`` (the script's
    first argument) being ``data``.
    """
    text = script.read_text(encoding="utf-8").replace("\\\n", " ")
    variables = {"DATA": data}
    commands: list[list[str]] = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for word in [*lexer, ";"]:
            if word not in _CONTROL_OPERATORS:
                command.append(word)
                continue
            if len(command) == 1 and re.fullmatch(r"[A-Za-z_]\w*=.*", command[0]):
                key, value = command[0].split("=", 1)
                variables[key] = data if value.startswith("${1") else _expand(value, variables)
            elif command and command[0] != "set":
                commands.append([_expand(w, variables) for w in command])
            command = []
    return commands


def _expand(word: str, variables: dict[str, str]) -> str:
    """``word`` with ``$NAME`` / ``${NAME}`` of ``variables`` replaced (others left as they are)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), word)


def run_recipe(name: str, data: str | None, dry_run: bool = False) -> int:
    """Run (or with ``dry_run`` print) the recipe of ``name`` on the data folder ``data``;
    the exit status (1 when a training stage stopped at its wall-time cap: not a reproduction).

    Raises:
        ValueError: unknown name, no ``data`` folder, or not run from a checkout's root.
    """
    entry, script = find_recipe(name)
    if not script.is_file():
        raise ValueError(f"the recipe of {entry.file} ({script}) is missing from this installation")
    if dry_run:
        print(f"# bash {script} {data or 'DATA_DIR'}   (card: weights/{entry.model_card})")
        print(script.read_text(encoding="utf-8"), end="")
        return 0
    if data is None:
        raise ValueError("a recipe needs --data DIR: the folder holding photos/ (and multiview/ for the *-sfm files)")
    if not Path(data).is_dir():
        raise ValueError(f"data folder {data} does not exist")
    if not Path("cvlearned/training/configs").is_dir():
        raise ValueError("run recipes from the repository root of a cvlearned checkout "
                         "(they read cvlearned/training/configs and weights/)")
    logs_before = _log_sizes(recipe_output_dir(entry))
    # the recipe's cvlearned / python commands are this interpreter's, activated or not
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    status = subprocess.run(["bash", str(script), data], check=False, env=env).returncode
    capped = _capped_logs(recipe_output_dir(entry), logs_before)
    if status == 0 and capped:
        print(f"cvlearned: error: a training stage stopped at its wall-time cap ({', '.join(capped)}), so "
              f"{entry.file} was not reproduced (its card's machine finished within the cap)",
              file=sys.stderr)
        return 1
    return status


def _log_sizes(folder: Path) -> dict[Path, int]:
    return {log: log.stat().st_size for log in folder.rglob("train.log")} if folder.is_dir() else {}


def _capped_logs(folder: Path, before: dict[Path, int]) -> list[str]:
    """The train.log files under ``folder`` whose lines written since ``before`` say the
    stage stopped at its wall-time cap."""
    capped = []
    for log, size in _log_sizes(folder).items():
        with open(log, encoding="utf-8", errors="replace") as handle:
            handle.seek(before.get(log, 0))
            if _TIME_BUDGET.search(handle.read()):
                capped.append(str(log))
    return capped
