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
    lines = capsys.readouterr().out.splitlines()
    header, row = ([c.strip() for c in next(line for line in lines if line.startswith(start)).split("|")]
                   for start in ("| feature |", "| sift |"))
    cells = dict(zip(header, row))
    assert "rot. dev. (°)" not in cells and int(cells["inliers"]) > 50  # no ground truth: no error columns
    assert abs(float(cells["R (angle about axis)"].split("°")[0]) - 14.6) < 1.0  # the estimated pose is printed


def test_demo_rejects_unreadable_image(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "missing.png"), str(tmp_path / "missing2.png")]) == 1
    assert capsys.readouterr().err.startswith("cvlearned: error: image file not found")


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
    for summary in runs:  # timings (the matcher's too, since issue 25)
        summary.pop("ms_per_image"), summary.pop("ms_match_per_pair")
    assert runs[0] == runs[1]
    assert (tmp_path / "0" / "pose_auc.png").exists()


def test_bench_on_shared_keypoints_describes_the_same_points(tmp_path):
    """--keypoints sift: every feature describes SIFT's keypoints, so the SIFT row equals its
    own-detector run and the others keep at most as many keypoints (DAISY merges SIFT's
    same-location copies, KAZE drops the ones it cannot describe)."""
    args = ["bench", "--features", "sift,daisy,kaze", "--dataset", "synthetic-homography", "--max-pairs", "2",
            "--size", "320x240", "--max-keypoints", "500", "--no-progress"]
    assert main([*args, "--keypoints", "sift", "--out", str(tmp_path / "shared")]) == 0
    assert main([*args, "--features", "sift", "--out", str(tmp_path / "own")]) == 0
    shared = json.loads((tmp_path / "shared" / "results.json").read_text())
    own = json.loads((tmp_path / "own" / "results.json").read_text())
    assert "sift keypoints" in shared["header"]["keypoints"]
    sift_shared = [{k: v for k, v in r.items() if not k.startswith("ms")} for r in shared["results"]["sift"]["pairs"]]
    sift_own = [{k: v for k, v in r.items() if not k.startswith("ms")} for r in own["results"]["sift"]["pairs"]]
    assert sift_shared == sift_own
    for name in ("daisy", "kaze"):
        for r, ref in zip(shared["results"][name]["pairs"], sift_own):
            assert 0.5 * ref["keypoints0"] < r["keypoints0"] <= ref["keypoints0"]
    with pytest.raises(SystemExit) as exit_info:  # a usage error, before any work
        main([*args, "--keypoints", "nope"])
    assert exit_info.value.code == 2


def test_bench_extra_feature_with_parameters(tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "--features", "orb", "--extra", "orb (100 kp)=orb:max_keypoints=100", "--dataset",
            "synthetic-homography", "--max-pairs", "1", "--size", "320x240", "--max-keypoints", "400",
            "--no-progress", "--out", str(out)]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())["results"]
    assert results["orb (100 kp)"]["params"]["max_keypoints"] == 100
    assert results["orb"]["params"]["max_keypoints"] == 400
    assert (out / "matches_orb_100_kp_.jpg").exists()
    assert main([*args[:-2], "--extra", "orb=orb"]) == 1
    assert "unique" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["orb", "=orb", "x=", "x=orb:max_keypoints", "x=orb:=3"])
def test_labelled_feature_spec_errors(spec):
    from cvlearned.evaluation.feature_options import parse_labelled_feature

    with pytest.raises(ValueError):
        parse_labelled_feature(spec)


def test_labelled_feature_spec_values():
    from cvlearned.evaluation.feature_options import parse_labelled_feature

    assert parse_labelled_feature(" a b = hardnet-lite:weights=x.pt,max_keypoints=None,patch_scale=6.5,x=True") == (
        "a b", "hardnet-lite", {"weights": "x.pt", "max_keypoints": None, "patch_scale": 6.5, "x": True})


def test_bench_rejects_unknown_dataset_and_feature(capsys):
    for argv in (["bench", "--dataset", "nope"], ["bench", "--features", "nope"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nope'" in err and "unknown feature 'nope'" in err


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
