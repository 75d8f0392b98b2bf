"""Wrap OpenCV's own features (SIFT, KAZE, ORB, …) in the cvlearned contract.

The wrapper adds input validation, ``max_side`` and ``max_keypoints`` handling and
parameter persistence; the keypoints and descriptors themselves are OpenCV's, bit for bit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import cv2
import numpy as np

from cvlearned.cv_compat import empty_descriptors
from cvlearned.feature2d import Feature2D, Keypoints
from cvlearned.keypoints import strongest


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

    def _limit(self) -> int | None:
        return None if self.native_max_keypoints else getattr(self.config, "max_keypoints", None)

    def _retain_best(
        self, keypoints: Keypoints, descriptors: np.ndarray | None = None
    ) -> tuple[Keypoints, np.ndarray | None]:
        """The ``max_keypoints`` strongest by response (stable among ties)."""
        limit = self._limit()
        if limit is None or len(keypoints) <= limit:
            return tuple(keypoints), descriptors
        order = strongest(keypoints, limit)
        kept = tuple(keypoints[i] for i in order)
        return kept, None if descriptors is None else descriptors[order]

    def _no_descriptors(self) -> np.ndarray | None:
        """Exactly what this OpenCV class returns when it describes nothing (per version)."""
        with self._lock:
            return empty_descriptors(self._extractor)

    @contextmanager
    def _native(self, gray: np.ndarray) -> Iterator[None]:
        """Serialise an OpenCV call; its cv2.error (parameters that do not fit the image, e.g.
        ORB ``n_levels=32`` or BRISK ``n_octaves=8`` on 120x160) becomes a ValueError."""
        with self._lock:
            try:
                yield
            except cv2.error as exc:
                raise ValueError(
                    f"OpenCV {self.algorithm_name} cannot process a {gray.shape[1]}x{gray.shape[0]} image "
                    f"with {self.getParams()}: {exc.err}"
                ) from exc

    def _too_small(self, gray: np.ndarray) -> bool:
        return min(gray.shape) < self.min_image_side

    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        if self._too_small(gray):
            return ()
        with self._native(gray):
            keypoints = self._detector.detect(gray, mask)
        return self._retain_best(keypoints)[0]

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        if self._too_small(gray):
            return (), None
        with self._native(gray):
            kept, desc = self._extractor.compute(gray, keypoints)
        if desc is None:
            return tuple(kept), desc
        # never hand out NaN or all-zero rows: OpenCV gives them for keypoints it cannot sample
        # (e.g. AKAZE at size < 1, KAZE at size 1e12), and zero rows all match each other
        usable = np.isfinite(desc).all(axis=1) & desc.any(axis=1)
        if not usable.all():
            kept = [kp for kp, ok in zip(kept, usable) if ok]
            desc = desc[usable] if usable.any() else None
        return tuple(kept), desc

    def _detect_and_compute(self, gray: np.ndarray, mask: np.ndarray | None) -> tuple[Keypoints, np.ndarray | None]:
        if self._too_small(gray):
            return (), None
        if self._detector is not self._extractor:
            return super()._detect_and_compute(gray, mask)
        with self._native(gray):  # one scale space for both (cheaper than detect + compute)
            keypoints, descriptors = self._detector.detectAndCompute(gray, mask)
        return self._retain_best(keypoints, descriptors)

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
