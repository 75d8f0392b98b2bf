"""Exact per-pixel renderer of a :class:`~cvlearned.synthetic.scene_geometry.Scene`: colour, depth, plane index.

Rendering is exact per pixel (no triangles, no rasterisation approximations): for each
plane, ``q = G^-1 @ [x, y, 1]`` with ``G = K [R u | R v | R o + t]`` gives
``q = (a, b, 1) / z``, i.e. the plane coordinates and the inverse depth, which is
z-buffered. Colour is sampled with ``cv2.remap`` from a mip level chosen per pixel (from
the Jacobian of the pixel -> texture map), at ``supersample`` x resolution and reduced with
``INTER_AREA``; depth and plane index are computed exactly at the final pixel centres.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from cvlearned.synthetic.scene_geometry import Camera, Plane, Scene

__all__ = ["RenderedView", "render", "render_depth", "render_sequence"]

_Z_NEAR = 1e-3  # metres; surfaces closer than this are not drawn


@dataclass(frozen=True, eq=False)
class RenderedView:
    """Output of :func:`render`.

    image: (H, W, 3) uint8 BGR; depth: (H, W) float32 camera z (``np.inf`` = no surface);
    plane_index: (H, W) int16 index into ``scene.planes`` (-1 = no surface).
    """

    image: np.ndarray
    depth: np.ndarray
    plane_index: np.ndarray


@dataclass
class _Raster:
    """Z-buffer of :func:`_rasterize` on an (h, w) pixel grid, with the per-plane setup it used."""

    inv_depth: np.ndarray  # (h, w) float; 0 where empty
    index: np.ndarray  # (h, w) int16
    ginv: list[np.ndarray | None]  # per plane: (3, 3) G^-1 or None
    bbox: list[tuple[int, int, int, int] | None]  # per plane: (x0, y0, x1, y1) inclusive or None


def _clip_near(poly: np.ndarray, z_near: float) -> np.ndarray:
    """Sutherland-Hodgman clip of a camera-frame polygon (N, 3) to ``z >= z_near``."""
    out = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        pin, qin = p[2] >= z_near, q[2] >= z_near
        if pin:
            out.append(p)
        if pin != qin:
            s = (z_near - p[2]) / (q[2] - p[2])
            out.append(p + s * (q - p))
    return np.array(out).reshape(-1, 3)


def _plane_setup(
    plane: Plane, K: np.ndarray, R: np.ndarray, t: np.ndarray, w: int, h: int
) -> tuple[np.ndarray, tuple[int, int, int, int]] | tuple[None, None]:
    """(G^-1 (3, 3), inclusive pixel bbox (x0, y0, x1, y1)) of a plane seen through K (3, 3),
    R (3, 3), t (3,) on a (w, h) grid, or (None, None) if invisible/degenerate."""
    o_c, u_c, v_c = R @ plane.origin + t, R @ plane.u_axis, R @ plane.v_axis
    M = np.column_stack([u_c, v_c, o_c])
    # det(M) = (u_c x v_c) . o_c = signed distance of the camera centre to the plane * |u x v|
    if abs(np.linalg.det(M)) < 1e-9 * np.linalg.norm(np.cross(u_c, v_c)):
        return None, None
    poly = _clip_near(np.stack([o_c, o_c + u_c, o_c + u_c + v_c, o_c + v_c]), _Z_NEAR)
    if len(poly) == 0:
        return None, None
    p = poly @ K.T
    xy = p[:, :2] / p[:, 2:3]
    x0, y0 = np.floor(xy.min(0)).astype(np.int64) - 1
    x1, y1 = np.ceil(xy.max(0)).astype(np.int64) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if x0 > x1 or y0 > y1:
        return None, None
    return np.linalg.inv(K @ M), (int(x0), int(y0), int(x1), int(y1))


def _affine_grid(g: np.ndarray, x0: int, y0: int, x1: int, y1: int, dtype: type[np.floating]) -> np.ndarray:
    """(y1 - y0 + 1, x1 - x0 + 1) array ``g[0] * x + g[1] * y + g[2]`` over pixel rows y0..y1,
    columns x0..x1 (``g``: (3,) row of G^-1), computed in ``dtype``."""
    xs = np.arange(x0, x1 + 1, dtype=dtype)
    ys = np.arange(y0, y1 + 1, dtype=dtype)
    return dtype(g[0]) * xs[None, :] + (dtype(g[1]) * ys + dtype(g[2]))[:, None]


def _rasterize(
    scene: Scene, K: np.ndarray, R: np.ndarray, t: np.ndarray, w: int, h: int, dtype: type[np.floating]
) -> _Raster:
    """Z-buffer all planes on a (w, h) pixel grid seen through K (inverse-depth buffer)."""
    inv = np.zeros((h, w), dtype=dtype)
    idx = np.full((h, w), -1, dtype=np.int16)
    ginvs, bboxes = [], []
    inv_far_limit = dtype(1.0 / _Z_NEAR)
    for i, plane in enumerate(scene.planes):
        ginv, bbox = _plane_setup(plane, K, R, t, w, h)
        ginvs.append(ginv)
        bboxes.append(bbox)
        if ginv is None or bbox is None:  # both or neither
            continue
        x0, y0, x1, y1 = bbox
        q2 = _affine_grid(ginv[2], x0, y0, x1, y1, dtype)
        sub_inv = inv[y0 : y1 + 1, x0 : x1 + 1]
        mask = (q2 > sub_inv) & (q2 <= inv_far_limit)
        if not mask.any():
            continue
        q0 = _affine_grid(ginv[0], x0, y0, x1, y1, dtype)
        mask &= (q0 >= 0) & (q0 <= q2)
        q1 = _affine_grid(ginv[1], x0, y0, x1, y1, dtype)
        mask &= (q1 >= 0) & (q1 <= q2)
        np.copyto(sub_inv, q2, where=mask)
        np.copyto(idx[y0 : y1 + 1, x0 : x1 + 1], np.int16(i), where=mask)
    return _Raster(inv, idx, ginvs, bboxes)


_PYRAMIDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pyramid(plane: Plane, levels: int) -> list[np.ndarray]:
    """Mip levels 0..levels of the plane texture (cv2.pyrDown; level-L texel i <-> level-0 2^L i)."""
    pyr = _PYRAMIDS.get(plane)
    if pyr is None:
        pyr = [plane.texture]
        _PYRAMIDS[plane] = pyr
    while len(pyr) <= levels and min(pyr[-1].shape[:2]) >= 4:
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def _shade(scene: Scene, raster: _Raster, image: np.ndarray) -> None:
    """Fill ``image`` (h, w, 3) in place with mip-mapped texture samples of the winning planes.

    Level of detail per pixel: ``lod = log2(sqrt|det J|)`` of the pixel -> texel map, with
    ``|det J| = |det M| / q2^3`` (``M = diag(Wt-1, Ht-1, 1) G^-1``, ``q2`` = inverse depth);
    mip level ``clip(floor(lod), 0, top)``. Since lod only depends on q2, each level is a
    band of inverse depth, so levels are selected by comparing q2 with thresholds.
    """
    for i, plane in enumerate(scene.planes):
        ginv, bbox = raster.ginv[i], raster.bbox[i]
        if ginv is None or bbox is None:  # both or neither
            continue
        x0, y0, x1, y1 = bbox
        mine = raster.index[y0 : y1 + 1, x0 : x1 + 1] == i
        rows = np.flatnonzero(mine.any(axis=1))
        if len(rows) == 0:
            continue
        cols = np.flatnonzero(mine.any(axis=0))
        mine = mine[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        x0, x1, y0, y1 = x0 + cols[0], x0 + cols[-1], y0 + rows[0], y0 + rows[-1]
        th, tw = plane.texture.shape[:2]
        q2 = np.maximum(_affine_grid(ginv[2], x0, y0, x1, y1, np.float32), np.float32(1e-9))
        r = np.float32(1.0) / q2
        tx = _affine_grid(ginv[0] * (tw - 1), x0, y0, x1, y1, np.float32) * r
        ty = _affine_grid(ginv[1] * (th - 1), x0, y0, x1, y1, np.float32) * r
        c = 0.5 * math.log2(abs(np.linalg.det(ginv)) * (tw - 1) * (th - 1))
        q2_mine = q2[mine]
        lod_hi = c - 1.5 * math.log2(float(q2_mine.min()))
        lod_lo = c - 1.5 * math.log2(float(q2_mine.max()))
        pyr = _pyramid(plane, max(0, math.floor(lod_hi)))
        top = len(pyr) - 1
        lev_lo = min(max(math.floor(lod_lo), 0), top)
        lev_hi = min(max(math.floor(lod_hi), 0), top)
        out = image[y0 : y1 + 1, x0 : x1 + 1]
        for lev in range(lev_lo, lev_hi + 1):
            sel = mine
            if lev > lev_lo:  # lod >= lev  <=>  q2 <= 2^((c - lev) / 1.5)
                sel = sel & (q2 <= np.float32(2.0 ** ((c - lev) / 1.5)))
            if lev < lev_hi:
                sel = sel & (q2 > np.float32(2.0 ** ((c - lev - 1) / 1.5)))
            rr = np.flatnonzero(sel.any(axis=1))
            if len(rr) == 0:
                continue
            ra, rb = rr[0], rr[-1] + 1
            scale = np.float32(0.5**lev)
            vals = cv2.remap(
                pyr[lev], tx[ra:rb] * scale, ty[ra:rb] * scale, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            np.copyto(out[ra:rb], vals, where=sel[ra:rb, :, None])


def render_depth(scene: Scene, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Exact (depth (H, W) float32 with inf = empty, plane_index (H, W) int16) at pixel centres."""
    r = _rasterize(scene, camera.K, camera.R, camera.t, camera.width, camera.height, np.float64)
    with np.errstate(divide="ignore"):
        depth = np.where(r.index >= 0, 1.0 / r.inv_depth, np.inf).astype(np.float32)
    return depth, r.index


def render(scene: Scene, camera: Camera, supersample: int = 2) -> RenderedView:
    """Render colour, exact depth and plane index of ``scene`` seen by ``camera``.

    Colour is rendered on a ``supersample`` x finer grid whose pixel ``xs`` has centre
    ``(xs + 0.5) / s - 0.5`` in final pixel coordinates (i.e. K_s = A K with
    ``A = [[s, 0, (s-1)/2], [0, s, (s-1)/2], [0, 0, 1]]``), then reduced with INTER_AREA,
    so every final pixel averages the s x s samples centred on it.
    """
    s = int(supersample)
    if s < 1:
        raise ValueError("supersample must be >= 1")
    w, h = camera.width, camera.height
    final = _rasterize(scene, camera.K, camera.R, camera.t, w, h, np.float64)
    if s == 1:
        fine, K_s, ws, hs = final, camera.K, w, h
    else:
        A = np.array([[s, 0.0, (s - 1) / 2.0], [0.0, s, (s - 1) / 2.0], [0.0, 0.0, 1.0]])
        K_s, ws, hs = A @ camera.K, w * s, h * s
        fine = _rasterize(scene, K_s, camera.R, camera.t, ws, hs, np.float32)
    image: np.ndarray = np.empty((hs, ws, 3), np.uint8)
    image[:] = np.asarray(scene.background, dtype=np.uint8)
    _shade(scene, fine, image)
    if s > 1:
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    with np.errstate(divide="ignore"):
        depth = np.where(final.index >= 0, 1.0 / final.inv_depth, np.inf).astype(np.float32)
    return RenderedView(image=image, depth=depth, plane_index=final.index)


def render_sequence(scene: Scene, cameras: Sequence[Camera], supersample: int = 2) -> list[RenderedView]:
    """:func:`render` for each camera (texture mip pyramids are shared)."""
    return [render(scene, cam, supersample=supersample) for cam in cameras]
