"""Mine matching patch pairs from rendered calibrated scenes (true 3D viewpoint change).

Homography pairs (:mod:`cvlearned.training.patches.patch_pairs`) only ever show a plane seen from
two views. Scene pairs (:func:`cvlearned.training.common.correspondence_pairs.iter_scene_pairs`: textured
piecewise-planar rooms, boxes and streets rendered from two calibrated cameras, with the
dense occlusion-aware ground truth ``gt`` of every view-0 pixel) add parallax, occlusion
and several planes per image. For each pair:

1. view A = image 0 with mild photometric noise, view B = image 1 with mild or (with
   probability ``strong_photometric_prob``) strong photometric changes;
2. SIFT keypoints of view A (one per 2-px cell); 5 x 5 points spread over each keypoint's
   patch are looked up in ``gt`` (bilinear) and an affine map is fitted to them by least
   squares;
3. a keypoint is kept only if every pixel of its patch's bounding box has a correspondence
   (nothing occluded, nothing out of view) and the affine fit explains the 25 points to
   within 5 % of the patch side in view B (rejects patches that straddle a depth
   discontinuity);
4. position, size and angle are mapped by the fitted affine map (its linear part plays the
   role of a homography's Jacobian), then patches are sampled as for homography pairs
   (:func:`~cvlearned.training.patches.patch_pairs.correspondence_patches`, same jitter).

Results are cached as ``scene_patch_pairs_<split>_<hash>.npz`` (the hash covers the
mining config and the photo names).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from cvlearned.baselines.sift import SIFTConfig, build_sift
from cvlearned.patches import keypoint_frames
from cvlearned.synthetic.homography import MILD_PHOTOMETRIC, STRONG_PHOTOMETRIC, apply_photometric
from cvlearned.training.patches.patch_pairs import (
    MiningConfig,
    correspondence_patches,
    dedupe_keypoints,
    map_size_and_angle,
)
from cvlearned.training.common.run_state import cached_arrays

__all__ = ["sample_field", "fit_patch_affine", "mine_scene_pair", "mine_scene_patch_pairs", "load_or_mine_scenes"]

FIT_GRID = 5
MAX_FIT_ERROR = 0.05  # of the patch side in view B


def sample_field(field: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an (h, w, C) field at (..., 2) pixel positions → (..., C) float64.

    NaN where a position lies outside the pixel centres or any of its 4 neighbours is NaN.
    """
    h, w = field.shape[:2]
    xy = np.asarray(xy, np.float64)
    x, y = xy[..., 0], xy[..., 1]
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    x = np.where(inside, x, 0.0)
    y = np.where(inside, y, 0.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2 if w > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2 if h > 1 else 0)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    f = np.asarray(field, np.float64)
    out = (f[y0, x0] * (1 - fx) * (1 - fy) + f[y0, x1] * fx * (1 - fy)
           + f[y1, x0] * (1 - fx) * fy + f[y1, x1] * fx * fy)
    out[~inside] = np.nan
    return out


def fit_patch_affine(gt: np.ndarray, frames: np.ndarray, patch_size: int,
                     grid: int = FIT_GRID) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares affine maps of the ground truth over each patch of ``frames`` (N, 2, 3).

    ``gt`` (h, w, 2): view-1 position of every view-0 pixel (NaN = none). Returns
    ``M`` (N, 3, 2) with ``[x, y, 1] @ M`` ≈ the view-1 position of view-0 pixel (x, y), and
    the largest fit residual (N,) in view-1 pixels (inf where any pixel of the patch's
    bounding box has no ground truth).
    """
    n = len(frames)
    u = np.linspace(-0.5, patch_size - 0.5, grid)
    uv = np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)
    src = np.einsum("nij,kj->nki", frames, np.c_[uv, np.ones(len(uv))])  # (N, g*g, 2) view-0 pixels
    dst = sample_field(gt, src)
    X = np.concatenate([src, np.ones((n, len(uv), 1))], axis=2)
    ok = np.isfinite(dst).all(axis=(1, 2)) & ~_touches_missing(gt, src)
    M = np.full((n, 3, 2), np.nan)
    error = np.full(n, np.inf)
    if ok.any():
        M[ok] = np.linalg.pinv(X[ok]) @ dst[ok]
        error[ok] = np.linalg.norm(X[ok] @ M[ok] - dst[ok], axis=2).max(axis=1)
    return M, error


def _touches_missing(gt: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N,) True where the bounding box of the (N, K, 2) points holds a pixel without ground truth."""
    h, w = gt.shape[:2]
    missing = (~np.isfinite(gt).all(axis=-1)).astype(np.uint8)
    counts = cv2.integral(missing, sdepth=cv2.CV_32S)  # (h + 1, w + 1)
    with np.errstate(invalid="ignore"):
        x0 = np.clip(np.floor(np.nanmin(points[..., 0], axis=1)), 0, w).astype(np.int64)
        y0 = np.clip(np.floor(np.nanmin(points[..., 1], axis=1)), 0, h).astype(np.int64)
        x1 = np.clip(np.ceil(np.nanmax(points[..., 0], axis=1)) + 1, 0, w).astype(np.int64)
        y1 = np.clip(np.ceil(np.nanmax(points[..., 1], axis=1)) + 1, 0, h).astype(np.int64)
    return (counts[y1, x1] - counts[y0, x1] - counts[y1, x0] + counts[y0, x0]) > 0


def mine_scene_pair(rng: np.random.Generator, image0: np.ndarray, image1: np.ndarray, gt: np.ndarray,
                    cfg: MiningConfig, sift=None) -> tuple[np.ndarray, np.ndarray]:
    """Patch pairs of one rendered pair (gray images (h, w) uint8, ``gt`` (h, w, 2)) → (a, b), each (n, P, P) uint8."""
    P = cfg.patch_size
    empty = np.zeros((0, P, P), np.uint8)
    gray_a = apply_photometric(rng, image0, MILD_PHOTOMETRIC)
    phot_b = STRONG_PHOTOMETRIC if rng.random() < cfg.strong_photometric_prob else MILD_PHOTOMETRIC
    gray_b = apply_photometric(rng, image1, phot_b)
    sift = sift if sift is not None else build_sift(SIFTConfig(max_side=None))
    keypoints = sorted(sift.detect(gray_a, None), key=lambda kp: -kp.response)
    if not keypoints:
        return empty, empty
    pts, size, angle = dedupe_keypoints(keypoints)
    frames = keypoint_frames(
        [cv2.KeyPoint(float(x), float(y), float(s), float(a)) for (x, y), s, a in zip(pts, size, angle)],
        P, cfg.patch_scale, upright=cfg.upright,
    )
    M, error = fit_patch_affine(gt, frames, P)
    J = np.transpose(M[:, :2, :], (0, 2, 1))
    pts_b = np.einsum("nk,nkj->nj", np.c_[pts, np.ones(len(pts))], M)
    size_b, angle_b = map_size_and_angle(size, angle, np.nan_to_num(J))
    side_b = cfg.patch_scale * size_b
    good = np.isfinite(error) & (error <= MAX_FIT_ERROR * side_b)
    keep = np.nonzero(good)[0]
    return correspondence_patches(rng, gray_a, gray_b, (pts[keep], size[keep], angle[keep]),
                                  (pts_b[keep], size_b[keep], angle_b[keep]), cfg)


def mine_scene_patch_pairs(photos: Sequence[tuple[str, np.ndarray]], cfg: MiningConfig,
                           progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``cfg.scene_pairs`` rendered pairs textured with ``photos`` → (patches_a, patches_b).

    Scene ``i`` is rendered with seed ``cfg.seed + 1000`` (never a benchmark scene: those use
    the bundled textures) and mined with ``np.random.default_rng([cfg.seed, 2, i])``.
    """
    from cvlearned.training.common.correspondence_pairs import iter_scene_pairs

    sift = build_sift(SIFTConfig(max_side=None))
    P = cfg.patch_size
    all_a, all_b = [np.zeros((0, P, P), np.uint8)], [np.zeros((0, P, P), np.uint8)]
    scenes = iter_scene_pairs(photos, cfg.scene_pairs, cfg.scene_size, seed=cfg.seed + 1000, progress=progress)
    for i, (image0, image1, gt) in enumerate(scenes):
        a, b = mine_scene_pair(np.random.default_rng([cfg.seed, 2, i]), image0, image1, gt, cfg, sift)
        all_a.append(a)
        all_b.append(b)
    return np.concatenate(all_a), np.concatenate(all_b)


def load_or_mine_scenes(photos: Sequence[tuple[str, np.ndarray]], cfg: MiningConfig, out_dir: str | Path,
                        split: str, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mine_scene_patch_pairs` cached to ``out_dir/scene_patch_pairs_<split>_<hash>.npz``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blob = json.dumps({"cfg": dataclasses.asdict(cfg), "names": [n for n, _ in photos], "split": split,
                       "fit": [FIT_GRID, MAX_FIT_ERROR]}, sort_keys=True, default=str)
    path = out / f"scene_patch_pairs_{split}_{hashlib.sha256(blob.encode()).hexdigest()[:12]}.npz"
    a, b = cached_arrays(path, ("a", "b"), lambda: mine_scene_patch_pairs(photos, cfg, progress=progress))
    return a, b
