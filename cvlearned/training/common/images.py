"""Photo helpers shared by the trainers' pair sources."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["resize_photo", "to_gray"]


def resize_photo(photo: np.ndarray, side: int) -> np.ndarray:
    h, w = photo.shape[:2]
    s = side / max(h, w)
    if abs(s - 1) < 1e-6:
        return photo
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def to_gray(image: np.ndarray) -> np.ndarray:
    """(h, w) uint8 or (h, w, 3) BGR uint8 → (h, w) uint8 gray."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"expected a uint8 gray or BGR image, got {image.dtype} {image.shape}")
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
