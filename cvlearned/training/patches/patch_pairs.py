"""Mine matching patch pairs from photos warped by random homographies.

For every photo (resized so its longest side is ``image_side``) and each of
``pairs_per_photo`` random homographies ``H`` (:func:`cvlearned.synthetic.homography.sample_homography`):

1. view A = photo with mild photometric noise, view B = ``warp_image(photo, H)`` with mild or
   (with probability ``strong_photometric_prob``) strong photometric changes;
2. SIFT keypoints of view A are mapped into view B: position through ``H``; size and angle
   through the local affine approximation of ``H`` (its Jacobian ``J`` at the keypoint):
   ``size_B = size_A * sqrt(|det J|)``, the direction ``(cos a, sin a)`` (OpenCV angles are
   measured in image coordinates, y down) is mapped by ``J``
   to give ``angle_B``. A small random jitter (position, log-scale, angle) imitates the
   noise of a detector that finds the point again in view B;
3. keypoints whose patch footprint leaves view A, view B or the part of view B that has
   content (pre-image inside view A) are dropped, as are duplicates (one per 2-px cell);
4. 32x32 patches are sampled with :func:`cvlearned.patches.extract_patches` (similarity
   frames, so B patches keep the residual affine/perspective distortion a real detector
   would leave) and stored as uint8. With ``upright=True`` both patches are sampled
   axis-aligned (``angle = -1``), so the in-plane rotation of ``H`` stays in the pair
   (orientation training, :mod:`cvlearned.training.patches.train_orinet`).

Results are cached as ``patch_pairs_<split>_<hash>.npz`` in a given folder (the hash covers
the config and the photo names) and reused on the next call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvlearned.baselines.sift import SIFTConfig, build_sift
from cvlearned.keypoints import keypoint_arrays
from cvlearned.patches import build_pyramid, extract_patches, keypoint_frames
from cvlearned.synthetic.homography import (
    MILD_PHOTOMETRIC,
    STRONG_PHOTOMETRIC,
    HomographyDistribution,
    apply_photometric,
    sample_homography,
    warp_image,
)
from cvlearned.synthetic.photos import split_photos
from cvlearned.training.common.images import resize_photo
from cvlearned.training.common.run_state import cached_arrays

__all__ = [
    "MiningConfig",
    "split_photos",
    "local_jacobian",
    "map_keypoints",
    "map_size_and_angle",
    "footprint",
    "inside_image",
    "dedupe_keypoints",
    "correspondence_patches",
    "mine_pair",
    "mine_patch_pairs",
    "load_or_mine",
    "load_train_val_pairs",
]


@dataclass(frozen=True)
class MiningConfig:
    """Patch-pair mining parameters (see the module docstring).

    ``scene_pairs``: rendered calibrated scene pairs of ``scene_size`` = (w, h) mined in
    addition to the homography pairs (:mod:`cvlearned.training.patches.scene_patch_pairs`; 0 = none).
    """

    image_side: int = 512
    pairs_per_photo: int = 3
    max_keypoints_per_image: int = 200
    patch_size: int = 32
    patch_scale: float = 6.0
    jitter_px: float = 0.3
    jitter_log_scale: float = 0.07
    jitter_angle_deg: float = 4.0
    strong_photometric_prob: float = 0.4
    seed: int = 0
    upright: bool = False
    scene_pairs: int = 0
    scene_size: tuple[int, int] = (640, 480)
    homography: HomographyDistribution = field(
        default_factory=lambda: HomographyDistribution(
            scale=(0.6, 1.6), max_rotation_deg=60.0, max_perspective=0.15, max_translation=0.1, center_region=0.3
        )
    )

    def key(self, names: Sequence[str], split: str) -> str:
        """Stable hash of the config, the photo names and the split (cache file name)."""
        cfg = dataclasses.asdict(self)
        if not cfg["upright"]:
            del cfg["upright"]  # keeps the cache names of configs written before the field existed
        del cfg["scene_pairs"], cfg["scene_size"]  # scene pairs are mined and cached on their own
        blob = json.dumps({"cfg": cfg, "names": list(names), "split": split}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def local_jacobian(H: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mapped points (N, 2) and the Jacobians (N, 2, 2) of ``x -> H x`` at ``pts``."""
    pts = np.asarray(pts, np.float64).reshape(-1, 2)
    q = np.c_[pts, np.ones(len(pts))] @ np.asarray(H, np.float64).T
    w = q[:, 2]
    mapped = q[:, :2] / w[:, None]
    J = (H[None, :2, :2] - mapped[:, :, None] * H[None, 2:3, :2]) / w[:, None, None]
    return mapped, J


def map_keypoints(
    pts: np.ndarray, size: np.ndarray, angle: np.ndarray, H: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map keypoints (OpenCV angle convention) through ``H`` with its local affine part.

    Returns (pts_B, size_B, angle_B) with ``angle_B`` in [0, 360) (keypoints with angle -1
    are treated as angle 0).
    """
    mapped, J = local_jacobian(H, pts)
    return mapped, *map_size_and_angle(size, angle, J)


def map_size_and_angle(size: np.ndarray, angle: np.ndarray, J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoint sizes and OpenCV angles (N,) through local Jacobians (N, 2, 2) → (size_B, angle_B in [0, 360))."""
    a = np.deg2rad(np.where(angle == -1, 0.0, angle))
    d = np.stack([np.cos(a), np.sin(a)], axis=1)
    d2 = np.einsum("nij,nj->ni", J, d)
    angle_b = np.mod(np.rad2deg(np.arctan2(d2[:, 1], d2[:, 0])), 360.0)
    size_b = size * np.sqrt(np.abs(np.linalg.det(J)))
    return size_b, angle_b


def footprint(frames: np.ndarray, patch_size: int) -> np.ndarray:
    """(N, 4, 2) image positions of the outer corners of the patches of ``frames`` (N, 2, 3)."""
    e = patch_size - 0.5
    corners = np.array([[-0.5, -0.5, 1], [e, -0.5, 1], [e, e, 1], [-0.5, e, 1]], np.float64)
    return np.einsum("nij,kj->nki", frames, corners)


def inside_image(points: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.all((points[..., 0] >= 0) & (points[..., 0] <= w - 1) & (points[..., 1] >= 0) & (points[..., 1] <= h - 1),
                  axis=-1)


def _to_keypoints(pts: np.ndarray, size: np.ndarray, angle: np.ndarray) -> list[cv2.KeyPoint]:
    return [cv2.KeyPoint(float(p[0]), float(p[1]), float(s), float(a)) for p, s, a in zip(pts, size, angle)]


def mine_pair(
    rng: np.random.Generator, photo: np.ndarray, cfg: MiningConfig, sift=None
) -> tuple[np.ndarray, np.ndarray]:
    """One random homography pair of ``photo`` → (patches_a, patches_b), each (n, P, P) uint8."""
    P = cfg.patch_size
    empty = np.zeros((0, P, P), np.uint8)
    image = resize_photo(photo, cfg.image_side)
    h, w = image.shape[:2]
    H = sample_homography(rng, (w, h), cfg.homography)
    view_a = apply_photometric(rng, image, MILD_PHOTOMETRIC)
    phot_b = STRONG_PHOTOMETRIC if rng.random() < cfg.strong_photometric_prob else MILD_PHOTOMETRIC
    view_b = apply_photometric(rng, warp_image(image, H, (w, h)), phot_b)
    gray_a = cv2.cvtColor(view_a, cv2.COLOR_BGR2GRAY)
    gray_b = cv2.cvtColor(view_b, cv2.COLOR_BGR2GRAY)
    sift = sift if sift is not None else build_sift(SIFTConfig(max_side=None))
    keypoints = sorted(sift.detect(gray_a, None), key=lambda kp: -kp.response)
    if not keypoints:
        return empty, empty
    pts, size, angle = dedupe_keypoints(keypoints)
    pts_b, size_b, angle_b = map_keypoints(pts, size, angle, H)
    Hinv = np.linalg.inv(H)

    def has_content(corners_b: np.ndarray) -> np.ndarray:  # the pre-image of view B's patch lies in view A
        corners_a, _ = local_jacobian(Hinv, corners_b.reshape(-1, 2))
        return inside_image(corners_a.reshape(-1, 4, 2), w, h)

    return correspondence_patches(rng, gray_a, gray_b, (pts, size, angle), (pts_b, size_b, angle_b), cfg, has_content)


def dedupe_keypoints(keypoints: Sequence[cv2.KeyPoint]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pts, size, angle) arrays of ``keypoints`` keeping the first one per 2-px cell (SIFT repeats
    a location with several orientations)."""
    pts, size, angle = keypoint_arrays(keypoints)
    _, first = np.unique(np.round(pts / 2.0).astype(np.int64), axis=0, return_index=True)
    keep = np.sort(first)
    return pts[keep], size[keep], angle[keep]


def correspondence_patches(
    rng: np.random.Generator,
    gray_a: np.ndarray,
    gray_b: np.ndarray,
    keypoints_a: tuple[np.ndarray, np.ndarray, np.ndarray],
    keypoints_b: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: MiningConfig,
    has_content: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Patches of corresponding keypoints (pts (N, 2), size (N,), angle (N,) in each view).

    View-B keypoints get the detector-like jitter of ``cfg``; pairs whose patch leaves
    either image, or whose B corners fail ``has_content`` ((N, 4, 2) → (N,) bool), are
    dropped; at most ``cfg.max_keypoints_per_image`` are kept → (patches_a, patches_b),
    each (n, P, P) uint8.
    """
    P = cfg.patch_size
    empty = np.zeros((0, P, P), np.uint8)
    pts, size, angle = keypoints_a
    pts_b, size_b, angle_b = keypoints_b
    n = len(pts)
    if n == 0:
        return empty, empty
    pts_b = pts_b + rng.normal(0.0, cfg.jitter_px, (n, 2)) * np.maximum(size_b / 4.0, 1.0)[:, None]
    size_b = size_b * np.exp(rng.normal(0.0, cfg.jitter_log_scale, n))
    angle_b = np.mod(angle_b + rng.normal(0.0, cfg.jitter_angle_deg, n), 360.0)

    frames_a = keypoint_frames(_to_keypoints(pts, size, angle), P, cfg.patch_scale, upright=cfg.upright)
    frames_b = keypoint_frames(_to_keypoints(pts_b, size_b, angle_b), P, cfg.patch_scale, upright=cfg.upright)
    fa, fb = footprint(frames_a, P), footprint(frames_b, P)
    (h_a, w_a), (h_b, w_b) = gray_a.shape[:2], gray_b.shape[:2]
    valid = np.isfinite(fb).all(axis=(1, 2)) & inside_image(fa, w_a, h_a) & inside_image(fb, w_b, h_b) & (size_b > 0)
    if has_content is not None:
        valid &= has_content(fb)
    idx = np.nonzero(valid)[0]
    if len(idx) == 0:
        return empty, empty
    if len(idx) > cfg.max_keypoints_per_image:
        idx = np.sort(rng.choice(idx, cfg.max_keypoints_per_image, replace=False))
    pa = extract_patches(build_pyramid(gray_a), [], P, frames=frames_a[idx]).numpy()
    pb = extract_patches(build_pyramid(gray_b), [], P, frames=frames_b[idx]).numpy()
    to_u8 = lambda x: np.clip(np.rint(x[:, 0]), 0, 255).astype(np.uint8)  # noqa: E731
    return to_u8(pa), to_u8(pb)


def mine_patch_pairs(
    photos: Sequence[tuple[str, np.ndarray]], cfg: MiningConfig, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mine all photos → (patches_a, patches_b, pair_id), ``pair_id`` = index of the image pair.

    Pair ``k`` of photo ``i`` uses ``np.random.default_rng([seed, i, k])`` (reproducible).
    """
    sift = build_sift(SIFTConfig(max_side=None))
    all_a, all_b, ids = [], [], []
    jobs = [(i, k) for i in range(len(photos)) for k in range(cfg.pairs_per_photo)]
    iterator = jobs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(jobs, desc="mining patch pairs", mininterval=5.0)
    for pair_index, (i, k) in enumerate(iterator):
        rng = np.random.default_rng([cfg.seed, i, k])
        a, b = mine_pair(rng, photos[i][1], cfg, sift)
        all_a.append(a)
        all_b.append(b)
        ids.append(np.full(len(a), pair_index, np.int32))
    P = cfg.patch_size
    if not all_a:
        return np.zeros((0, P, P), np.uint8), np.zeros((0, P, P), np.uint8), np.zeros(0, np.int32)
    return np.concatenate(all_a), np.concatenate(all_b), np.concatenate(ids)


def load_or_mine(
    photos: Sequence[tuple[str, np.ndarray]], cfg: MiningConfig, out_dir: str | Path, split: str, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mine_patch_pairs` cached to ``out_dir/patch_pairs_<split>_<hash>.npz``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"patch_pairs_{split}_{cfg.key([n for n, _ in photos], split)}.npz"
    a, b, pair_id = cached_arrays(path, ("a", "b", "pair_id"),
                                  lambda: mine_patch_pairs(photos, cfg, progress=progress))
    return a, b, pair_id


def load_train_val_pairs(
    images: str | Path, cfg: MiningConfig, photo_max_side: int, val_pairs: int, out_dir: str | Path, log: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mine (or load cached) training pairs from the training photos of ``images`` (homography
    pairs, plus ``cfg.scene_pairs`` rendered scene pairs textured with them) and at most
    ``val_pairs`` validation pairs (one per held-out photo, seed + 1) → (a, b, val_a, val_b)."""
    import time

    from cvlearned.synthetic.photos import load_photo_folder

    t0 = time.time()
    photos = load_photo_folder(images, max_side=photo_max_side)
    train_photos, val_photos = split_photos(photos, "train"), split_photos(photos, "val")
    log.info("photos: %d train, %d held out", len(train_photos), len(val_photos))
    a, b, _ = load_or_mine(train_photos, cfg, out_dir, "train", progress=True)
    if cfg.scene_pairs:
        from cvlearned.training.patches.scene_patch_pairs import load_or_mine_scenes

        sa, sb = load_or_mine_scenes(train_photos, cfg, out_dir, "train", progress=True)
        log.info("scene patch pairs: %d from %d rendered scenes", len(sa), cfg.scene_pairs)
        a, b = np.concatenate([a, sa]), np.concatenate([b, sb])
    val_cfg = dataclasses.replace(cfg, pairs_per_photo=1, seed=cfg.seed + 1)
    va, vb, _ = load_or_mine(val_photos, val_cfg, out_dir, "val")
    va, vb = va[:val_pairs], vb[:val_pairs]
    log.info("patch pairs: %d train, %d val (mining/loading %.1f s)", len(a), len(va), time.time() - t0)
    return a, b, va, vb
