"""Ground-truth point transfer between the two images of a pair.

Conventions (see ``cvlearned.datasets.types``): integer pixel coordinates are pixel
centres, so an image of size (w, h) covers ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``; a point
"lands inside" an image when it lies in that half-open box (its nearest pixel,
``floor(x + 0.5)``, then exists). Relative pose is ``X1 = R @ X0 + t``.

Every warp offers ``forward(pts0) -> (pts1, valid)`` and ``backward(pts1) -> (pts0, valid)``
with (N, 2) float64 points and (N,) bool validity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from cvlearned.cv_compat import normalized_image_points
from cvlearned.keypoints import keypoints_to_array

__all__ = ["Warp", "HomographyWarp", "DepthWarp", "pair_warp", "as_points", "inside_image"]


@runtime_checkable
class Warp(Protocol):
    """Anything that transfers points between image 0 and image 1."""

    def forward(self, pts0: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def backward(self, pts1: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def as_points(kpts: np.ndarray | Sequence[cv2.KeyPoint] | None) -> np.ndarray:
    """Convert keypoints to an (N, 2) float64 array of (x, y).

    Accepts a sequence of ``cv2.KeyPoint``, an (N, >=2) array (extra columns such as
    scale/score are dropped) or None (-> (0, 2)).
    """
    if kpts is None:
        return np.zeros((0, 2), dtype=np.float64)
    if isinstance(kpts, (list, tuple)) and len(kpts) > 0 and isinstance(kpts[0], cv2.KeyPoint):
        return keypoints_to_array(kpts)
    arr = np.asarray(kpts, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] >= 2:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"points must have shape (N, 2), got {arr.shape}")
    return arr[:, :2].copy()


def inside_image(pts: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N,) bool: finite points inside ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``; ``size`` = (w, h)."""
    w, h = size
    x, y = pts[:, 0], pts[:, 1]
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


def _apply_h(H: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a 3x3 homography to (N, 2) points; returns (N, 2) points and (N,) finite mask."""
    ph = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ H.T
    w = ph[:, 2]
    ok = np.abs(w) > 1e-12
    out = np.full((len(pts), 2), np.nan)
    out[ok] = ph[ok, :2] / w[ok, None]
    return out, ok & np.isfinite(out).all(axis=1)


class HomographyWarp:
    """Point transfer through a homography ``x1 ~ H_0to1 @ x0``.

    Args:
        H_0to1: (3, 3) homography from image-0 to image-1 pixels.
        size0, size1: image sizes as (w, h).

    ``valid`` is True where the transferred point lands inside the other image.
    (The sign of the homogeneous coordinate is not checked: H and -H are the same map.)
    """

    def __init__(self, H_0to1: np.ndarray, size0: tuple[int, int], size1: tuple[int, int]) -> None:
        H = np.asarray(H_0to1, dtype=np.float64)
        if H.shape != (3, 3):
            raise ValueError(f"H_0to1 must be 3x3, got {H.shape}")
        self.H = H
        self.H_inv = np.linalg.inv(H)
        self.size0 = (int(size0[0]), int(size0[1]))
        self.size1 = (int(size1[0]), int(size1[1]))

    @classmethod
    def from_pair(cls, pair) -> "HomographyWarp":
        """Build from a ``HomographyPair``."""
        h0, w0 = pair.image0.shape[:2]
        h1, w1 = pair.image1.shape[:2]
        return cls(pair.H_0to1, (w0, h0), (w1, h1))

    def forward(self, pts0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) image-0 points -> ((N, 2) image-1 points, (N,) valid)."""
        pts1, ok = _apply_h(self.H, as_points(pts0))
        return pts1, ok & inside_image(pts1, self.size1)

    def backward(self, pts1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) image-1 points -> ((N, 2) image-0 points, (N,) valid)."""
        pts0, ok = _apply_h(self.H_inv, as_points(pts1))
        return pts0, ok & inside_image(pts0, self.size0)


def _nonzero_dist(D: np.ndarray | None) -> np.ndarray | None:
    if D is None:
        return None
    D = np.asarray(D, dtype=np.float64).ravel()
    return D if np.any(D != 0) else None


def _valid_depth(d: np.ndarray) -> np.ndarray:
    return np.isfinite(d) & (d > 0)


class DepthWarp:
    """Point transfer through z-depth maps and a relative pose ``X1 = R @ X0 + t``.

    Args:
        depth0, depth1: (H, W) float z-depth maps; ``np.inf``, NaN or 0 where unknown.
        K0, K1: (3, 3) intrinsics (pixel-centre convention).
        R, t: relative pose, (3, 3) and (3,).
        D0, D1: optional OpenCV distortion coefficients of the images (None/zeros = pinhole).
        occlusion_tol: relative depth agreement required at the target:
            ``|z_projected - depth_target| <= occlusion_tol * depth_target``.
        jump_tol: a source point is rejected when the depths of its 2x2 neighbourhood
            (pixels ``floor(x)..floor(x)+1``, ``floor(y)..floor(y)+1``, clipped to the image)
            are not all known or ``(max - min) > jump_tol * min`` (depth discontinuity).

    A transferred point is valid when: it lies inside the source image, the source depth
    at its nearest pixel is known and positive, no depth jump in its 2x2 neighbourhood,
    its depth in the target camera is positive, it lands inside the target image, and the
    target depth at the nearest pixel is known and agrees (not occluded). Points whose
    transfer is undefined (no source depth) are returned as NaN.
    """

    def __init__(
        self,
        depth0: np.ndarray,
        depth1: np.ndarray,
        K0: np.ndarray,
        K1: np.ndarray,
        R: np.ndarray,
        t: np.ndarray,
        *,
        D0: np.ndarray | None = None,
        D1: np.ndarray | None = None,
        occlusion_tol: float = 0.01,
        jump_tol: float = 0.05,
    ) -> None:
        self.depth0 = np.asarray(depth0, dtype=np.float64)
        self.depth1 = np.asarray(depth1, dtype=np.float64)
        if self.depth0.ndim != 2 or self.depth1.ndim != 2:
            raise ValueError("depth maps must be (H, W)")
        self.K0 = np.asarray(K0, dtype=np.float64).reshape(3, 3)
        self.K1 = np.asarray(K1, dtype=np.float64).reshape(3, 3)
        self.R = np.asarray(R, dtype=np.float64).reshape(3, 3)
        self.t = np.asarray(t, dtype=np.float64).reshape(3)
        self.D0, self.D1 = _nonzero_dist(D0), _nonzero_dist(D1)
        self.occlusion_tol = float(occlusion_tol)
        self.jump_tol = float(jump_tol)
        self.size0 = (self.depth0.shape[1], self.depth0.shape[0])
        self.size1 = (self.depth1.shape[1], self.depth1.shape[0])

    @classmethod
    def from_pair(cls, pair, **kwargs) -> "DepthWarp":
        """Build from a ``PosePair`` that has depth maps."""
        if pair.depth0 is None or pair.depth1 is None:
            raise ValueError(f"pair {pair.name!r} has no depth maps")
        return cls(pair.depth0, pair.depth1, pair.K0, pair.K1, pair.R, pair.t, D0=pair.D0, D1=pair.D1, **kwargs)

    def forward(self, pts0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) image-0 points -> ((N, 2) image-1 points, (N,) valid)."""
        return self._transfer(as_points(pts0), self.depth0, self.depth1, self.K0, self.K1,
                              self.D0, self.D1, self.R, self.t)

    def backward(self, pts1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) image-1 points -> ((N, 2) image-0 points, (N,) valid)."""
        R_inv = self.R.T
        return self._transfer(as_points(pts1), self.depth1, self.depth0, self.K1, self.K0,
                              self.D1, self.D0, R_inv, -R_inv @ self.t)

    def _transfer(self, pts, depth_s, depth_t, K_s, K_t, D_s, D_t, R, t):
        n = len(pts)
        out = np.full((n, 2), np.nan)
        valid = np.zeros(n, dtype=bool)
        if n == 0:
            return out, valid
        hs, ws = depth_s.shape
        ok = inside_image(pts, (ws, hs))
        idx = np.flatnonzero(ok)
        p = pts[idx]
        # Source depth at the nearest pixel.
        ix = np.floor(p[:, 0] + 0.5).astype(np.int64)
        iy = np.floor(p[:, 1] + 0.5).astype(np.int64)
        z = depth_s[iy, ix]
        good = _valid_depth(z)
        # Depth discontinuity test on the 2x2 neighbourhood.
        x0 = np.clip(np.floor(p[:, 0]).astype(np.int64), 0, ws - 1)
        y0 = np.clip(np.floor(p[:, 1]).astype(np.int64), 0, hs - 1)
        x1, y1 = np.minimum(x0 + 1, ws - 1), np.minimum(y0 + 1, hs - 1)
        nb = np.stack([depth_s[y0, x0], depth_s[y0, x1], depth_s[y1, x0], depth_s[y1, x1]], axis=1)
        nb_ok = _valid_depth(nb).all(axis=1)
        with np.errstate(invalid="ignore"):
            jump = nb.max(axis=1) - nb.min(axis=1) > self.jump_tol * nb.min(axis=1)
        good &= nb_ok & ~jump
        idx, p, z = idx[good], p[good], z[good]
        if len(idx) == 0:
            return out, valid
        # Unproject to 3-D in the source camera and move to the target camera.
        rays = self._normalise(p, K_s, D_s)
        X = (rays * z[:, None]) @ R.T + t
        with np.errstate(invalid="ignore"):
            front = X[:, 2] > 1e-12
        proj = np.full((len(idx), 2), np.nan)
        proj[front] = self._project(X[front], K_t, D_t)
        out[idx] = proj
        # Inside the target image and not occluded.
        ht, wt = depth_t.shape
        inside = front & inside_image(proj, (wt, ht))
        jx = np.floor(np.where(inside, proj[:, 0], 0) + 0.5).astype(np.int64)
        jy = np.floor(np.where(inside, proj[:, 1], 0) + 0.5).astype(np.int64)
        d_t = depth_t[jy, jx]
        with np.errstate(invalid="ignore"):
            visible = _valid_depth(d_t) & (np.abs(X[:, 2] - d_t) <= self.occlusion_tol * d_t)
        valid[idx] = inside & visible
        return out, valid

    @staticmethod
    def _normalise(p: np.ndarray, K: np.ndarray, D: np.ndarray | None) -> np.ndarray:
        """(N, 2) pixels -> (N, 3) rays (x, y, 1) in camera coordinates."""
        xy = normalized_image_points(p, K, D)
        return np.concatenate([xy, np.ones((len(p), 1))], axis=1)

    @staticmethod
    def _project(X: np.ndarray, K: np.ndarray, D: np.ndarray | None) -> np.ndarray:
        """(N, 3) points in front of the camera -> (N, 2) pixels."""
        if len(X) == 0:
            return np.zeros((0, 2))
        if D is None:
            xy = X[:, :2] / X[:, 2:3]
            return xy @ K[:2, :2].T + K[:2, 2]
        proj, _ = cv2.projectPoints(X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, D)
        return proj.reshape(-1, 2)


def pair_warp(pair: Any) -> HomographyWarp | DepthWarp | None:
    """Ground-truth warp of a HomographyPair, or of a PosePair with depth (None without)."""
    from cvlearned.datasets.types import HomographyPair

    if isinstance(pair, HomographyPair):
        return HomographyWarp.from_pair(pair)
    if getattr(pair, "depth0", None) is None:
        return None
    return DepthWarp.from_pair(pair)
