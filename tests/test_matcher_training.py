"""Matcher training, stages 1 (homography pairs) and 2 (rendered scenes): ground-truth labels,
the loss going down, resume on the same trajectory, starting from stage-1 weights, and the
command line (generated and bundled images only)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cvlearned  # noqa: E402
from cvlearned.evaluation.warps import DepthWarp, HomographyWarp  # noqa: E402
from cvlearned.synthetic import make_scene_pairs  # noqa: E402
from cvlearned.synthetic.photos import photo_source  # noqa: E402
from cvlearned.training.matcher.matcher_pairs import IGNORED, UNMATCHED, correspondence_labels, extract_sample  # noqa: E402
from cvlearned.training.matcher.train_matcher import MatcherTrainConfig, main, train_matcher  # noqa: E402

SMALL = dict(batch_size=2, n_keypoints=128, image_width=256, image_height=192, log_every=1, warmup_steps=1,
             lr=1e-3, checkpoint_every=100, val_pairs=2, val_every=100)


def test_correspondence_labels_match_unmatchable_and_ignored_points():
    H = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # shift right by 10 px
    warp = HomographyWarp(H, (100, 100), (100, 100))
    points0 = np.array([[20.0, 20.0], [50.0, 50.0], [95.0, 50.0], [30.0, 70.0]])
    points1 = np.array([[31.0, 20.0], [60.0, 53.9], [5.0, 5.0], [40.0, 70.0 + 3.5]])
    labels0, labels1 = correspondence_labels(points0, points1, warp, match_px=3.0, unmatch_px=5.0)
    # 0 ↔ 0 at 1 px; 1 at 3.9 px is neither; 2 leaves image 1; 3 at 3.5 px is neither
    assert labels0.tolist() == [0, IGNORED, UNMATCHED, IGNORED]
    assert labels1.tolist() == [0, IGNORED, UNMATCHED, IGNORED]
    with pytest.raises(ValueError, match="match_px"):
        correspondence_labels(points0, points1, warp, match_px=6.0, unmatch_px=5.0)


def _weights(net) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_loss_goes_down_and_resume_follows_the_same_trajectory(tmp_path):
    torch.set_num_threads(1)
    photos = photo_source(None, limit=4)
    cfg = MatcherTrainConfig(steps=12, **SMALL)
    net, history = train_matcher(cfg, photos, tmp_path / "full", progress=False)
    losses = [entry["loss"] for entry in history]
    assert len(losses) == 12
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.3
    _, first = train_matcher(cfg, photos, tmp_path / "resumed", progress=False, max_steps_this_run=7)
    resumed, second = train_matcher(cfg, photos, tmp_path / "resumed", progress=False)
    assert [e["step"] for e in first + second] == list(range(1, 13))
    for key, value in _weights(net).items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_command_line_trains_logs_and_exports_a_loadable_matcher(tmp_path):
    images = tmp_path / "photos"
    images.mkdir()
    for name, photo in photo_source(None, limit=3):
        cv2.imwrite(str(images / f"{name}.png"), photo)
    config = tmp_path / "small.yaml"
    config.write_text("\n".join(f"{k}: {v}" for k, v in SMALL.items()))
    out, export = tmp_path / "run", tmp_path / "weights" / "m.pt"
    argv = ["homography", "--feature", "sift", "--images", str(images), "--out", str(out), "--config", str(config),
            "--steps", "2", "--export", str(export)]
    assert main(argv) == 0
    log = (out / "train.log").read_text()
    assert '"step": 2' in log and "stage homography" in log
    assert (out / "checkpoint.pt").is_file() and (out / "final.pt").is_file()
    matcher = cvlearned.LightGlueMatcher_create("sift", weights=export)
    assert matcher.config.descriptor_dim == 128 and matcher.name == "lightglue-lite-sift"
    with pytest.raises(SystemExit):
        main(["megadepth", "--images", str(images), "--out", str(out)])
    scenes = tmp_path / "scenes"
    assert main(["scenes", "--feature", "sift", "--init", str(export), "--images", str(images), "--out", str(scenes),
                 "--config", str(config), "--steps", "2"]) == 0
    log = (scenes / "train.log").read_text()
    assert '"step": 2' in log and "stage scenes" in log


def test_scenes_stage_starts_from_init_and_refuses_another_architecture(tmp_path):
    torch.set_num_threads(1)
    photos = photo_source(None, limit=4)
    cfg = MatcherTrainConfig(steps=1, **SMALL)
    stage1, _ = train_matcher(cfg, photos, tmp_path / "stage1", progress=False)
    init = tmp_path / "stage1.pt"
    torch.save(stage1.state_dict(), init)
    zero_lr = MatcherTrainConfig(**{**dataclasses.asdict(cfg), "lr": 1e-12})
    tuned, history = train_matcher(zero_lr, photos, tmp_path / "stage2", progress=False, stage="scenes", init=init)
    assert np.isfinite(history[0]["loss"])
    for key, value in stage1.state_dict().items():
        torch.testing.assert_close(tuned.state_dict()[key], value, rtol=1e-6, atol=1e-6)
    other = MatcherTrainConfig(**{**dataclasses.asdict(cfg), "preset": "lightglue"})
    with pytest.raises(ValueError, match="holds a lightglue-lite matcher for 128-d"):
        train_matcher(other, photos, tmp_path / "bad", progress=False, stage="scenes", init=init)
    with pytest.raises(ValueError, match="scene_layout"):
        MatcherTrainConfig(scene_layout="forest")


def test_scene_labels_follow_depth_and_ignore_points_without_depth():
    pair = make_scene_pairs(n_pairs=1, layout="box", size=(256, 192), seed=3)[0]
    sample = extract_sample(cvlearned.create("sift"), pair, 64)
    assert sample is not None
    warp = DepthWarp.from_pair(pair)
    matched = sample.labels0 >= 0
    assert matched.sum() >= 10
    projected, valid = warp.forward(sample.points0[matched])
    assert valid.all()
    assert np.linalg.norm(projected - sample.points1[sample.labels0[matched]], axis=1).max() < 3.0
    assert (sample.labels1[sample.labels0[matched]] == np.flatnonzero(matched)).all()
    no_depth = DepthWarp(np.full((192, 256), np.inf), pair.depth1, pair.K0, pair.K1, pair.R, pair.t)
    labels0, _ = correspondence_labels(sample.points0, sample.points1, no_depth)
    assert (labels0 == IGNORED).all()
