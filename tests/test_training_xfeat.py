"""XFeat training: losses, the resumable loop and the command."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cvlearned.models.xfeat_net import XFeatNet
from cvlearned.training.superpoint.superpoint_joint import homography_pair
from cvlearned.training.superpoint.superpoint_losses import infonce_descriptor_loss, infonce_terms
from cvlearned.training.xfeat.train_xfeat import main
from cvlearned.training.xfeat.xfeat_config import XFeatTrainConfig, load_config
from cvlearned.training.xfeat.xfeat_training import train_xfeat, xfeat_losses

CONFIG = Path(__file__).resolve().parents[1] / "cvlearned" / "training" / "configs" / "xfeat-lite.yaml"
LOG = logging.getLogger("test.xfeat")


def _crops(count: int = 4, shape: tuple[int, int] = (64, 96)) -> tuple[np.ndarray, list[np.ndarray]]:
    """Textured crops with corner-like labels (strong Shi-Tomasi corners)."""
    images, points = [], []
    for i in range(count):
        noise = (np.random.default_rng(i).random(shape) * 255).astype(np.uint8)
        image = cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 1.5), None, 0, 255, cv2.NORM_MINMAX)
        corners = cv2.goodFeaturesToTrack(image, 60, 0.01, 4)
        images.append(image)
        points.append(corners.reshape(-1, 2).astype(np.float32))
    return np.stack(images), points


def _small_config(**changes) -> XFeatTrainConfig:
    return dataclasses.replace(XFeatTrainConfig(), batch_size=2, log_every=1, checkpoint_every=2, warmup_steps=1,
                               **changes)


def test_recipe_config_loads_and_rejects_unknown_keys(tmp_path) -> None:
    cfg = load_config(CONFIG)
    assert cfg.preset == "xfeat-lite" and cfg.steps == 5000
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    with pytest.raises(ValueError, match="unknown key.*stepz.*valid"):
        load_config(bad)
    with pytest.raises(ValueError, match="temperature"):
        XFeatTrainConfig(temperature=0.0)


def test_infonce_terms_match_the_loss_and_give_probabilities() -> None:
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(16, 6, 8), dim=0)
    b = torch.nn.functional.normalize(torch.randn(16, 6, 8), dim=0)
    H = torch.tensor([[1.0, 0, 3], [0, 1.0, -2], [0, 0, 1]])
    terms = infonce_terms(a, b, H)
    assert torch.isclose(terms.loss, infonce_descriptor_loss(a, b, H))
    assert len(terms.cells_a) == len(terms.cells_b) == len(terms.row_probability) > 0
    assert bool(((terms.row_probability > 0) & (terms.row_probability <= 1)).all())
    # identical maps under the identity: every positive is the most similar cell
    same = infonce_terms(a, a, torch.eye(3), temperature=0.01)
    assert bool((same.row_probability > 0.5).all())


def test_losses_are_finite_and_reach_every_head() -> None:
    images, points = _crops()
    cfg = _small_config()
    rng = np.random.default_rng(0)
    pairs = [homography_pair(images[i], points[i], rng, cfg.homography, cfg.photometric) for i in range(2)]
    net = XFeatNet()
    losses = xfeat_losses(net, pairs, cfg)
    assert set(losses) == {"total", "detector", "descriptor", "reliability"}
    assert all(bool(torch.isfinite(v)) for v in losses.values())
    losses["total"].backward()
    for head in (net.keypoint_head, net.reliability_head, net.fusion, net.block1):
        assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in head.parameters())


def test_training_lowers_the_loss_and_resumes(tmp_path) -> None:
    images, points = _crops()
    cfg = _small_config(steps=24, lr=3e-3)
    torch.set_num_threads(1)
    _, history = train_xfeat(cfg, images, points, tmp_path, LOG, progress=False, max_steps_this_run=24)
    first, last = np.mean([h["loss"] for h in history[:4]]), np.mean([h["loss"] for h in history[-4:]])
    assert last < 0.8 * first
    cfg2 = dataclasses.replace(cfg, steps=26)
    _, resumed = train_xfeat(cfg2, images, points, tmp_path, LOG, progress=False)
    assert [h["step"] for h in resumed] == [25, 26]


def test_training_refuses_too_few_crops(tmp_path) -> None:
    images, points = _crops(1)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        train_xfeat(_small_config(steps=1), images, points, tmp_path, LOG, progress=False)


def test_command_missing_labels_is_one_line(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "adapt.npz does not exist" in err[0]


def test_command_trains_and_exports(tmp_path) -> None:
    images, points = _crops()
    offsets = np.cumsum([0] + [len(p) for p in points])
    np.savez(tmp_path / "adapt.npz", images=images, points=np.concatenate(points), offsets=offsets)
    config = tmp_path / "c.yaml"
    config.write_text("steps: 2\nbatch_size: 2\nwarmup_steps: 1\nlog_every: 1\n")
    assert main(["--out", str(tmp_path), "--config", str(config), "--export", str(tmp_path / "w.pt")]) == 0
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(state) == set(XFeatNet().state_dict())
