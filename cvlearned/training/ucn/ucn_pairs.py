"""UCN training pairs with dense ground truth, and correspondences sampled from them.

Two kinds of :class:`~cvlearned.training.common.correspondence_pairs.CorrespondencePair`
(gray images of one size (w, h) and ``gt`` (h, w, 2) float32: the exact image-1 position
(x, y) of every image-0 pixel, NaN where it has none):

- Homography pairs: image 0 is a random crop of a photo (zoomed by a random factor over
  the smallest scale that covers the crop); image 1 warps the whole zoomed photo by a
  random homography H (:func:`~cvlearned.synthetic.homography.sample_homography`), so image
  content beyond the crop fills it. ``gt = H x``, valid where it falls inside image 1
  (:func:`~cvlearned.training.common.correspondence_pairs.homography_gt`).
  Both views get independent photometric changes.
- Scene pairs: two calibrated views of a rendered piecewise-planar scene
  (:func:`~cvlearned.training.common.correspondence_pairs.iter_scene_pairs`); ``gt`` comes
  from the exact depth and pose with occlusion masking. Rendering is slow, so they are
  rendered once and cached in an ``.npz`` file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from cvlearned.synthetic.homography import apply_photometric, sample_homography, warp_image
from cvlearned.training.common.correspondence_pairs import CorrespondencePair, homography_gt, iter_scene_pairs
from cvlearned.training.common.images import to_gray
from cvlearned.training.common.run_state import cached_arrays
from cvlearned.training.ucn.ucn_config import PairsConfig

__all__ = [
    "ScenePairs", "homography_pair", "render_scene_pairs", "load_or_render_scene_pairs", "scene_pair",
    "sample_correspondences", "PairSource",
]


class CropSource(Protocol):
    """What :class:`PairSource` needs of extra crop pairs, e.g.
    :class:`~cvlearned.training.common.sfm_crops.SfmCropSource` (crops of ``size`` = (w, h))."""

    size: tuple[int, int]

    def draw(self, rng: np.random.Generator) -> CorrespondencePair: ...


@dataclass(frozen=True, eq=False)
class ScenePairs:
    """Rendered scene pairs: images0, images1 (M, h, w) uint8 gray; gt (M, h, w, 2) float32 (NaN = none)."""

    images0: np.ndarray
    images1: np.ndarray
    gt: np.ndarray

    def __len__(self) -> int:
        return len(self.images0)


def _zoomed_crop(rng: np.random.Generator, photo: np.ndarray, size: tuple[int, int],
                 zoom: tuple[float, float]) -> tuple[np.ndarray, int, int]:
    """Resize ``photo`` to cover ``size`` times a zoom in ``zoom`` → (resized, ox, oy) of the crop."""
    w, h = size
    ph, pw = photo.shape[:2]
    s = max(w / pw, h / ph) * float(rng.uniform(zoom[0], zoom[1]))
    nw, nh = max(w, math.ceil(pw * s)), max(h, math.ceil(ph * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(photo, (nw, nh), interpolation=interp)
    return resized, int(rng.integers(0, nw - w + 1)), int(rng.integers(0, nh - h + 1))


def homography_pair(photo: np.ndarray, rng: np.random.Generator, cfg: PairsConfig,
                    photometric: bool = True) -> tuple[CorrespondencePair, np.ndarray]:
    """A homography pair from a photo (gray or BGR) → (pair, H (3, 3) mapping image 0 to image 1).

    ``photometric=False`` skips the photometric changes (noise-free pair).
    """
    w, h = cfg.image_size
    resized, ox, oy = _zoomed_crop(rng, to_gray(photo), (w, h), cfg.crop_zoom)
    image0 = np.ascontiguousarray(resized[oy:oy + h, ox:ox + w])
    H = sample_homography(rng, (w, h), cfg.homography)
    shift = np.array([[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]])
    image1 = warp_image(resized, H @ shift, (w, h))
    if photometric:
        image0 = apply_photometric(rng, image0, cfg.photometric)
        image1 = apply_photometric(rng, image1, cfg.photometric)
    return CorrespondencePair(image0, image1, homography_gt(H, (w, h))), H


def render_scene_pairs(photos: Sequence[tuple[str, np.ndarray]], count: int, size: tuple[int, int],
                       layout: str = "mixed", seed: int = 0, progress: bool = False) -> ScenePairs:
    """:func:`~cvlearned.training.common.correspondence_pairs.iter_scene_pairs` collected into one
    :class:`ScenePairs`."""
    w, h = int(size[0]), int(size[1])
    images0 = np.zeros((count, h, w), np.uint8)
    images1 = np.zeros((count, h, w), np.uint8)
    gt = np.zeros((count, h, w, 2), np.float32)
    for i, (image0, image1, field) in enumerate(iter_scene_pairs(photos, count, size, layout, seed, progress)):
        images0[i], images1[i], gt[i] = image0, image1, field
    return ScenePairs(images0, images1, gt)


def load_or_render_scene_pairs(folder: str | os.PathLike, photos: Sequence[tuple[str, np.ndarray]], count: int,
                               size: tuple[int, int], layout: str = "mixed", seed: int = 0,
                               tag: str = "train", progress: bool = False) -> ScenePairs:
    """:func:`render_scene_pairs`, cached in ``folder/scene_pairs_<tag>_<key>.npz``.

    The key hashes every input — recipe, photo names and photo pixels (so a resized or
    replaced photo renders anew).
    """
    digest = hashlib.sha256(json.dumps([count, list(size), layout, seed, [name for name, _ in photos]]).encode())
    for _, image in photos:
        digest.update(repr(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    path = Path(folder) / f"scene_pairs_{tag}_{digest.hexdigest()[:12]}.npz"
    def render() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pairs = render_scene_pairs(photos, count, size, layout, seed, progress)
        return pairs.images0, pairs.images1, pairs.gt

    return ScenePairs(*cached_arrays(path, ("images0", "images1", "gt"), render))


def scene_pair(scenes: ScenePairs, index: int, rng: np.random.Generator, cfg: PairsConfig,
               photometric: bool = True) -> CorrespondencePair:
    """Scene pair ``index``, with independent photometric changes of both views unless ``photometric=False``."""
    image0, image1 = scenes.images0[index], scenes.images1[index]
    if photometric:
        image0 = apply_photometric(rng, image0, cfg.photometric)
        image1 = apply_photometric(rng, image1, cfg.photometric)
    return CorrespondencePair(image0, image1, scenes.gt[index])


def sample_correspondences(gt: np.ndarray, n: int, rng: np.random.Generator, keypoints: np.ndarray | None = None,
                           keypoint_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` image-0 pixels with ground truth → (pts0 (n, 2), pts1 (n, 2)) float32 (x, y).

    Up to ``round(keypoint_fraction * n)`` of them are the pixels nearest to ``keypoints``
    ((K, 2) image-0 (x, y), e.g. a detector's) that have ground truth, drawn without
    replacement; the rest are random pixels with ground truth, drawn without replacement
    (with replacement when fewer than needed are valid). Raises ``ValueError`` when no
    pixel has ground truth.
    """
    gt = np.asarray(gt)
    if gt.ndim != 3 or gt.shape[2] != 2:
        raise ValueError(f"gt must be (h, w, 2), got {gt.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not 0.0 <= keypoint_fraction <= 1.0:
        raise ValueError(f"keypoint_fraction must be in [0, 1], got {keypoint_fraction!r}")
    h, w = gt.shape[:2]
    has_gt = np.isfinite(gt).all(axis=-1).reshape(-1)
    valid = np.flatnonzero(has_gt)
    if len(valid) == 0:
        raise ValueError("the pair has no pixel with ground truth")
    at_keypoints = np.zeros(0, np.int64)
    if keypoints is not None and keypoint_fraction > 0:
        kp = np.asarray(keypoints, np.float64).reshape(-1, 2)
        kp = kp[np.isfinite(kp).all(axis=1)]
        col = np.clip(np.rint(kp[:, 0]), 0, w - 1).astype(np.int64)
        row = np.clip(np.rint(kp[:, 1]), 0, h - 1).astype(np.int64)
        index = np.unique(row * w + col)
        index = index[has_gt[index]]
        take = min(len(index), int(round(keypoint_fraction * n)))
        at_keypoints = rng.choice(index, take, replace=False) if take else at_keypoints
    rest = n - len(at_keypoints)
    pick = np.concatenate([at_keypoints, rng.choice(valid, rest, replace=len(valid) < rest)])
    pts0 = np.stack([pick % w, pick // w], axis=1).astype(np.float32)
    return pts0, gt.reshape(-1, 2)[pick].astype(np.float32)


class PairSource:
    """Draws training pairs: an SfM crop with probability ``sfm_fraction``, else a scene pair
    with probability ``cfg.scene_fraction``, else a homography pair.

    ``photos``: list of (name, gray or BGR image); ``scenes``: rendered pairs (may be None
    when ``scene_fraction == 0``); ``sfm``: crops of real SfM pairs of ``cfg.image_size`` with
    sparse ground truth (:class:`~cvlearned.training.common.sfm_crops.SfmCropSource`; None when
    ``sfm_fraction == 0``, and then the draws are those of a source without it). Every draw
    depends only on the generator's state.
    """

    def __init__(self, photos: Sequence[tuple[str, np.ndarray]], scenes: ScenePairs | None, cfg: PairsConfig,
                 sfm: CropSource | None = None, sfm_fraction: float = 0.0) -> None:
        if not photos and cfg.scene_fraction < 1:
            raise ValueError("homography pairs need at least one photo")
        if cfg.scene_fraction > 0 and (scenes is None or len(scenes) == 0):
            raise ValueError("scene_fraction > 0 needs rendered scene pairs")
        if not 0.0 <= sfm_fraction <= 1.0:
            raise ValueError(f"sfm_fraction must be in [0, 1], got {sfm_fraction!r}")
        if sfm_fraction > 0 and sfm is None:
            raise ValueError("sfm_fraction > 0 needs an SfM crop source")
        if sfm is not None and tuple(sfm.size) != tuple(cfg.image_size):
            raise ValueError(f"SfM crops are {sfm.size[0]}x{sfm.size[1]}, "
                             f"pairs are {cfg.image_size[0]}x{cfg.image_size[1]}")
        self.photos = [to_gray(image) for _, image in photos]
        self.scenes = scenes
        self.cfg = cfg
        self.sfm = sfm if sfm_fraction > 0 else None
        self.sfm_fraction = float(sfm_fraction)

    def draw(self, rng: np.random.Generator) -> CorrespondencePair:
        """One pair: SfM crops as photographed, the others with independent photometric changes."""
        if self.sfm is not None and rng.random() < self.sfm_fraction:
            return self.sfm.draw(rng)
        if rng.random() < self.cfg.scene_fraction:
            assert self.scenes is not None  # __init__: scene_fraction > 0 needs scenes
            return scene_pair(self.scenes, int(rng.integers(len(self.scenes))), rng, self.cfg)
        return homography_pair(self.photos[int(rng.integers(len(self.photos)))], rng, self.cfg)[0]
