"""The shared YAML → training-config loader (cvlearned.training.common.config_io)."""

from __future__ import annotations

import pytest

from cvlearned.training.common.config_io import load_yaml_config
from cvlearned.training.superpoint.superpoint_config import SuperPointTrainConfig


def test_a_nested_mapping_overrides_only_the_keys_it_names(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("joint:\n  steps: 7\n  homography:\n    max_rotation_deg: 5.0\n    scale: [0.9, 1.1]\n")
    default = SuperPointTrainConfig()
    cfg = load_yaml_config(default, path, seed=None)
    assert cfg.joint.steps == 7 and cfg.joint.homography.max_rotation_deg == 5.0
    assert cfg.joint.homography.scale == (0.9, 1.1)  # YAML lists become tuples
    assert cfg.joint.homography.max_perspective == default.joint.homography.max_perspective
    assert cfg.magicpoint == default.magicpoint and cfg.seed == default.seed


def test_unknown_nested_keys_name_their_place_and_the_valid_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("joint:\n  homography:\n    tilt: 3\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['tilt'\] in config.joint.homography; valid: .*'scale'"):
        load_yaml_config(SuperPointTrainConfig(), path)


def test_top_level_overrides_win_and_bad_files_raise(tmp_path):
    assert load_yaml_config(SuperPointTrainConfig(), None, seed=3).seed == 3
    path = tmp_path / "c.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_yaml_config(SuperPointTrainConfig(), path)
