"""Image pairs with dense ground truth, shared by the dense trainers (UCN, SuperPoint's SfM
crops) and the scene patch pairs.

A :class:`CorrespondencePair` is two gray images of one size (w, h) and ``gt`` (h, w, 2)
float32: the exact image-1 position (x, y) of every image-0 pixel, NaN where it has none.
Its ground truth comes from a homography (:func:`homography_gt`), from the exact depth and
pose of a rendered scene pair with occlusion masking (:func:`scene_gt`, the pairs rendered
by :func:`iter_scene_pairs`), or from an SfM reconstruction (sparse:
:mod:`cvlearned.training.common.sfm_crops`).

Valid ground truth always lies in ``[0, w-1] x [0, h-1]`` so bilinear sampling at it reads
image content. Pixel coordinates follow OpenCV: integer values are pixel centres.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from cvlearned.training.common.images import to_gray

__all__ = ["CorrespondencePair", "homography_gt", "scene_gt", "iter_scene_pairs"]


@dataclass(frozen=True, eq=False)
class CorrespondencePair:
    """image0, image1: (h, w) uint8 gray; gt: (h, w, 2) float32 image-1 (x, y) of each image-0 pixel, NaN = none."""

    image0: np.ndarray
    image1: np.ndarray
    gt: np.ndarray


def _inside_or_nan(xy: np.ndarray, w: int, h: int) -> np.ndarray:
    """Set rows of (..., 2) points outside ``[0, w-1] x [0, h-1]`` (or non-finite) to NaN."""
    with np.errstate(invalid="ignore"):
        ok = (xy[..., 0] >= 0) & (xy[..., 0] <= w - 1) & (xy[..., 1] >= 0) & (xy[..., 1] <= h - 1)
    xy = xy.astype(np.float32, copy=True)
    xy[~ok] = np.nan
    return xy


def homography_gt(H: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Dense ground truth of a homography between images of ``size`` = (w, h) → (h, w, 2) float32."""
    w, h = int(size[0]), int(size[1])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    q = np.stack([xs, ys, np.ones_like(xs)], -1) @ np.asarray(H, np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = np.where(q[..., 2:] > 0, q[..., :2] / q[..., 2:], np.nan)
    return _inside_or_nan(xy, w, h)


def scene_gt(pose_pair) -> np.ndarray:
    """Dense occlusion-aware ground truth of a rendered :class:`~cvlearned.datasets.types.PosePair` → (h, w, 2)."""
    from cvlearned.synthetic.scene_correspondences import project_correspondences
    from cvlearned.synthetic.scene_geometry import Camera

    h, w = pose_pair.depth0.shape
    cam0 = Camera(pose_pair.K0, np.eye(3), np.zeros(3), w, h)
    cam1 = Camera(pose_pair.K1, pose_pair.R, pose_pair.t, w, h)
    xy1, valid = project_correspondences(pose_pair.depth0, cam0, cam1, pose_pair.depth1)
    xy1 = xy1.copy()
    xy1[~valid] = np.nan
    return _inside_or_nan(xy1, w, h)


def iter_scene_pairs(photos: Sequence[tuple[str, np.ndarray]], count: int, size: tuple[int, int],
                     layout: str = "mixed", seed: int = 0,
                     progress: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Render ``count`` scene pairs of ``size`` = (w, h) textured with ``photos``, one at a time
    → (image0 (h, w) uint8 gray, image1, gt (h, w, 2) float32). Pair i depends on (seed, i)."""
    from cvlearned.synthetic.scene_pairs import make_scene_pairs

    kinds = ("room", "box", "street")
    w, h = int(size[0]), int(size[1])
    items = range(count)
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="rendering scene pairs", mininterval=10.0)
    for i in items:
        kind = kinds[i % 3] if layout == "mixed" else layout
        (pair,) = make_scene_pairs(1, kind, (w, h), seed=int(seed) * 1_000_003 + i, photos=list(photos))
        yield to_gray(pair.image0), to_gray(pair.image1), scene_gt(pair)
