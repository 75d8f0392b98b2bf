"""Ground-truth correspondences between two views of a rendered scene, from exact depth and pose.

:func:`project_correspondences` maps every view-0 pixel into view 1 (dense);
:func:`warp_points` maps sub-pixel points, rejecting depth discontinuities. Both mask
points outside view 1 and, given view 1's depth, points occluded there.
"""

from __future__ import annotations

import numpy as np

from cvlearned.synthetic.scene_geometry import Camera, relative_pose

__all__ = ["project_correspondences", "warp_points"]


def _inverse_depth(depth: np.ndarray) -> np.ndarray:
    """1 / depth with 0 where depth is non-finite or <= 0."""
    d = np.asarray(depth, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(d) & (d > 0), 1.0 / d, 0.0)


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of a 2-D float array at (N,) points, clamped (replicated) borders."""
    h, w = img.shape
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    xi = np.minimum(np.floor(x).astype(np.int64), max(w - 2, 0))
    yi = np.minimum(np.floor(y).astype(np.int64), max(h - 2, 0))
    fx, fy = x - xi, y - yi
    xj, yj = np.minimum(xi + 1, w - 1), np.minimum(yi + 1, h - 1)
    top = img[yi, xi] * (1 - fx) + img[yi, xj] * fx
    bot = img[yj, xi] * (1 - fx) + img[yj, xj] * fx
    return top * (1 - fy) + bot * fy


def _inside(x: np.ndarray, y: np.ndarray, w: int, h: int) -> np.ndarray:
    """Bool mask (same shape as x, y): point inside a (w, h) image ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``."""
    with np.errstate(invalid="ignore"):
        return (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


def _transfer(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, cam0: Camera, cam1: Camera
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels (x, y) of cam0 at depth z (arrays of one shape) -> (x1, y1, z1) in cam1, same shape."""
    Kinv = np.linalg.inv(cam0.K)
    rays = np.stack([x, y, np.ones_like(x)], -1) @ Kinv.T
    R, t = relative_pose(cam0, cam1)
    X1 = (rays * z[..., None]) @ R.T + t
    p = X1 @ cam1.K.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return p[..., 0] / p[..., 2], p[..., 1] / p[..., 2], X1[..., 2]


def _visible(depth1: np.ndarray, x1: np.ndarray, y1: np.ndarray, z1: np.ndarray, rel_tol: float) -> np.ndarray:
    """Whether points at depth z1 agree with depth1 (bilinear inverse depth) within rel_tol.

    Inverse depth is affine in pixel coordinates on a plane, so the bilinear inverse depth
    is exact inside a surface; at silhouettes the mixture disagrees -> not visible.
    """
    inv1 = _bilinear(_inverse_depth(depth1), x1, y1)
    with np.errstate(invalid="ignore"):
        return np.abs(inv1 * z1 - 1.0) <= rel_tol


def project_correspondences(
    depth0: np.ndarray,
    cam0: Camera,
    cam1: Camera,
    depth1: np.ndarray | None = None,
    occlusion_rel_tol: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """Dense exact correspondences of every view-0 pixel in view 1.

    Returns ``xy1`` (H, W, 2) float32 (NaN where depth0 is unknown or the point is behind
    camera 1) and ``valid`` (H, W) bool: finite positive depth0, in front of camera 1,
    inside ``[-0.5, w1 - 0.5) x [-0.5, h1 - 0.5)`` and, if ``depth1`` is given, not
    occluded: the bilinearly interpolated inverse depth1 at ``xy1`` agrees with the
    transferred depth within ``occlusion_rel_tol`` (relative).
    """
    d0 = np.asarray(depth0, dtype=np.float64)
    h, w = d0.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    known = np.isfinite(d0) & (d0 > 0)
    z0 = np.where(known, d0, 1.0)
    x1, y1, z1 = _transfer(xs, ys, z0, cam0, cam1)
    valid = known & (z1 > 0)
    xy1 = np.stack([x1, y1], -1).astype(np.float32)
    xy1[~valid] = np.nan
    valid &= _inside(x1, y1, cam1.width, cam1.height)
    if depth1 is not None:
        valid &= _visible(depth1, x1, y1, z1, occlusion_rel_tol)
    return xy1, valid


def _smooth_neighbourhood(inv: np.ndarray, x: np.ndarray, y: np.ndarray, rel_tol: float) -> np.ndarray:
    """True where the 4x4 pixels around each point's bilinear cell show no depth jump.

    On a plane inverse depth is affine, so its second differences along x and y vanish;
    any second difference above ``rel_tol`` times the local inverse depth is a jump (or
    a crease). Triples that leave the image are ignored. Unknown depth inside the 2x2
    cell is never smooth.
    """
    h, w = inv.shape
    xi = np.floor(x).astype(np.int64)
    yi = np.floor(y).astype(np.int64)
    offs = np.arange(-1, 3)
    cols = xi[:, None] + offs[None, :]  # (N, 4)
    rows = yi[:, None] + offs[None, :]
    cin = (cols >= 0) & (cols < w)
    rin = (rows >= 0) & (rows < h)
    block = inv[np.clip(rows, 0, h - 1)[:, :, None], np.clip(cols, 0, w - 1)[:, None, :]]  # (N, 4, 4)
    ok = np.ones(len(x), bool)
    core = block[:, 1:3, 1:3].reshape(len(x), -1)
    ok &= np.all(core > 0, axis=1)
    ref = np.max(core, axis=1)
    ddx = np.abs(block[:, :, :-2] - 2 * block[:, :, 1:-1] + block[:, :, 2:])  # (N, 4, 2)
    ddy = np.abs(block[:, :-2, :] - 2 * block[:, 1:-1, :] + block[:, 2:, :])  # (N, 2, 4)
    vx = (cin[:, :-2] & cin[:, 1:-1] & cin[:, 2:])[:, None, :] & rin[:, :, None]
    vy = (rin[:, :-2] & rin[:, 1:-1] & rin[:, 2:])[:, :, None] & cin[:, None, :]
    bad_x = np.any(vx & (ddx > rel_tol * ref[:, None, None]), axis=(1, 2))
    bad_y = np.any(vy & (ddy > rel_tol * ref[:, None, None]), axis=(1, 2))
    return ok & ~bad_x & ~bad_y


def warp_points(
    pts0: np.ndarray,
    depth0: np.ndarray,
    cam0: Camera,
    cam1: Camera,
    depth1: np.ndarray | None = None,
    occlusion_rel_tol: float = 0.01,
    jump_rel_tol: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """Transfer sub-pixel points (N, 2) of view 0 into view 1 using depth0.

    Depth at a sub-pixel point is the bilinear interpolation of *inverse* depth over its
    2x2 pixel cell, which is exact on planar surfaces. Points are invalid when outside
    image 0, when the 2x2 cell has unknown depth, when the 4x4 neighbourhood spans a
    depth discontinuity (second differences of inverse depth above ``jump_rel_tol``),
    behind camera 1, outside image 1, or (with ``depth1``) occluded in view 1.
    Returns ``pts1`` (N, 2) float64 (NaN where depth is unusable) and ``valid`` (N,) bool.
    """
    pts = np.asarray(pts0, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return np.zeros((0, 2)), np.zeros(0, bool)
    inv0 = _inverse_depth(depth0)
    h, w = inv0.shape
    x, y = pts[:, 0], pts[:, 1]
    finite = np.isfinite(x) & np.isfinite(y)
    x = np.where(finite, x, 0.0)
    y = np.where(finite, y, 0.0)
    valid = finite & _inside(x, y, w, h)
    valid &= _smooth_neighbourhood(inv0, x, y, jump_rel_tol)
    inv_at = _bilinear(inv0, x, y)
    valid &= inv_at > 0
    z0 = np.where(valid, 1.0 / np.where(inv_at > 0, inv_at, 1.0), 1.0)
    x1, y1, z1 = _transfer(x, y, z0, cam0, cam1)
    valid &= z1 > 0
    pts1 = np.stack([x1, y1], -1)
    pts1[~valid] = np.nan
    valid &= _inside(x1, y1, cam1.width, cam1.height)
    if depth1 is not None:
        valid &= _visible(depth1, x1, y1, z1, occlusion_rel_tol)
    return pts1, valid
