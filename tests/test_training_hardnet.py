"""Training pieces: patch-pair mining, losses, a few optimisation steps, resume, export."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cvlearned.synthetic.photos import bundled_photo
from cvlearned.training.patches.losses import descriptor_loss, hardnet_triplet_loss, sos_regularizer
from cvlearned.training.patches.patch_pairs import (
    MiningConfig,
    load_or_mine,
    local_jacobian,
    map_keypoints,
    mine_pair,
    split_photos,
)
from cvlearned.training.patches.train_hardnet import TrainConfig, export_weights, load_config, train

CONFIGS = Path(__file__).resolve().parents[1] / "cvlearned" / "training" / "configs"


# ------------------------------------------------------------------------- losses
def test_triplet_loss_is_zero_for_perfect_pairs_and_far_negatives():
    a = torch.eye(4, 8)  # distinct one-hot vectors: negatives at sqrt(2) > margin
    assert float(hardnet_triplet_loss(a, a.clone())) == pytest.approx(0.0, abs=1e-6)


def test_triplet_loss_hand_computed():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[0.6, 0.8], [0.8, 0.6]])
    # d(a_i, p_i) = sqrt(0.8), hardest negative sqrt(0.4) for both pairs
    expected = 1.0 + math.sqrt(0.8) - math.sqrt(0.4)
    assert float(hardnet_triplet_loss(a, p)) == pytest.approx(expected, abs=1e-5)
    # margin 0.1 and a far pair: max(0, 0.1 + 0 - sqrt(2)) = 0 for well separated pairs
    assert float(hardnet_triplet_loss(torch.eye(2), torch.eye(2), margin=0.1)) == pytest.approx(0.0, abs=1e-6)


def test_triplet_loss_uses_the_column_negative_too():
    # a_0's row is easy, but a_1 is very close to p_0 -> the column gives the hardest negative
    a = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # pair 0: pos = sqrt(2); row negs: d(a0,p1)=sqrt2, d(a0,p2)=sqrt2; column: d(a1,p0)=0 -> hardest 0
    # pair 1: pos = 0; row: d(a1,p0)=0 -> hardest 0; pair 2: pos 0, hardest sqrt(2)
    expected = ((1 + math.sqrt(2) - 0) + (1 + 0 - 0) + 0.0) / 3
    assert float(hardnet_triplet_loss(a, p)) == pytest.approx(expected, abs=1e-4)


def _sos_reference(a: np.ndarray, p: np.ndarray, k: int) -> float:
    n = len(a)
    da = np.linalg.norm(a[:, None] - a[None], axis=2)
    dp = np.linalg.norm(p[:, None] - p[None], axis=2)
    total = 0.0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        na = sorted(others, key=lambda j: da[i, j])[:k]
        npp = sorted(others, key=lambda j: dp[i, j])[:k]
        total += math.sqrt(sum((da[i, j] - dp[i, j]) ** 2 for j in set(na) | set(npp)))
    return total / n


def test_sos_regularizer():
    a = torch.nn.functional.normalize(torch.randn(12, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    assert float(sos_regularizer(a, a.clone())) == pytest.approx(0.0, abs=1e-3)
    p = torch.nn.functional.normalize(a + 0.3 * torch.randn(12, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    assert float(sos_regularizer(a, p, knn=3)) == pytest.approx(_sos_reference(a.numpy(), p.numpy(), 3), abs=1e-4)
    combined = descriptor_loss(a, p, sos_weight=2.0, knn=3)
    expected = float(hardnet_triplet_loss(a, p)) + 2 * float(sos_regularizer(a, p, 3))
    assert float(combined) == pytest.approx(expected, abs=1e-5)


# ------------------------------------------------------------------------- mining
def test_local_jacobian_matches_finite_differences():
    H = np.array([[1.1, 0.2, 5.0], [-0.1, 0.9, 3.0], [1e-4, -2e-4, 1.0]])
    pts = np.array([[10.0, 20.0], [200.0, 100.0]])
    mapped, J = local_jacobian(H, pts)
    h = 1e-4
    for d in range(2):
        shift = np.zeros(2)
        shift[d] = h
        plus, _ = local_jacobian(H, pts + shift)
        minus, _ = local_jacobian(H, pts - shift)
        assert np.allclose((plus - minus) / (2 * h), J[:, :, d], atol=1e-6)


def test_map_keypoints_similarity():
    # rotate by 30 deg counter-clockwise on screen (y down) and scale by 2: OpenCV angles
    # (image coordinates) decrease by 30
    a = math.radians(30)
    H = np.array([[2 * math.cos(a), 2 * math.sin(a), 0.0], [-2 * math.sin(a), 2 * math.cos(a), 0.0], [0.0, 0.0, 1.0]])
    pts, size, angle = map_keypoints(np.array([[10.0, 5.0]]), np.array([3.0]), np.array([10.0]), H)
    assert size[0] == pytest.approx(6.0) and angle[0] == pytest.approx(340.0)


def test_split_holds_out_every_tenth():
    names = [f"p{i:03d}" for i in range(25)]
    assert split_photos(names, "val") == ["p009", "p019"]
    assert len(split_photos(names, "train")) == 23


@pytest.fixture(scope="module")
def tiny_pairs(tmp_path_factory):
    cfg = MiningConfig(image_side=256, pairs_per_photo=1, max_keypoints_per_image=48)
    photos = [("astronaut", bundled_photo("astronaut")), ("coffee", bundled_photo("coffee"))]
    out = tmp_path_factory.mktemp("mine")
    a, b, ids = load_or_mine(photos, cfg, out, "train")
    cached = list(out.glob("patch_pairs_train_*.npz"))
    assert len(cached) == 1
    a2, b2, _ = load_or_mine(photos, cfg, out, "train")  # from the cache
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    return a, b, ids


def test_mined_pairs_correspond(tiny_pairs):
    a, b, ids = tiny_pairs
    assert a.shape == b.shape and a.shape[1:] == (32, 32) and a.dtype == np.uint8 and len(a) >= 40
    fa = a.reshape(len(a), -1).astype(np.float64)
    fb = b.reshape(len(b), -1).astype(np.float64)
    fa = (fa - fa.mean(1, keepdims=True)) / (fa.std(1, keepdims=True) + 1e-6)
    fb = (fb - fb.mean(1, keepdims=True)) / (fb.std(1, keepdims=True) + 1e-6)
    positive = np.median((fa * fb).mean(1))
    negative = np.median((fa * np.roll(fb, 7, axis=0)).mean(1))
    assert positive > 0.6 and abs(negative) < 0.3


def test_mine_pair_is_reproducible():
    cfg = MiningConfig(image_side=200, max_keypoints_per_image=20)
    photo = bundled_photo("brick")
    a1, b1 = mine_pair(np.random.default_rng([3, 0]), photo, cfg)
    a2, b2 = mine_pair(np.random.default_rng([3, 0]), photo, cfg)
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)


# ------------------------------------------------------------------------ training
def _tiny_config(**kw) -> TrainConfig:
    base = dict(preset="hardnet-lite", steps=12, batch_size=32, lr=3e-3, warmup_steps=1, checkpoint_every=4,
                log_every=1, val_every=100, dropout=0.0)
    base.update(kw)
    return TrainConfig(**base)


def test_a_few_steps_lower_the_loss(tiny_pairs, tmp_path):
    torch.set_num_threads(1)
    a, b, _ = tiny_pairs
    _, history = train(_tiny_config(steps=12), a, b, tmp_path, progress=False)
    losses = [h["loss"] for h in history]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


def test_resume_follows_the_same_trajectory(tiny_pairs, tmp_path):
    torch.set_num_threads(1)
    a, b, _ = tiny_pairs
    straight, _ = train(_tiny_config(steps=6), a, b, tmp_path / "straight", progress=False)
    train(_tiny_config(steps=6), a, b, tmp_path / "resumed", progress=False, max_steps_this_run=4)
    ckpt = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 4
    resumed, history = train(_tiny_config(steps=6), a, b, tmp_path / "resumed", progress=False)
    assert [h["step"] for h in history] == [5, 6]
    for (k, v1), v2 in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(v1.float(), v2.float(), atol=1e-5), k


def test_export_loads_strictly_into_the_feature(tiny_pairs, tmp_path):
    import cvlearned

    a, b, _ = tiny_pairs
    net, _ = train(_tiny_config(steps=2), a, b, tmp_path / "run", progress=False)
    path = export_weights(net, tmp_path / "w16.pt", fp16=True)
    state = torch.load(path, weights_only=True)
    assert all(v.dtype in (torch.float16, torch.int64) for v in state.values())
    feat = cvlearned.HardNet_create(weights=str(path))
    gray = cv2.cvtColor(bundled_photo("camera"), cv2.COLOR_BGR2GRAY)[:200, :200]
    keypoints, desc = feat.detectAndCompute(gray, None)
    assert desc.shape == (len(keypoints), 128)


@pytest.mark.parametrize("name", ["hardnet-lite.yaml", "hardnet.yaml"])
def test_shipped_yaml_configs_load(name):
    cfg = load_config(CONFIGS / name, steps=5)
    assert cfg.steps == 5 and cfg.preset == name.removesuffix(".yaml")
    assert dataclasses.is_dataclass(cfg.mining)
    with pytest.raises(ValueError, match="unknown"):
        load_config(CONFIGS / name, no_such_key=1)


def test_command_line_trains_and_exports(tmp_path):
    """``cvlearned train hardnet`` (the CLI shared with orinet): mine, train, log, export."""
    from cvlearned.synthetic.photos import bundled_photo_names
    from cvlearned.training.patches.train_hardnet import main
    from cvlearned.weight_files import load_state_dict

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate(bundled_photo_names()[:10]):  # the 10th is held out for validation
        cv2.imwrite(str(photos / f"{i:02d}_{name}.png"), bundled_photo(name))
    out = tmp_path / "run"
    assert main(["--images", str(photos), "--out", str(out), "--steps", "2", "--export", str(tmp_path / "w.pt")]) == 0
    log = (out / "train.log").read_text()
    assert "final val" in log and "exported" in log
    assert set(load_state_dict(tmp_path / "w.pt")) == set(load_state_dict(out / "final.pt"))
