"""Oriented, scale-normalised patches around ``cv2.KeyPoint`` s, sampled with PyTorch.

Geometry (OpenCV conventions: integer coordinates are pixel centres, y points down,
``KeyPoint.angle`` in degrees measured in image coordinates, i.e. *clockwise as seen on
screen* (OpenCV's SIFT stores ``360 - angle`` of its y-up gradient histogram), -1 = none):

* A keypoint with position ``(x, y)``, diameter ``size`` and angle ``a`` gets the affine
  frame ``img = c + A @ (u - m, v - m)`` from patch pixel ``(u, v)`` (``m = (P-1)/2``,
  ``P = patch_size``) to image pixel, with ``A = step * [[cos a, -sin a], [sin a, cos a]]``
  and ``step = patch_scale * size / P`` image pixels per patch pixel. The patch x-axis
  follows the keypoint direction ``(cos a, sin a)`` (the patch is the image rotated by
  ``-a``), so rotating the image and the keypoint angle together leaves the patch
  unchanged; ``angle == -1`` gives an upright (axis-aligned) patch.
* The patch side is ``patch_scale * size`` pixels. OpenCV's SIFT stores ``size = 2 sigma``
  and describes a 4 x 4 grid of cells of ``3 sigma`` each, i.e. a ``12 sigma = 6 * size``
  wide window; the default ``patch_scale = 6.0`` makes a SIFT keypoint's patch cover the
  same support as SIFT's own descriptor.
* Anti-aliasing: every keypoint is sampled from the ``cv2.pyrDown`` level ``L`` with
  ``L = round(log2(step))`` (clamped to the available levels), so the sampling step at
  that level is within [0.71, 1.41] px. A level-``L`` pixel ``x_L`` covers level-0
  coordinates ``x = 2^L (x_L + 0.5) - 0.5``.
* Sampling is bilinear (``grid_sample``, ``align_corners=False``) with zeros outside the
  image, which equals ``cv2.warpAffine(img, M, (P, P), flags=INTER_LINEAR |
  WARP_INVERSE_MAP, borderValue=0)`` with ``M = [A | c - A @ (m, m)]`` of the level
  (see :func:`keypoint_frames`), up to OpenCV's 1/32-pixel coordinate quantisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from cvlearned.keypoints import keypoint_arrays

__all__ = ["DEFAULT_PATCH_SCALE", "keypoint_frames", "pyramid_levels", "extract_patches", "build_pyramid"]

DEFAULT_PATCH_SCALE = 6.0


def keypoint_frames(
    keypoints: Sequence[cv2.KeyPoint],
    patch_size: int = 32,
    patch_scale: float = DEFAULT_PATCH_SCALE,
    upright: bool = False,
) -> np.ndarray:
    """(N, 2, 3) float64 level-0 affine frames ``M = [A | t]``: image pixel = ``M @ (u, v, 1)``.

    ``(u, v)`` are patch pixel coordinates (pixel centres 0..P-1). ``upright`` ignores the
    keypoint angles (as does ``angle == -1``).
    """
    pts, size, angle = keypoint_arrays(keypoints)
    step = patch_scale * size / patch_size
    theta = np.deg2rad(np.where((angle == -1) | upright, 0.0, angle))
    cos, sin = np.cos(theta) * step, np.sin(theta) * step
    frames = np.empty((len(pts), 2, 3), np.float64)
    frames[:, 0, 0], frames[:, 0, 1] = cos, -sin
    frames[:, 1, 0], frames[:, 1, 1] = sin, cos
    m = (patch_size - 1) / 2.0
    frames[:, :, 2] = pts - m * (frames[:, :, 0] + frames[:, :, 1])
    return frames


def pyramid_levels(frames: np.ndarray, n_levels: int) -> np.ndarray:
    """(N,) pyramid level per frame: ``round(log2(step))`` clamped to ``[0, n_levels - 1]``."""
    step = np.sqrt(np.abs(np.linalg.det(frames[:, :, :2])))
    with np.errstate(divide="ignore"):
        level = np.round(np.log2(np.maximum(step, 1e-12)))
    return np.clip(level, 0, max(n_levels - 1, 0)).astype(np.int64)


def frame_at_level(frames: np.ndarray, level: np.ndarray | int) -> np.ndarray:
    """Level-0 frames expressed in the pixel grid of pyramid level ``level``."""
    f = np.power(2.0, -np.asarray(level, np.float64)).reshape(-1, 1, 1)
    out = frames * f
    out[:, :, 2] = (frames[:, :, 2] + 0.5) * f[:, :, 0] - 0.5
    return out


def build_pyramid(gray: np.ndarray, max_levels: int = 8, min_side: int = 16) -> list[np.ndarray]:
    """``[gray, pyrDown(gray), ...]`` as float32, stopping before a side gets below ``min_side``."""
    levels: list[np.ndarray] = [np.ascontiguousarray(gray, dtype=np.float32)]
    while len(levels) < max_levels and min(levels[-1].shape[:2]) >= 2 * min_side:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def extract_patches(
    gray: np.ndarray | list[np.ndarray],
    keypoints: Sequence[cv2.KeyPoint],
    patch_size: int = 32,
    patch_scale: float = DEFAULT_PATCH_SCALE,
    upright: bool = False,
    frames: np.ndarray | None = None,
    antialias: bool = True,
):
    """(N, 1, P, P) float32 torch tensor of patches (intensities of ``gray``, 0..255).

    Args:
        gray: (H, W) image (uint8 or float) or a pyramid from :func:`build_pyramid`.
        keypoints: N keypoints (ignored when ``frames`` is given, except for the count).
        frames: optional (N, 2, 3) level-0 frames (see :func:`keypoint_frames`), e.g. full
            affine frames; overrides the keypoints' pt/size/angle.
        antialias: sample each keypoint from the pyramid level of step ~1 px; False
            samples everything from level 0.
    """
    import torch
    import torch.nn.functional as F

    pyramid = gray if isinstance(gray, list) else build_pyramid(gray)
    if frames is None:
        frames = keypoint_frames(keypoints, patch_size, patch_scale, upright)
    n = len(frames)
    out = torch.zeros((n, 1, patch_size, patch_size), dtype=torch.float32)
    if n == 0:
        return out
    levels = pyramid_levels(frames, len(pyramid) if antialias else 1)
    half = patch_size / 2.0
    for level in np.unique(levels):
        idx = np.nonzero(levels == level)[0]
        image = pyramid[int(level)]
        h, w = image.shape[:2]
        lf = frame_at_level(frames[idx], int(level))
        # affine_grid (align_corners=False) gives patch coordinates p in [-1, 1] with
        # u - m = (P / 2) p; grid_sample wants image coordinates g = 2 (x + 0.5) / W - 1.
        theta = np.empty((len(idx), 2, 3), np.float64)
        scale = np.array([2.0 / w, 2.0 / h]).reshape(1, 2, 1)
        centre = lf[:, :, 2] + (patch_size - 1) / 2.0 * (lf[:, :, 0] + lf[:, :, 1])
        theta[:, :, :2] = scale * lf[:, :, :2] * half
        theta[:, :, 2] = scale[:, :, 0] * (centre + 0.5) - 1.0
        grid = F.affine_grid(
            torch.from_numpy(theta).float(), [len(idx), 1, patch_size, patch_size], align_corners=False
        )
        src = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
        sampled = F.grid_sample(
            src, grid.reshape(1, len(idx) * patch_size, patch_size, 2),
            mode="bilinear", padding_mode="zeros", align_corners=False,
        )
        out[torch.from_numpy(idx)] = sampled.reshape(len(idx), 1, patch_size, patch_size)
    return out


def warp_affine_reference(image: np.ndarray, frame: np.ndarray, patch_size: int = 32) -> np.ndarray:
    """The reference crop ``cv2.warpAffine`` gives for one (2, 3) frame (tests, debugging)."""
    return cv2.warpAffine(
        np.asarray(image, np.float32), np.asarray(frame, np.float64), (patch_size, patch_size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )

