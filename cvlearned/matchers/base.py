"""The matcher interface every cvlearned matcher follows (plain and learned).

Two call patterns, both returning ``cv2.DMatch`` s sorted by ``queryIdx`` (the order
OpenCV's matchers return) with ``imgIdx = 0``::

    matcher.match(keypoints0, descriptors0, keypoints1, descriptors1, image_size0, image_size1)

    matcher.setPairInfo(points0, points1, image_size0, image_size1)   # cv2.LightGlueMatcher's
    matcher.match(descriptors0, descriptors1)                         # pattern, unchanged

Keypoints are ``cv2.KeyPoint`` sequences or (N, 2) pixel (x, y) arrays; image sizes are
(width, height) like ``cv2.Size``, or ``(0, 0)`` / None for points already normalised to
[-1, 1] (as OpenCV 5.1 reads an empty Size). As in OpenCV 5.1.0 (measured), pair
information stays set until the next ``setPairInfo`` or ``clearPairInfo``; an empty
descriptor set (None or 0 rows) matches nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cvlearned.image_input import as_keypoint_tuple
from cvlearned.keypoints import keypoint_arrays

__all__ = [
    "PairInfo", "DescriptorMatcher", "as_descriptors", "as_image_size", "as_points", "dmatch_arrays", "make_pair_info",
    "to_dmatches",
]


@dataclass(frozen=True)
class PairInfo:
    """Keypoints of a pair: (N, 2) / (M, 2) float64 (x, y), optional (N,) sizes and angles
    (degrees; from cv2.KeyPoint input only), and (w, h) image sizes (None: normalised points)."""

    points0: np.ndarray
    points1: np.ndarray
    size0: tuple[int, int] | None
    size1: tuple[int, int] | None
    scale0: np.ndarray | None = None
    angle0: np.ndarray | None = None
    scale1: np.ndarray | None = None
    angle1: np.ndarray | None = None


def as_descriptors(descriptors: Any, argname: str) -> np.ndarray | None:
    """(N, D) array view of ``descriptors`` (an array or ``cv2.UMat``), or None when there are
    none (None or 0 rows).

    Raises:
        TypeError: not numeric.
        ValueError: not 2-D.
    """
    if descriptors is None:
        return None
    if isinstance(descriptors, cv2.UMat):  # e.g. cv2.detail.ImageFeatures.descriptors
        descriptors = descriptors.get()
    array = np.asarray(descriptors)
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{argname} must be a numeric (N, D) array, got {type(descriptors).__name__} of {array.dtype}")
    if array.size == 0:
        return None
    if array.ndim != 2:
        raise ValueError(f"{argname} must have shape (N, D), got {array.shape}")
    return array


def as_points(keypoints: Any, argname: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(N, 2) float64 (x, y) of ``cv2.KeyPoint`` s or an (N, 2) array, with (N,) sizes and
    angles (degrees) for KeyPoints (None for arrays).

    Raises:
        TypeError: neither KeyPoints nor a numeric array.
        ValueError: not (N, 2), or non-finite coordinates.
    """
    if not isinstance(keypoints, np.ndarray) and isinstance(keypoints, (list, tuple)) and (
        not keypoints or isinstance(keypoints[0], cv2.KeyPoint)
    ):
        return keypoint_arrays(as_keypoint_tuple(keypoints, argname=argname))
    if keypoints is None:
        raise ValueError(f"{argname} is None; pass cv2.KeyPoint s or an (N, 2) array (possibly empty)")
    points = np.asarray(keypoints)
    if not np.issubdtype(points.dtype, np.number):
        raise TypeError(f"{argname} must be cv2.KeyPoint s or a numeric (N, 2) array, got dtype {points.dtype}")
    points = points.astype(np.float64).reshape(-1, 2) if points.size == 0 else points.astype(np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{argname} must have shape (N, 2) (x, y), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError(f"{argname} has non-finite coordinates")
    return points, None, None


def as_image_size(size: Any, argname: str) -> tuple[int, int] | None:
    """(w, h) of a ``cv2.Size``-like pair; None for None or (0, 0) (normalised keypoints).

    Raises:
        ValueError: not two non-negative integers, or one of them 0.
    """
    if size is None:
        return None
    try:
        w, h = (int(v) for v in size)
        exact = all(float(v) == int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{argname} must be (width, height), got {size!r}") from exc
    if not exact or w < 0 or h < 0 or (w == 0) != (h == 0):
        raise ValueError(f"{argname} must be (width, height) > 0, or (0, 0) for normalised keypoints, got {size!r}")
    return None if w == 0 else (w, h)


def to_dmatches(pairs: np.ndarray, distances: np.ndarray) -> list[cv2.DMatch]:
    """(K, 2) index pairs + (K,) distances → ``cv2.DMatch`` s sorted by queryIdx."""
    order = np.argsort(pairs[:, 0], kind="stable")
    return [cv2.DMatch(int(pairs[k, 0]), int(pairs[k, 1]), 0, float(distances[k])) for k in order]


def dmatch_arrays(matches: list[cv2.DMatch]) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.DMatch`` s → ((K, 2) int64 (queryIdx, trainIdx), (K,) float64 distances), in order."""
    pairs = np.array([(m.queryIdx, m.trainIdx) for m in matches], np.int64).reshape(-1, 2)
    return pairs, np.array([m.distance for m in matches], np.float64)


def _pair_side(keypoints: Any, size: Any, side: int) -> dict[str, Any]:
    xy, scale, angle = as_points(keypoints, f"keypoints{side}")
    return {f"points{side}": xy, f"size{side}": as_image_size(size, f"image_size{side}"),
            f"scale{side}": scale, f"angle{side}": angle}


def make_pair_info(keypoints0: Any, keypoints1: Any, size0: Any = None, size1: Any = None) -> PairInfo:
    """Validated :class:`PairInfo` of two keypoint sets and their (w, h) image sizes."""
    return PairInfo(**_pair_side(keypoints0, size0, 0), **_pair_side(keypoints1, size1, 1))


class DescriptorMatcher(ABC):
    """Base class: the two ``match`` patterns and pair information; subclasses implement
    :meth:`_match` (→ (K, 2) int index pairs, (K,) distances)."""

    #: registered name (set by subclasses)
    name: str = ""
    #: whether matching needs keypoints and image sizes
    needs_pair_info: bool = False

    def __init__(self) -> None:
        self._pair: PairInfo | None = None

    def setPairInfo(  # noqa: N802 (OpenCV naming)
        self, queryKpts: Any, trainKpts: Any, queryImageSize: Any = None, trainImageSize: Any = None  # noqa: N803
    ) -> None:
        """Keypoints and (w, h) image sizes for the following ``match(desc0, desc1)`` calls."""
        self._pair = make_pair_info(queryKpts, trainKpts, queryImageSize, trainImageSize)

    def setImagePairInfo(  # noqa: N802 (OpenCV naming)
        self, queryKpts: Any, trainKpts: Any, queryImageSize: Any = None, trainImageSize: Any = None  # noqa: N803
    ) -> None:
        """OpenCV 5.1's overload of :meth:`setPairInfo` for ``cv2.KeyPoint`` s (both take either)."""
        self.setPairInfo(queryKpts, trainKpts, queryImageSize, trainImageSize)

    def clearPairInfo(self) -> None:  # noqa: N802
        """Forget the pair information set by :meth:`setPairInfo`."""
        self._pair = None

    def match(self, *args: Any, mask: Any = None) -> list[cv2.DMatch]:
        """``match(desc0, desc1)`` (after :meth:`setPairInfo` for learned matchers) or
        ``match(keypoints0, desc0, keypoints1, desc1, image_size0, image_size1)`` →
        ``cv2.DMatch`` list sorted by queryIdx, ``distance`` as documented by the matcher.

        Raises:
            ValueError: a ``mask`` is given (not supported, as by cv2.LightGlueMatcher).
        """
        if mask is not None:
            raise ValueError(f"{type(self).__name__} does not support masks (isMaskSupported() is False)")
        if len(args) == 2:
            desc0, desc1 = args
            pair = self._pair
        elif len(args) == 6:
            kp0, desc0, kp1, desc1, size0, size1 = args
            pair = make_pair_info(kp0, kp1, size0, size1)
        else:
            raise TypeError(
                "match() takes (descriptors0, descriptors1) or (keypoints0, descriptors0, keypoints1, "
                f"descriptors1, image_size0, image_size1), got {len(args)} arguments"
            )
        d0, d1 = as_descriptors(desc0, "descriptors0"), as_descriptors(desc1, "descriptors1")
        if d0 is not None and d1 is not None and d0.shape[1] != d1.shape[1]:
            raise ValueError(f"descriptor sizes differ: descriptors0 is {d0.shape[1]}-d, descriptors1 {d1.shape[1]}-d")
        if self.needs_pair_info:
            pair = self._checked_pair(pair, d0, d1)
        if d0 is None or d1 is None:
            return []
        pairs, distances = self._match(d0, d1, pair)
        return to_dmatches(pairs, distances)

    def isMaskSupported(self) -> bool:  # noqa: N802 (OpenCV naming)
        """False: like cv2.LightGlueMatcher, no matcher here takes a mask."""
        return False

    def _checked_pair(self, pair: PairInfo | None, d0: np.ndarray | None, d1: np.ndarray | None) -> PairInfo:
        if pair is None:
            raise ValueError(
                f"{type(self).__name__} needs keypoints: call setPairInfo(keypoints0, keypoints1, image_size0, "
                "image_size1) before match(descriptors0, descriptors1), or pass them to match()"
            )
        for side, (points, desc) in enumerate(((pair.points0, d0), (pair.points1, d1))):
            count = 0 if desc is None else len(desc)
            if len(points) != count:
                raise ValueError(f"image {side} has {len(points)} keypoints but {count} descriptors")
        return pair

    @abstractmethod
    def _match(self, desc0: np.ndarray, desc1: np.ndarray, pair: PairInfo | None) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) and (M, D) descriptors (both non-empty) → (K, 2) index pairs, (K,) distances."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
