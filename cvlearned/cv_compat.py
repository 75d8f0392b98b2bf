"""OpenCV 4.x / 5.x compatibility.

OpenCV 5.0 moved KAZE, AKAZE, BRISK and AGAST (factories and their enum constants) from
``cv2`` to ``cv2.xfeatures2d``; SIFT moved the other way in 4.4. Every lookup of such a
name in cvlearned goes through :func:`cv2_attr`, so the rest of the code never cares which
OpenCV it runs on. SURF is patented in the pip builds and is deliberately not offered.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np

OPENCV_MAJOR: int = int(cv2.__version__.split(".")[0])
OPENCV_VERSION: tuple[int, int] = (OPENCV_MAJOR, int(cv2.__version__.split(".")[1]))


def _namespaces() -> list[Any]:
    spaces: list[Any] = [cv2]
    xf = getattr(cv2, "xfeatures2d", None)
    if xf is not None:
        spaces.append(xf)
    return spaces


def cv2_attr(name: str) -> Any:
    """Return ``cv2.<name>`` or ``cv2.xfeatures2d.<name>``, whichever exists.

    Raises:
        ImportError: neither namespace has it (e.g. opencv-python without contrib).
    """
    for space in _namespaces():
        if hasattr(space, name):
            return getattr(space, name)
    raise ImportError(
        f"OpenCV {cv2.__version__} has no '{name}' in cv2 or cv2.xfeatures2d; "
        "install opencv-contrib-python (not opencv-python)"
    )


_DESCRIPTOR_DTYPES = {cv2.CV_8U: np.uint8, cv2.CV_32F: np.float32, cv2.CV_64F: np.float64}


def empty_descriptors(extractor: Any) -> np.ndarray | None:
    """What ``extractor.compute`` of the installed OpenCV returns when nothing is described.

    OpenCV 4.x returns ``None``; OpenCV 5.x returns an empty ``(0, D)`` array for SIFT,
    KAZE, AKAZE, BRISK and DAISY but still ``None`` for ORB. Asking the object itself keeps
    every wrapper equal to its OpenCV class in whichever version is installed.
    """
    return extractor.compute(np.zeros((16, 16), np.uint8), [])[1]


@cache
def sift_empty_is_none() -> bool:
    """True when the installed ``cv2.SIFT`` returns ``None`` descriptors for no keypoints.

    The learned features follow the installed SIFT (the feature they replace).
    """
    return empty_descriptors(cv2_attr("SIFT_create")()) is None


def sift_small_window_crashes() -> bool:
    """True when the installed SIFT overflows a buffer describing a small window.

    OpenCV 4.8 to 4.10 write past the end of a heap buffer (double free, the process aborts)
    when ``SIFT.compute`` describes a keypoint whose sampling radius at its octave is under
    5 px (opencv/opencv#26139, fixed in 4.11; measured on 4.8.1, 4.9.0 and 4.10.0).
    """
    return OPENCV_VERSION < (4, 11)


def descriptor_dtype(descriptor_type: int) -> type:
    """numpy dtype of an OpenCV descriptor type (``cv2.CV_8U`` → ``np.uint8``)."""
    try:
        return _DESCRIPTOR_DTYPES[descriptor_type]
    except KeyError:
        raise ValueError(f"unsupported descriptor type {descriptor_type}") from None


def has_cv2_attr(name: str) -> bool:
    """True when :func:`cv2_attr` would find ``name``."""
    return any(hasattr(space, name) for space in _namespaces())


def normalized_image_points(points: np.ndarray, K: np.ndarray, D: np.ndarray | None) -> np.ndarray:
    """(N, 2) pixels → (N, 2) undistorted normalised camera coordinates.

    Iterative undistortion to 1e-12 (OpenCV 5's ``undistortPoints(..., criteria=)`` is
    ``undistortPointsIter`` in 4.x); ``K^-1`` only when ``D`` is None or all zeros.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    K = np.asarray(K, np.float64)
    if D is None or not np.any(np.asarray(D) != 0):
        return (points - K[:2, 2]) @ np.linalg.inv(K[:2, :2]).T
    D = np.asarray(D, np.float64)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    src = points.reshape(-1, 1, 2)
    if hasattr(cv2, "undistortPointsIter"):
        out = cv2.undistortPointsIter(src, K, D, None, None, crit)
    else:
        out = cv2.undistortPoints(src, K, D, criteria=crit)
    return out.reshape(-1, 2)
