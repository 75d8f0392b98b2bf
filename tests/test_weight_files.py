"""Weights manifest, sha256 verification and strict loading."""

from __future__ import annotations

import json

import pytest
import torch

from cvlearned.weight_files import (
    WeightsError,
    load_into,
    load_manifest,
    load_state_dict,
    sha256_of,
    shipped_file,
    verify_file,
    weights_dir,
)


def test_manifest_entries_match_shipped_files():
    raw = json.loads((weights_dir() / "manifest.json").read_text())
    assert raw["format"] == 2
    models = [entry.model for entry in load_manifest().values()]
    assert len(set(models)) == len(models), "one shipped file per model name"
    for name, entry in load_manifest().items():
        path = weights_dir() / name
        verify_file(path, entry.sha256, entry.size)
        assert (weights_dir() / entry.model_card).is_file(), f"model card of {name} missing"
        assert entry.licence and entry.summary and entry.recipe == name.removesuffix(".pt")
        assert entry.family in ("hardnet", "superpoint", "ucn", "xfeat", "orinet", "lightglue"), entry.family
        assert (entry.family == "lightglue") == (entry.feature is not None and entry.matcher_preset is not None)
        assert shipped_file(entry.model) == name


def test_a_model_without_a_shipped_file_names_the_shipped_ones():
    with pytest.raises(WeightsError, match="no weight file ships for model 'ucn-lite-affine'.*xfeat-lite"):
        shipped_file("ucn-lite-affine")


def test_verify_reports_file_and_expected_hash(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.ones(2)}, path)
    good = sha256_of(path)
    assert verify_file(path, good) == path
    with pytest.raises(WeightsError, match=f"w.pt.*expected {'0' * 64}"):
        verify_file(path, "0" * 64)
    with pytest.raises(WeightsError, match="truncated"):
        verify_file(path, good, size=1)
    with pytest.raises(WeightsError, match="not found"):
        verify_file(tmp_path / "missing.pt", good)


def test_corrupt_file_gives_clear_error(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="broken.pt"):
        load_state_dict(path)


def test_strict_loading_names_the_file(tmp_path):
    module = torch.nn.Linear(3, 2)
    path = tmp_path / "linear.pt"
    torch.save({"state_dict": module.state_dict()}, path)
    state = load_state_dict(path, sha256=sha256_of(path))
    load_into(torch.nn.Linear(3, 2), state, path)
    with pytest.raises(WeightsError, match="linear.pt"):
        load_into(torch.nn.Linear(4, 2), state, path)
    with pytest.raises(WeightsError, match="linear.pt"):
        load_into(torch.nn.Linear(3, 2), {"weight": state["weight"]}, path)
