"""Every shipped weight file has a recipe whose commands parse with the tools they call.

A recipe is not run here (training takes hours); its every ``cvlearned`` command is parsed
by the real argument parser of that command (a trainer's own parser for ``cvlearned train
MODEL``), and every config file and shipped weight file it names exists.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
from pathlib import Path

import pytest

from cvlearned.cli import TRAINERS, build_parser, main
from cvlearned.training import recipe
from cvlearned.training.recipe import RECIPES_DIR, find_recipe, recipe_commands, recipe_output_dir
from cvlearned.weight_files import load_manifest, weights_dir

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted(entry.recipe for entry in load_manifest().values())


class Parsed(Exception):
    """Raised instead of running a trainer once its arguments parsed."""


@pytest.fixture
def parse_only(monkeypatch):
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)


def test_every_shipped_file_has_one_recipe():
    scripts = sorted(path.stem for path in RECIPES_DIR.glob("*.sh"))
    assert scripts == RECIPES
    for name in RECIPES:
        entry, script = find_recipe(name)
        assert find_recipe(entry.file)[1] == find_recipe(entry.model)[1] == script
        text = script.read_text(encoding="utf-8")
        assert f"weights/{entry.file}" in text and f"weights/{entry.model_card}" in text
        card = (weights_dir() / entry.model_card).read_text(encoding="utf-8")
        assert f"cvlearned train --recipe {name}" in card, f"the card of {entry.file} does not name its recipe"
        assert os.access(script, os.X_OK), f"{script} is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_commands_parse_and_name_existing_files(name, parse_only):
    _, script = find_recipe(name)
    commands = [_as_module_call(words) for words in recipe_commands(script, data="DATA")]
    commands = [command for command in commands if command is not None]
    assert commands, f"{script} runs no cvlearned command"
    for module, argv in commands:
        for word in argv:
            if word.startswith(("cvlearned/training/configs/", "weights/")):
                assert (ROOT / word).exists(), f"{script}: {word} does not exist"
        with pytest.raises(Parsed):
            if module == "cvlearned.cli":
                build_parser().parse_args(argv)
            else:
                importlib.import_module(module).main(argv)


def _as_module_call(words: list[str]) -> tuple[str, list[str]] | None:
    """(module whose parser reads the arguments, arguments) of a ``cvlearned ...`` or
    ``python -m cvlearned...`` command line; None for other commands (mkdir, cp, ...)."""
    if words[:2] == ["python", "-m"] and words[2].startswith("cvlearned"):
        words = ["cvlearned", *words[3:]] if words[2] in ("cvlearned", "cvlearned.cli") else words[2:]
        if words[0] != "cvlearned":
            return words[0], words[1:]
    if words[0] != "cvlearned":
        return None
    if words[1] == "train":
        return TRAINERS[words[2]], words[3:]
    return "cvlearned.cli", words[1:]


def test_recipe_writes_only_under_its_output_folder():
    for name in RECIPES:
        entry, script = find_recipe(name)
        commands = recipe_commands(script, data="DATA")
        out = recipe_output_dir(entry).as_posix()
        written = [words[-1] for words in commands if words[0] == "cp"]
        written += [words[i + 1] for words in commands for i, w in enumerate(words[:-1]) if w == "--export"]
        assert f"{out}/{entry.file}" in written, f"{script} does not write {out}/{entry.file}"
        for words in commands:
            targets = [words[-1]] if words[0] in ("cp", "mv") else []
            targets += [words[i + 1] for i, w in enumerate(words[:-1]) if w in (">", ">>", "--out", "--export")]
            for target in targets:
                assert (ROOT / target).resolve().is_relative_to(ROOT / "runs"), (script, words)


def test_recipe_commands_split_at_control_operators(tmp_path):
    script = tmp_path / "r.sh"
    script.write_text('set -euo pipefail\nDATA="${1:?usage}"\nOUT="runs/recipes/r"  # out\n'
                      'mkdir -p "$OUT/a" && cp "$DATA/x y" "$OUT/a/"   # copy\n'
                      'git show abc:w.pt > "$OUT/w.pt"; echo done \\\n  twice\n')
    assert recipe_commands(script, data="/d") == [
        ["mkdir", "-p", "runs/recipes/r/a"], ["cp", "/d/x y", "runs/recipes/r/a/"],
        ["git", "show", "abc:w.pt", ">", "runs/recipes/r/w.pt"], ["echo", "done", "twice"],
    ]


def _fake_recipe(tmp_path, monkeypatch, body: str) -> None:
    """Run recipes from ``tmp_path`` (a fake checkout) with ``xfeat-lite-v1.sh`` = ``body``."""
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "xfeat-lite-v1.sh").write_text(body)
    (tmp_path / "cvlearned" / "training" / "configs").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(recipe, "RECIPES_DIR", tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)


def test_run_recipe_passes_data_and_fails_when_a_stage_hit_its_time_cap(tmp_path, monkeypatch, capsys):
    log = "runs/recipes/xfeat-lite-v1/xfeat/train.log"
    _fake_recipe(tmp_path, monkeypatch, f'mkdir -p "$(dirname {log})"\necho "$1" > data_seen\n'
                                        f'echo "time budget of 75.0 min reached at step 4100" >> {log}\n')
    assert main(["train", "--recipe", "xfeat-lite", "--data", "data"]) == 1
    assert (tmp_path / "data_seen").read_text().strip() == "data"
    assert "stopped at its wall-time cap" in capsys.readouterr().err
    # the same log, no new cap line in this run: success
    (tmp_path / "recipes" / "xfeat-lite-v1.sh").write_text("true\n")
    assert main(["train", "--recipe", "xfeat-lite-v1.pt", "--data", "data"]) == 0


def test_run_recipe_returns_the_script_status(tmp_path, monkeypatch):
    _fake_recipe(tmp_path, monkeypatch, "exit 3\n")
    assert main(["train", "--recipe", "xfeat-lite", "--data", "data"]) == 3


def test_cli_dry_run_prints_the_recipe(capsys):
    assert main(["train", "--recipe", "xfeat-lite", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "xfeat-lite-v1.sh" in printed and "cvlearned train xfeat" in printed


def test_cli_recipe_mistakes_are_one_line(capsys):
    assert main(["train", "--recipe", "sift-v1", "--dry-run"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no recipe 'sift-v1'" in err and "xfeat-lite-v1" in err
    assert main(["train", "--recipe", "xfeat-lite"]) == 1
    assert "needs --data DIR" in capsys.readouterr().err
    for argv, message in ((["train"], "give a MODEL to train or --recipe NAME"),
                          (["train", "ucn", "--recipe", "ucn-v2"], "give a MODEL to train or --recipe NAME"),
                          (["train", "--dry-run", "ucn", "--out", "x"], "--data and --dry-run go with --recipe")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "usage: cvlearned train" in err
