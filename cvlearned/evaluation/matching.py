"""Descriptor matching shared by every evaluation tool (bench, demo, metrics).

Matching is brute force (``cv2.BFMatcher``) so that results do not depend on an
approximate index: float descriptors use ``cv2.NORM_L2`` (float32), binary
descriptors (packed ``uint8``) use ``cv2.NORM_HAMMING``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["MatchingOptions", "match_descriptors"]

_BINARY_NORMS = (cv2.NORM_HAMMING, cv2.NORM_HAMMING2)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 2), dtype=np.int64), np.zeros((0,), dtype=np.float64)


def _prepare(desc: np.ndarray | None, norm: int) -> np.ndarray | None:
    """Return descriptors as a contiguous 2-D array of the dtype ``norm`` needs, or None if empty."""
    if desc is None:
        return None
    desc = np.asarray(desc)
    if desc.size == 0:
        return None
    if desc.ndim == 1:
        desc = desc[None]
    if desc.ndim != 2:
        raise ValueError(f"descriptors must have shape (N, D), got {desc.shape}")
    if norm in _BINARY_NORMS:
        if desc.dtype != np.uint8:
            raise ValueError(f"binary norms need packed uint8 descriptors, got {desc.dtype}")
    elif desc.dtype != np.float32:
        desc = desc.astype(np.float32)
    return np.ascontiguousarray(desc)


def match_descriptors(
    desc0: np.ndarray | None,
    desc1: np.ndarray | None,
    *,
    norm: int = cv2.NORM_L2,
    mutual: bool = True,
    ratio: float | None = 0.8,
    max_distance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force nearest-neighbour matching of two descriptor sets.

    Args:
        desc0: (N, D) descriptors of image 0 (float, or uint8 for Hamming norms); None/empty allowed.
        desc1: (M, D) descriptors of image 1.
        norm: OpenCV norm type (``cv2.NORM_L2``, ``cv2.NORM_HAMMING``, ...).
        mutual: keep only pairs that are each other's nearest neighbour.
        ratio: Lowe's ratio test on the forward (0 -> 1) direction: keep ``i0`` if
            ``d1st < ratio * d2nd``. When image 1 has a single descriptor the match is kept.
            None disables the test.
        max_distance: drop matches whose descriptor distance is larger than this.

    Returns:
        matches: (K, 2) int64 array of index pairs ``(i0, i1)``, sorted by ``i0``.
        distances: (K,) float64 descriptor distances of those pairs.
    """
    if ratio is not None and not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1] or None, got {ratio}")
    d0, d1 = _prepare(desc0, norm), _prepare(desc1, norm)
    if d0 is None or d1 is None:
        return _empty()
    if d0.shape[1] != d1.shape[1]:
        raise ValueError(f"descriptor sizes differ: {d0.shape[1]} vs {d1.shape[1]}")

    matcher = cv2.BFMatcher(norm, crossCheck=False)
    forward = matcher.knnMatch(d0, d1, k=2)
    idx0, idx1, dist = [], [], []
    for cands in forward:
        if not cands:
            continue
        best = cands[0]
        if ratio is not None and len(cands) > 1 and not best.distance < ratio * cands[1].distance:
            continue
        idx0.append(best.queryIdx)
        idx1.append(best.trainIdx)
        dist.append(best.distance)
    if not idx0:
        return _empty()
    matches = np.stack([np.asarray(idx0, np.int64), np.asarray(idx1, np.int64)], axis=1)
    distances = np.asarray(dist, dtype=np.float64)

    if mutual:
        backward = matcher.knnMatch(d1, d0, k=2)
        nn10 = np.full(len(d1), -1, dtype=np.int64)
        for cands in backward:
            if cands:
                nn10[cands[0].queryIdx] = cands[0].trainIdx
        keep = nn10[matches[:, 1]] == matches[:, 0]
        matches, distances = matches[keep], distances[keep]
    if max_distance is not None:
        keep = distances <= max_distance
        matches, distances = matches[keep], distances[keep]
    order = np.argsort(matches[:, 0], kind="stable")
    return matches[order], distances[order]


@dataclass(frozen=True)
class MatchingOptions:
    """Matching settings shared by the benchmark and the demo.

    Attributes:
        mutual: mutual nearest-neighbour check.
        ratio: Lowe ratio threshold in (0, 1], or None to disable.
    """

    mutual: bool = True
    ratio: float | None = 0.8

    def __post_init__(self) -> None:
        if not isinstance(self.mutual, (bool, np.bool_)):
            raise TypeError(f"mutual must be a bool, got {type(self.mutual).__name__}")
        if self.ratio is not None:
            if isinstance(self.ratio, bool) or not isinstance(self.ratio, (int, float, np.floating)):
                raise TypeError(f"ratio must be a float or None, got {type(self.ratio).__name__}")
            if not 0.0 < float(self.ratio) <= 1.0:
                raise ValueError(f"ratio must be in (0, 1], got {self.ratio}")

    def match(
        self, desc0: np.ndarray | None, desc1: np.ndarray | None, *, norm: int = cv2.NORM_L2
    ) -> tuple[np.ndarray, np.ndarray]:
        """``match_descriptors`` with these options; returns ((K, 2) matches, (K,) distances)."""
        return match_descriptors(desc0, desc1, norm=norm, mutual=self.mutual, ratio=self.ratio)
