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
from cvlearned.training.recipe import RECIPES_DIR, find_recipe, recipe_commands
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


def test_recipe_never_overwrites_a_shipped_file():
    for name in RECIPES:
        _, script = find_recipe(name)
        for words in recipe_commands(script):
            if words[0] in ("cp", "mv"):
                assert not Path(words[-1]).resolve().is_relative_to(weights_dir()), (script, words)


def test_cli_dry_run_prints_the_recipe(capsys):
    assert main(["train", "--recipe", "xfeat-lite", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "xfeat-lite-v1.sh" in printed and "cvlearned train xfeat" in printed


def test_cli_recipe_mistakes_are_one_line(capsys):
    assert main(["train", "--recipe", "sift-v1", "--dry-run"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no recipe 'sift-v1'" in err and "xfeat-lite-v1" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    assert exit_info.value.code == 2
    assert "give a MODEL to train or --recipe NAME" in capsys.readouterr().err
