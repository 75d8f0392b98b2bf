"""Validation and conversion of user images, masks and keypoints.

Accepted images (the documented rule, identical for every feature):

- ``np.ndarray`` (or ``cv2.UMat``) of shape (H, W), (H, W, 1), (H, W, 3) BGR or
  (H, W, 4) BGRA; colour is converted to gray with ``cv2.cvtColor`` as OpenCV does.
- ``uint8``: used as is.
- ``uint16``: the full 16-bit range maps to 8 bits (``round(v / 257)``).
- ``float16/32/64``: must be finite and within [0, 1] (scikit-image convention); scaled by
  255 and rounded. Float images in [0, 255] raise a ValueError telling to divide by 255.
- Anything else (bool, signed ints, complex, object) raises TypeError; ``None``, empty
  arrays, NaN/inf and more than :data:`MAX_PIXELS` pixels raise ValueError.
- ``torch.Tensor`` (kornia layout), see :func:`from_tensor`: (H, W), (C, H, W) one image or
  (B, C, H, W) a batch, C = 1 (gray) or 3 (**RGB**, kornia's order, not BGR); ``uint8`` or
  float in [0, 1]. It becomes the numpy image(s) above, so results equal the numpy path.

Masks are ``uint8`` (or ``bool``) of shape (H, W) or (H, W, 1); non-zero = allowed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

MAX_PIXELS: int = 1 << 28  # 268 M pixels, ~16K x 16K; larger inputs are rejected
_FLOAT_KINDS = (np.float16, np.float32, np.float64)


def as_gray_uint8(image: Any, *, argname: str = "image") -> np.ndarray:
    """Convert a user image to a C-contiguous (H, W) uint8 gray array.

    Raises:
        TypeError: wrong type or dtype.
        ValueError: None, empty, wrong shape, non-finite or out-of-range values.
    """
    array = _as_array(image, argname)
    array = _to_uint8(array, argname)
    return np.ascontiguousarray(_to_gray(array, argname))


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a ``torch.Tensor``, without importing torch (a tensor can only
    exist once the user has imported it)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def from_tensor(image: Any, *, argname: str = "image") -> Any:
    """Torch tensor image(s) → numpy image(s) for :func:`as_gray_uint8`; other values unchanged.

    (H, W) → (H, W); (C, H, W) → (H, W, C); (B, C, H, W) → a list of B (H, W, C) arrays.
    C is 1 (gray) or 3 (RGB, kornia's order), RGB being reversed to BGR so that the
    numpy rule applies OpenCV's RGB2GRAY weights. The tensor is detached and copied to
    the CPU; values are left to the numpy rule (uint8 as is, float finite in [0, 1]).

    Raises:
        TypeError: a dtype other than ``torch.uint8`` or a float dtype.
        ValueError: another shape.
    """
    if not is_tensor(image):
        return image
    shape = tuple(image.shape)
    if len(shape) not in (2, 3, 4) or (len(shape) > 2 and shape[-3] not in (1, 3)):
        raise ValueError(
            f"{argname} tensor must have shape (H, W), (C, H, W) or (B, C, H, W) with C = 1 "
            f"(gray) or 3 (RGB), got {shape}"
        )
    array = _tensor_to_numpy(image, argname)
    if array.ndim == 2:
        return array
    channels_last = np.moveaxis(array, -3, -1)
    if channels_last.shape[-1] == 3:
        channels_last = channels_last[..., ::-1]  # RGB → BGR
    return list(channels_last) if array.ndim == 4 else channels_last


def _tensor_to_numpy(tensor: Any, argname: str) -> np.ndarray:
    """A uint8 or float tensor as a numpy array of the same shape (float16/32/64 kept,
    other float dtypes such as bfloat16 widened exactly to float32)."""
    torch = sys.modules["torch"]
    tensor = tensor.detach()
    if tensor.dtype.is_floating_point:
        if tensor.dtype not in (torch.float16, torch.float32, torch.float64):
            tensor = tensor.float()
    elif tensor.dtype != torch.uint8:
        raise TypeError(
            f"{argname} tensor has dtype {tensor.dtype}; supported: torch.uint8, or a float "
            "dtype with values in [0, 1]"
        )
    return tensor.cpu().numpy()


def as_mask(mask: Any, image_shape: tuple[int, ...], *, argname: str = "mask") -> np.ndarray | None:
    """Validate a mask against an (H, W) image shape; returns a uint8 (H, W) array or None."""
    if mask is None:
        return None
    if isinstance(mask, cv2.UMat):
        mask = mask.get()
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{argname} must be a numpy array or None, got {type(mask).__name__}")
    if mask.dtype == np.bool_:
        mask = mask.astype(np.uint8)
    if mask.dtype != np.uint8:
        raise TypeError(f"{argname} must be uint8 (non-zero = allowed), got dtype {mask.dtype}")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != tuple(image_shape[:2]):
        raise ValueError(
            f"{argname} has shape {mask.shape}, expected the image size {tuple(image_shape[:2])}"
        )
    return np.ascontiguousarray(mask)


def as_keypoint_tuple(keypoints: Any, *, argname: str = "keypoints") -> tuple[cv2.KeyPoint, ...]:
    """Validate a sequence of ``cv2.KeyPoint`` with finite coordinates.

    Other fields are not checked here: :func:`cvlearned.keypoints.describable_keypoints`
    drops keypoints that cannot be described (outside the image, bad size or angle).
    """
    if keypoints is None:
        raise ValueError(f"{argname} is None; pass a (possibly empty) sequence of cv2.KeyPoint")
    if isinstance(keypoints, np.ndarray) or not isinstance(keypoints, Sequence):
        raise TypeError(
            f"{argname} must be a sequence of cv2.KeyPoint, got {type(keypoints).__name__} "
            "(convert points with cv2.KeyPoint_convert)"
        )
    for i, kp in enumerate(keypoints):
        if not isinstance(kp, cv2.KeyPoint):
            raise TypeError(f"{argname}[{i}] is {type(kp).__name__}, expected cv2.KeyPoint")
        if not (np.isfinite(kp.pt[0]) and np.isfinite(kp.pt[1])):
            raise ValueError(f"{argname}[{i}] has a non-finite position pt={kp.pt}")
    return tuple(keypoints)


def _as_array(image: Any, argname: str) -> np.ndarray:
    if image is None:
        raise ValueError(f"{argname} is None (did cv2.imread fail to read the file?)")
    if isinstance(image, cv2.UMat):
        image = image.get()
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{argname} must be a numpy array, got {type(image).__name__}")
    if image.size == 0:
        raise ValueError(f"{argname} is empty (shape {image.shape})")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(
            f"{argname} must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}"
        )
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ValueError(
            f"{argname} has {image.shape[0] * image.shape[1]} pixels, more than the supported "
            f"{MAX_PIXELS}; downscale it first"
        )
    return image


def _to_uint8(image: np.ndarray, argname: str) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image / 257.0).astype(np.uint8)
    if image.dtype.type in _FLOAT_KINDS:
        if not np.isfinite(image).all():
            raise ValueError(f"{argname} contains NaN or infinite values")
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 1.0:
            hint = "; divide by 255 if it is in [0, 255]" if high <= 255.0 and low >= 0.0 else ""
            raise ValueError(
                f"float {argname} must be in [0, 1], got values in [{low:g}, {high:g}]{hint}"
            )
        return np.round(image.astype(np.float32) * 255.0).astype(np.uint8)
    raise TypeError(
        f"{argname} has dtype {image.dtype}; supported: uint8, uint16 (full range), "
        "float16/32/64 in [0, 1]"
    )


def _to_gray(image: np.ndarray, argname: str) -> np.ndarray:
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
    return cv2.cvtColor(np.ascontiguousarray(image), code)
