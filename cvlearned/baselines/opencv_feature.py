"""Wrap OpenCV's own features (SIFT, KAZE, ORB, …) in the cvlearned contract.

The wrapper adds input validation, ``max_side`` and ``max_keypoints`` handling and
parameter persistence; the keypoints and descriptors themselves are OpenCV's, bit for bit.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np

from cvlearned.feature2d import Feature2D, Keypoints


class OpenCVFeature(Feature2D):
    """Base for classical baselines.

    Subclasses implement :meth:`_build` returning ``(detector, extractor)`` OpenCV objects
    (the same object for joint features) and set ``native_max_keypoints`` when the OpenCV
    detector limits the count itself (SIFT, ORB); otherwise the strongest
    ``max_keypoints`` are kept by response (stable order among ties).
    """

    native_max_keypoints: ClassVar[bool] = False
    #: OpenCV raises (or worse) on images with a side below this; they have no keypoints.
    min_image_side: ClassVar[int] = 1

    def _build(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def _configure(self) -> None:
        self._detector, self._extractor = self._build()
        # OpenCV's Feature2D objects are not documented as thread-safe; serialise calls.
        self._lock = threading.Lock()

    def _retain_best(self, keypoints: Keypoints) -> Keypoints:
        limit = getattr(self.config, "max_keypoints", None)
        if self.native_max_keypoints or limit is None or len(keypoints) <= limit:
            return tuple(keypoints)
        order = np.argsort([-kp.response for kp in keypoints], kind="stable")[:limit]
        return tuple(keypoints[i] for i in order)

    def _too_small(self, gray: np.ndarray) -> bool:
        return min(gray.shape) < self.min_image_side

    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        if self._too_small(gray):
            return ()
        with self._lock:
            return self._retain_best(self._detector.detect(gray, mask))

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        if self._too_small(gray):
            return (), None
        with self._lock:
            kept, desc = self._extractor.compute(gray, keypoints)
        return tuple(kept), desc

    def _detect_and_compute(self, gray: np.ndarray, mask: np.ndarray | None) -> tuple[Keypoints, np.ndarray | None]:
        if self._too_small(gray):
            return (), None
        joint = self._detector is self._extractor
        if joint and (self.native_max_keypoints or getattr(self.config, "max_keypoints", None) is None):
            with self._lock:
                kept, desc = self._detector.detectAndCompute(gray, mask)
            return tuple(kept), desc
        return super()._detect_and_compute(gray, mask)

    def descriptorSize(self) -> int:  # noqa: N802
        return int(self._extractor.descriptorSize())

    def descriptorType(self) -> int:  # noqa: N802
        return int(self._extractor.descriptorType())

    def defaultNorm(self) -> int:  # noqa: N802
        return int(self._extractor.defaultNorm())

    def to(self, device: Any) -> OpenCVFeature:
        """Classical features run on the CPU only; accepts "cpu"/"auto" for API parity."""
        if str(device) not in ("cpu", "auto"):
            raise ValueError(f"{self.algorithm_name} runs on the CPU only, got device={device!r}")
        return self
