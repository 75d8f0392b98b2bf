"""Patch pairs mined from dense ground truth (rendered calibrated scenes)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from cvlearned.training.patches.patch_pairs import MiningConfig, map_keypoints
from cvlearned.training.patches.scene_patch_pairs import (
    fit_patch_affine,
    load_or_mine_scenes,
    mine_scene_pair,
    sample_field,
)


def _affine_field(A: np.ndarray, w: int, h: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return (np.stack([xs, ys, np.ones_like(xs)], -1) @ A.T).astype(np.float32)


def _textured(w: int = 320, h: int = 240, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.resize(rng.integers(0, 256, (h // 8, w // 8), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(image, (0, 0), 1.0)


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) normalised cross-correlation of patch stacks (N, P, P)."""
    za = a.reshape(len(a), -1).astype(np.float64)
    zb = b.reshape(len(b), -1).astype(np.float64)
    za = (za - za.mean(1, keepdims=True)) / (za.std(1, keepdims=True) + 1e-6)
    zb = (zb - zb.mean(1, keepdims=True)) / (zb.std(1, keepdims=True) + 1e-6)
    return (za * zb).mean(1)


def test_sample_field_matches_indexing_and_propagates_nan():
    field = np.random.default_rng(0).normal(size=(6, 7, 2))
    ys, xs = np.mgrid[0:6, 0:7]
    np.testing.assert_allclose(sample_field(field, np.stack([xs, ys], -1)), field)
    np.testing.assert_allclose(sample_field(field, np.array([[0.5, 0.0]])), [(field[0, 0] + field[0, 1]) / 2])
    field[2, 3] = np.nan
    assert np.isnan(sample_field(field, np.array([[2.5, 1.5], [-0.1, 0.0], [6.5, 0.0]]))).all()
    assert np.isfinite(sample_field(field, np.array([[1.0, 1.0]]))).all()


def test_fit_patch_affine_recovers_an_affine_field_and_flags_discontinuities():
    A = np.array([[0.9, 0.2, 15.0], [-0.1, 1.1, -4.0]])
    gt = _affine_field(A, 200, 150)
    frames = np.array([[[0.5, 0.0, 60.0], [0.0, 0.5, 50.0]]])
    M, error = fit_patch_affine(gt, frames, 32)
    np.testing.assert_allclose(M[0].T, A, atol=1e-4)
    assert error[0] < 1e-3
    torn = gt.copy()
    torn[:, 70:] += 10.0  # a depth discontinuity through the patch
    assert fit_patch_affine(torn, frames, 32)[1][0] > 2.0
    occluded = gt.copy()
    occluded[60, 65] = np.nan
    assert fit_patch_affine(occluded, frames, 32)[1][0] == np.inf


def test_mine_scene_pair_on_an_affine_pair_matches_homography_mapping():
    """Dense ground truth of an affine warp gives the same keypoint mapping as the homography
    path, and patches that agree; patches touching pixels without ground truth are dropped."""
    w, h = 320, 240
    image0 = _textured(w, h)
    H = np.array([[0.95, 0.15, 10.0], [-0.12, 0.97, 12.0], [0.0, 0.0, 1.0]])
    image1 = cv2.warpAffine(image0, H[:2], (w, h), flags=cv2.INTER_LINEAR)
    gt = _affine_field(H[:2], w, h)
    cfg = dataclasses.replace(MiningConfig(), jitter_px=0.0, jitter_log_scale=0.0, jitter_angle_deg=0.0,
                              strong_photometric_prob=0.0, max_keypoints_per_image=1000)
    a, b = mine_scene_pair(np.random.default_rng(0), image0, image1, gt, cfg)
    assert len(a) >= 20 and a.shape == b.shape and a.dtype == np.uint8
    assert np.median(_correlation(a, b)) > 0.85  # mild photometric noise only
    assert np.median(_correlation(a, np.roll(b, 1, axis=0))) < 0.3

    gt_half = gt.copy()
    gt_half[:, w // 2:] = np.nan  # right half of view 0 has no correspondence
    a_half, _ = mine_scene_pair(np.random.default_rng(0), image0, image1, gt_half, cfg)
    assert 0 < len(a_half) < len(a)

    pts = np.array([[100.0, 80.0]])
    pb, sb, ab = map_keypoints(pts, np.array([6.0]), np.array([30.0]), H)
    frames = np.array([[[1.0, 0.0, 84.0], [0.0, 1.0, 64.0]]])
    M, _ = fit_patch_affine(gt, frames, 32)
    np.testing.assert_allclose(np.r_[pts[0], 1.0] @ M[0], pb[0], atol=1e-3)


def test_load_or_mine_scenes_caches(tmp_path, monkeypatch):
    from cvlearned.training.patches import scene_patch_pairs

    calls = []

    def fake(photos, cfg, progress=False):
        calls.append(cfg.scene_pairs)
        return np.zeros((3, 32, 32), np.uint8), np.ones((3, 32, 32), np.uint8)

    monkeypatch.setattr(scene_patch_pairs, "mine_scene_patch_pairs", fake)
    cfg = dataclasses.replace(MiningConfig(), scene_pairs=2)
    a1, b1 = load_or_mine_scenes([("p", np.zeros((8, 8), np.uint8))], cfg, tmp_path, "train")
    a2, b2 = load_or_mine_scenes([("p", np.zeros((8, 8), np.uint8))], cfg, tmp_path, "train")
    assert calls == [2] and np.array_equal(b1, b2) and len(list(tmp_path.glob("scene_patch_pairs_train_*.npz"))) == 1


def test_mine_scene_patch_pairs_on_rendered_scenes(photo_bgr):
    from cvlearned.training.patches.scene_patch_pairs import mine_scene_patch_pairs

    cfg = dataclasses.replace(MiningConfig(), scene_pairs=2, scene_size=(320, 240))
    a, b = mine_scene_patch_pairs([("astronaut", photo_bgr)], cfg)
    assert len(a) > 50 and a.shape == b.shape
    assert np.median(_correlation(a, b)) > 0.7
    assert np.median(_correlation(a, np.roll(b, 7, axis=0))) < 0.3
