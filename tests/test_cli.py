"""End-to-end runs of the command line: demo (rendered and user images) and bench."""

from __future__ import annotations

import json

import cv2
import pytest

from cvlearned.cli import main
from cvlearned.demo import rendered_pair


def test_demo_on_rendered_pair(tmp_path, capsys):
    out = tmp_path / "matches.png"
    assert main(["demo", "--features", "sift,orb", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| sift |" in text and "| orb |" in text and "rot. dev." in text
    sift_row = next(line for line in text.splitlines() if line.startswith("| sift |"))
    assert float(sift_row.split("|")[2]) < 2.0  # rotation deviation in degrees
    assert cv2.imread(str(out)) is not None


def test_demo_on_user_images(tmp_path, capsys):
    pair = rendered_pair(seed=3)
    paths = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    cv2.imwrite(paths[0], pair.image0)
    cv2.imwrite(paths[1], pair.image1)
    K = pair.K0
    k_text = f"{K[0, 0]},{K[1, 1]},{K[0, 2]},{K[1, 2]}"
    assert main(["demo", *paths, "--K", k_text, "--features", "sift", "--out", str(tmp_path / "m.png")]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| sift |"))
    assert row.split("|")[2].strip() == "–" and int(row.split("|")[5]) > 50  # no ground truth, inliers


def test_demo_rejects_unreadable_image(tmp_path):
    with pytest.raises(SystemExit):
        main(["demo", str(tmp_path / "missing.png"), str(tmp_path / "missing2.png")])


def test_bench_writes_reports(tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "--features", "sift,akaze", "--dataset", "synthetic-homography", "--max-pairs", "2",
            "--size", "320x240", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "| sift |" in capsys.readouterr().out
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["results"]) == {"sift", "akaze"}
    assert len(payload["results"]["sift"]["pairs"]) == 2
    for name in ["results.md", "pck_curves.png", "mma_curves.png", "matches_sift.jpg"]:
        assert (out / name).exists(), name


def test_bench_on_scenes_is_deterministic(tmp_path):
    args = ["bench", "--features", "orb", "--dataset", "synthetic-scenes:layout=box", "--max-pairs", "1",
            "--size", "320x240", "--no-progress", "--seed", "4"]
    runs = []
    for i in range(2):
        assert main([*args, "--out", str(tmp_path / str(i))]) == 0
        runs.append(json.loads((tmp_path / str(i) / "results.json").read_text())["results"]["orb"]["summary"])
    runs[0].pop("ms_per_image"), runs[1].pop("ms_per_image")
    assert runs[0] == runs[1]
    assert (tmp_path / "0" / "pose_auc.png").exists()


def test_bench_rejects_unknown_dataset_and_feature():
    with pytest.raises(ValueError, match="unknown dataset"):
        main(["bench", "--dataset", "nope", "--no-progress"])
    with pytest.raises(ValueError, match="unknown feature"):
        main(["bench", "--features", "nope", "--dataset", "synthetic-homography", "--max-pairs", "1", "--no-progress"])


def test_features_command_lists_baselines(capsys):
    assert main(["features"]) == 0
    text = capsys.readouterr().out
    for name in ["sift", "daisy", "kaze", "akaze", "orb", "brisk"]:
        assert name in text


def test_train_command_dispatches_to_the_trainer(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "hardnet", "--help"])
    assert exit_info.value.code == 0
    assert "--images" in capsys.readouterr().out
