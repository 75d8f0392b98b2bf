"""What an empty result must look like: exactly what the installed OpenCV returns.

OpenCV 4.x returns ``None`` descriptors when nothing is found; OpenCV 5.x returns an
empty ``(0, D)`` array for most features but still ``None`` for ORB. Classical wrappers
must equal their own OpenCV class on the same input; learned features follow the
installed ``cv2.SIFT_create`` (the feature they replace). Nothing here is remembered:
every expectation is asked of the installed OpenCV.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cvlearned.cv_compat import cv2_attr

#: registered classical name → a native OpenCV object that describes like it
NATIVE = {
    "sift": lambda: cv2_attr("SIFT_create")(),
    "daisy": lambda: cv2_attr("DAISY_create")(),
    "kaze": lambda: cv2_attr("KAZE_create")(),
    "akaze": lambda: cv2_attr("AKAZE_create")(),
    "orb": lambda: cv2.ORB_create(),
    "brisk": lambda: cv2_attr("BRISK_create")(),
}


def native_empty_descriptors(name: str, descriptor_size: int, dtype: type) -> np.ndarray | None:
    """The descriptors OpenCV itself returns for an empty result of feature ``name``."""
    native = NATIVE.get(name, NATIVE["sift"])()
    blank = np.full((64, 64), 128, np.uint8)
    if name == "daisy":  # a descriptor only: OpenCV's DAISY cannot detect
        desc = native.compute(blank, [])[1]
    else:
        keypoints, desc = native.detectAndCompute(blank, None)
        assert keypoints == ()
    if desc is None or name in NATIVE:
        return desc
    return np.empty((0, descriptor_size), dtype)  # a learned feature: SIFT's rule, its own width


def assert_empty_result(result: tuple[Any, Any], name: str, feature: Any) -> None:
    """``result`` is ``((), descriptors)`` with the descriptors OpenCV returns for ``name``."""
    keypoints, desc = result
    assert keypoints == ()
    dtype = {cv2.CV_32F: np.float32, cv2.CV_8U: np.uint8}[feature.descriptorType()]
    expected = native_empty_descriptors(name, feature.descriptorSize(), dtype)
    if expected is None:
        assert desc is None
    else:
        assert isinstance(desc, np.ndarray) and desc.shape == expected.shape and desc.dtype == expected.dtype
