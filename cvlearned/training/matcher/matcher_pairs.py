"""Training pairs for the learned matcher: keypoints and descriptors of a registered feature
on generated pairs (photo homographies or rendered 3-D scenes with depth), with
ground-truth matches and unmatchable points.

Ground truth of a pair with warp W (image 0 → image 1: the homography, or the transfer
through depth and relative pose), per keypoint:

* match: i and j are mutual nearest neighbours under the symmetric reprojection distance
  max(|W x0_i - x1_j|, |W^-1 x1_j - x0_i|) and that distance is below ``match_px``;
* unmatchable (label -1): its transfer falls outside the other image or is occluded there,
  or every keypoint of the other image is farther than ``unmatch_px``;
* anything else is ignored by the loss (label -2), as is a point whose transfer is
  undefined (no depth at it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.warps import Warp, pair_warp
from cvlearned.keypoints import keypoint_arrays, strongest

__all__ = ["UNMATCHED", "IGNORED", "MatcherSample", "correspondence_labels", "extract_sample", "stack_samples"]

UNMATCHED = -1
IGNORED = -2


@dataclass(frozen=True)
class MatcherSample:
    """One pair: (N, 2) / (M, 2) pixel points, (N,) / (M,) KeyPoint sizes and angles, (N, D) /
    (M, D) float32 descriptors, (w, h) sizes and labels (N,) / (M,) int64: index of the match
    in the other image, :data:`UNMATCHED` or :data:`IGNORED`."""

    points0: np.ndarray
    points1: np.ndarray
    scale0: np.ndarray
    scale1: np.ndarray
    angle0: np.ndarray
    angle1: np.ndarray
    desc0: np.ndarray
    desc1: np.ndarray
    size0: tuple[int, int]
    size1: tuple[int, int]
    labels0: np.ndarray
    labels1: np.ndarray


def correspondence_labels(
    points0: np.ndarray, points1: np.ndarray, warp: Warp, match_px: float = 3.0, unmatch_px: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Labels (N,), (M,) int64 of (N, 2), (M, 2) pixel points under ``warp`` (a
    :class:`~cvlearned.evaluation.warps.HomographyWarp` or ``DepthWarp``; see module doc)."""
    if not 0 < match_px <= unmatch_px:
        raise ValueError(f"need 0 < match_px <= unmatch_px, got {match_px} and {unmatch_px}")
    proj0, inside0 = warp.forward(points0)
    proj1, inside1 = warp.backward(points1)
    with np.errstate(invalid="ignore"):
        dist = np.maximum(
            np.linalg.norm(proj0[:, None] - points1[None], axis=-1),
            np.linalg.norm(points0[:, None] - proj1[None], axis=-1),
        )
    dist = np.where(np.isfinite(dist), dist, np.inf)
    labels0 = np.full(len(points0), IGNORED, np.int64)
    labels1 = np.full(len(points1), IGNORED, np.int64)
    if dist.size:
        nn01, nn10 = dist.argmin(1), dist.argmin(0)
        rows = np.arange(len(points0))
        matched = (nn10[nn01] == rows) & (dist[rows, nn01] < match_px)
        labels0[(~inside0) | (dist.min(1) > unmatch_px)] = UNMATCHED
        labels1[(~inside1) | (dist.min(0) > unmatch_px)] = UNMATCHED
        labels0[matched] = nn01[matched]
        labels1[nn01[matched]] = rows[matched]
    else:
        labels0[:], labels1[:] = UNMATCHED, UNMATCHED
    labels0[np.isnan(proj0).any(1)] = IGNORED
    labels1[np.isnan(proj1).any(1)] = IGNORED
    return labels0, labels1


def _features(feature: cv2.Feature2D, image: np.ndarray, limit: int):
    keypoints, desc = feature.detectAndCompute(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), None)
    if desc is None or len(keypoints) < limit:
        return None
    keep = strongest(keypoints, limit)
    xy, scale, angle = keypoint_arrays([keypoints[k] for k in keep])
    return xy, scale, angle, np.asarray(desc[keep], np.float32)


def extract_sample(
    feature: cv2.Feature2D, pair: HomographyPair | PosePair, n_keypoints: int, match_px: float = 3.0,
    unmatch_px: float = 5.0,
) -> MatcherSample | None:
    """The ``n_keypoints`` strongest keypoints of each image and their labels, or None when an
    image has fewer keypoints (or binary descriptors). ``pair``: a homography pair or a pose
    pair with depth maps (rendered scenes)."""
    side0 = _features(feature, pair.image0, n_keypoints)
    side1 = _features(feature, pair.image1, n_keypoints)
    if side0 is None or side1 is None:
        return None
    warp = pair_warp(pair)
    if warp is None:
        raise ValueError(f"pair {pair.name!r} has no ground truth for matches (a pose pair without depth)")
    labels0, labels1 = correspondence_labels(side0[0], side1[0], warp, match_px, unmatch_px)
    return MatcherSample(side0[0], side1[0], side0[1], side1[1], side0[2], side1[2], side0[3], side1[3],
                         warp.size0, warp.size1, labels0, labels1)


def stack_samples(samples: Sequence[MatcherSample]) -> dict[str, np.ndarray]:
    """Batch samples of equal keypoint counts: every field stacked along a new first axis."""
    if not samples:
        raise ValueError("no samples to stack")
    names = MatcherSample.__dataclass_fields__
    return {name: np.stack([np.asarray(getattr(s, name)) for s in samples]) for name in names}
