"""A small exact renderer of textured piecewise-planar 3D scenes.

Conventions
-----------
- World frame (all layouts): x east, y north (into the scene), z up; metres.
- Cameras follow OpenCV: ``X_cam = R @ X_world + t``, camera x right, y down, z forward;
  pixel ``p ~ K @ X_cam`` with integer coordinates at pixel centres, so a (w, h) image
  covers ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``.
- A :class:`Plane` is the rectangle ``origin + a * u_axis + b * v_axis`` with a, b in
  [0, 1]; the centre of texture pixel (column, row) = ``(a * (Wt - 1), b * (Ht - 1))``.
  So the texture's corner pixel centres sit exactly on the rectangle's corners, and the
  texture's top row runs along ``u_axis`` from ``origin``.
- Depth maps store camera z-depth (float32), ``np.inf`` where no surface is seen.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cvlearned.datasets.types import PosePair
from cvlearned.synthetic.photos import photo_source

__all__ = [
    "Plane",
    "Camera",
    "Scene",
    "RenderedView",
    "intrinsics",
    "render",
    "render_depth",
    "render_sequence",
    "relative_pose",
    "project_correspondences",
    "warp_points",
    "box_planes",
    "room_scene",
    "box_scene",
    "street_canyon_scene",
    "LAYOUTS",
    "sample_pair_cameras",
    "forward_motion_sequence",
    "rotating_sequence",
    "make_scene_pairs",
]

_Z_NEAR = 1e-3  # metres; surfaces closer than this are not drawn


def _vec3(v: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite 3-vector, got {v!r}")
    return a


# ----------------------------------------------------------------------------- types


@dataclass(frozen=True, eq=False)
class Plane:
    """Textured rectangle ``origin + a * u_axis + b * v_axis``, a, b in [0, 1].

    ``texture`` is (Ht, Wt, 3) uint8 BGR (stored as a read-only copy); texture pixel centre
    ``(a * (Wt - 1), b * (Ht - 1))`` is painted at plane point (a, b).
    """

    origin: np.ndarray  # (3,)
    u_axis: np.ndarray  # (3,)
    v_axis: np.ndarray  # (3,)
    texture: np.ndarray  # (Ht, Wt, 3) uint8 BGR

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", _vec3(self.origin, "origin"))
        object.__setattr__(self, "u_axis", _vec3(self.u_axis, "u_axis"))
        object.__setattr__(self, "v_axis", _vec3(self.v_axis, "v_axis"))
        tex = np.asarray(self.texture)
        if tex.ndim == 2:
            tex = cv2.cvtColor(tex, cv2.COLOR_GRAY2BGR)
        if tex.dtype != np.uint8 or tex.ndim != 3 or tex.shape[2] != 3 or min(tex.shape[:2]) < 2:
            raise ValueError(f"texture must be (H>=2, W>=2, 3) uint8, got {tex.dtype} {tex.shape}")
        tex = tex.copy()
        tex.flags.writeable = False
        object.__setattr__(self, "texture", tex)
        if np.linalg.norm(np.cross(self.u_axis, self.v_axis)) < 1e-12:
            raise ValueError("u_axis and v_axis must span a plane")

    @property
    def normal(self) -> np.ndarray:
        """(3,) unit normal ``u x v / |u x v|``."""
        n = np.cross(self.u_axis, self.v_axis)
        return n / np.linalg.norm(n)

    def corners(self) -> np.ndarray:
        """(4, 3) corners at (a, b) = (0, 0), (1, 0), (1, 1), (0, 1)."""
        o, u, v = self.origin, self.u_axis, self.v_axis
        return np.stack([o, o + u, o + u + v, o + v])


def intrinsics(width: int, height: int, fov_deg: float = 60.0) -> np.ndarray:
    """(3, 3) pinhole K with horizontal field of view ``fov_deg`` and square pixels.

    ``cx = (w - 1) / 2``, ``cy = (h - 1) / 2`` (pixel-centre convention);
    ``f = (w / 2) / tan(fov / 2)`` since the image spans ``w`` pixels edge to edge.
    """
    if not 0 < fov_deg < 180:
        raise ValueError(f"fov_deg must be in (0, 180), got {fov_deg}")
    f = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True, eq=False)
class Camera:
    """Pinhole camera: ``X_cam = R @ X_world + t``, ``p ~ K @ X_cam``, image (width, height)."""

    K: np.ndarray  # (3, 3)
    R: np.ndarray  # (3, 3) world -> camera rotation
    t: np.ndarray  # (3,)
    width: int
    height: int

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        R = np.asarray(self.R, dtype=np.float64)
        if K.shape != (3, 3) or abs(K[2, 2] - 1) > 1e-9 or np.any(K[2, :2] != 0):
            raise ValueError("K must be (3, 3) with last row (0, 0, 1)")
        if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
            raise ValueError("R must be a (3, 3) rotation matrix")
        if int(self.width) < 1 or int(self.height) < 1:
            raise ValueError("width and height must be positive")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", _vec3(self.t, "t"))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, ``-R^T t``."""
        return -self.R.T @ self.t

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.width, self.height

    def project(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (N, 3) -> (pixels (N, 2), camera depth z (N,))."""
        Xc = np.asarray(X, dtype=np.float64).reshape(-1, 3) @ self.R.T + self.t
        p = Xc @ self.K.T
        with np.errstate(divide="ignore", invalid="ignore"):
            return p[:, :2] / p[:, 2:3], Xc[:, 2]

    @staticmethod
    def look_at(
        eye: Sequence[float],
        target: Sequence[float],
        up: Sequence[float] = (0.0, 0.0, 1.0),
        K: np.ndarray | None = None,
        width: int = 640,
        height: int = 480,
        fov_deg: float = 60.0,
    ) -> Camera:
        """Camera at ``eye`` looking at ``target`` with image-up along ``up`` (no roll).

        ``K`` defaults to :func:`intrinsics` (width, height, fov_deg).
        """
        eye_v, target_v, up_v = _vec3(eye, "eye"), _vec3(target, "target"), _vec3(up, "up")
        fwd = target_v - eye_v
        if np.linalg.norm(fwd) < 1e-12:
            raise ValueError("eye and target coincide")
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, up_v)
        if np.linalg.norm(right) < 1e-9:
            raise ValueError("viewing direction is parallel to up")
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        R = np.stack([right, down, fwd])
        K = intrinsics(width, height, fov_deg) if K is None else K
        return Camera(K, R, -R @ eye_v, width, height)


@dataclass(frozen=True, eq=False)
class Scene:
    """A set of textured planes; ``background`` (BGR) fills pixels that see no plane."""

    planes: tuple[Plane, ...]
    background: tuple[int, int, int] = (0, 0, 0)
    kind: str = ""  # layout name ("room", "box", "street") or ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "planes", tuple(self.planes))


@dataclass(frozen=True, eq=False)
class RenderedView:
    """Output of :func:`render`.

    image: (H, W, 3) uint8 BGR; depth: (H, W) float32 camera z (``np.inf`` = no surface);
    plane_index: (H, W) int16 index into ``scene.planes`` (-1 = no surface).
    """

    image: np.ndarray
    depth: np.ndarray
    plane_index: np.ndarray


# ----------------------------------------------------------------------------- rasteriser


@dataclass
class _Raster:
    inv_depth: np.ndarray  # (h, w) float; 0 where empty
    index: np.ndarray  # (h, w) int16
    ginv: list  # per plane: (3, 3) G^-1 or None
    bbox: list  # per plane: (x0, y0, x1, y1) inclusive or None


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


def _plane_setup(plane: Plane, K: np.ndarray, R: np.ndarray, t: np.ndarray, w: int, h: int):
    """(G^-1, bbox) of a plane in a camera, or (None, None) if invisible/degenerate."""
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


def _affine_grid(g: np.ndarray, x0: int, y0: int, x1: int, y1: int, dtype) -> np.ndarray:
    """g[0] * x + g[1] * y + g[2] over pixel rows y0..y1, columns x0..x1."""
    xs = np.arange(x0, x1 + 1, dtype=dtype)
    ys = np.arange(y0, y1 + 1, dtype=dtype)
    return dtype(g[0]) * xs[None, :] + (dtype(g[1]) * ys + dtype(g[2]))[:, None]


def _rasterize(scene: Scene, K: np.ndarray, R: np.ndarray, t: np.ndarray, w: int, h: int, dtype) -> _Raster:
    """Z-buffer all planes on a (w, h) pixel grid seen through K (inverse-depth buffer)."""
    inv = np.zeros((h, w), dtype=dtype)
    idx = np.full((h, w), -1, dtype=np.int16)
    ginvs, bboxes = [], []
    inv_far_limit = dtype(1.0 / _Z_NEAR)
    for i, plane in enumerate(scene.planes):
        ginv, bbox = _plane_setup(plane, K, R, t, w, h)
        ginvs.append(ginv)
        bboxes.append(bbox)
        if ginv is None:
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
        if ginv is None:
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
    image = np.empty((hs, ws, 3), np.uint8)
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


# ----------------------------------------------------------------------------- geometry


def relative_pose(cam0: Camera, cam1: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,)) with ``X1 = R @ X0 + t`` between the two camera frames."""
    R = cam1.R @ cam0.R.T
    return R, cam1.t - R @ cam0.t


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
    with np.errstate(invalid="ignore"):
        return (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


def _transfer(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, cam0: Camera, cam1: Camera
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels (x, y) of cam0 at depth z -> (x1, y1, z1) in cam1."""
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


# ----------------------------------------------------------------------------- layouts


def _texture(
    rng: np.random.Generator,
    textures: Sequence[np.ndarray],
    width_m: float,
    height_m: float,
    px_per_m: float,
    max_side: int = 1024,
) -> np.ndarray:
    """Random crop of a random texture, resized to ~px_per_m texels per metre (capped)."""
    src = textures[int(rng.integers(len(textures)))]
    if src.ndim == 2:
        src = cv2.cvtColor(src, cv2.COLOR_GRAY2BGR)
    tw, th = width_m * px_per_m, height_m * px_per_m
    k = min(1.0, max_side / max(tw, th))
    tw, th = max(8, round(tw * k)), max(8, round(th * k))
    sh, sw = src.shape[:2]
    aspect = tw / th
    cw_max = min(sw, sh * aspect)
    f = rng.uniform(0.6, 1.0)
    cw = max(2.0, cw_max * f)
    ch = max(2.0, cw / aspect)
    cx0 = rng.uniform(0, max(sw - cw, 0))
    cy0 = rng.uniform(0, max(sh - ch, 0))
    crop = src[int(cy0) : int(cy0 + ch), int(cx0) : int(cx0 + cw)]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if tw < crop.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (tw, th), interpolation=interp)


def _wall(rng, textures, origin, u, v, px_per_m, max_side=1024) -> Plane:
    tex = _texture(rng, textures, float(np.linalg.norm(u)), float(np.linalg.norm(v)), px_per_m, max_side)
    return Plane(np.asarray(origin, float), np.asarray(u, float), np.asarray(v, float), tex)


def box_planes(
    rng: np.random.Generator,
    textures: Sequence[np.ndarray],
    center_xy: Sequence[float],
    size: Sequence[float],
    yaw: float = 0.0,
    base_z: float = 0.0,
    px_per_m: float = 200.0,
) -> list[Plane]:
    """Four side faces and the top of a box (sx, sy, sz) standing on ``z = base_z``.

    Side textures are upright (v points down) as seen from outside the box.
    """
    sx, sy, sz = (float(s) for s in size)
    c, s = math.cos(yaw), math.sin(yaw)
    ex = np.array([c, s, 0.0]) * sx
    ey = np.array([-s, c, 0.0]) * sy
    ez = np.array([0.0, 0.0, sz])
    p = np.array([center_xy[0], center_xy[1], base_z]) - ex / 2 - ey / 2
    faces = [
        (p + ez, ex, -ez),  # -ey side, seen looking +ey: right = +ex
        (p + ex + ey + ez, -ex, -ez),  # +ey side
        (p + ey + ez, -ey, -ez),  # -ex side
        (p + ex + ez, ey, -ez),  # +ex side
        (p + ey + ez, ex, -ey),  # top
    ]
    return [_wall(rng, textures, o, u, v, px_per_m) for o, u, v in faces]


def _place_boxes(
    rng: np.random.Generator,
    n: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    size_range: tuple[float, float],
    height_range: tuple[float, float],
) -> list[tuple[tuple[float, float], tuple[float, float, float], float]]:
    """Random (centre_xy, size, yaw) boxes whose footprints stay inside the x/y ranges."""
    boxes = []
    for _ in range(n):
        sx, sy = rng.uniform(*size_range, 2)
        sz = rng.uniform(*height_range)
        yaw = rng.uniform(0, math.pi)
        r = 0.5 * math.hypot(sx, sy)
        cx = rng.uniform(x_range[0] + r, max(x_range[0] + r, x_range[1] - r))
        cy = rng.uniform(y_range[0] + r, max(y_range[0] + r, y_range[1] - r))
        boxes.append(((cx, cy), (sx, sy, sz), yaw))
    return boxes


def room_scene(rng: np.random.Generator, textures: Sequence[np.ndarray], n_boxes: int = 2) -> Scene:
    """Textured room with ``n_boxes`` boxes.

    Room: x in [-W/2, W/2] (W ~ U(4.5, 7) m), y in [0, D] (D ~ U(5.5, 8) m), z in [0, Hc]
    (Hc ~ U(2.5, 3.2) m): floor, ceiling and 4 walls. Boxes (0.5-1.2 m wide, 0.4-1.3 m
    high) stand on the floor with footprints in y >= 2.6 m, leaving the camera zone
    (x in [-1.5, 1.5], y in [0.3, 2.2], z in [0.9, 2.1]) free.
    """
    W, D, Hc = rng.uniform(4.5, 7.0), rng.uniform(5.5, 8.0), rng.uniform(2.5, 3.2)
    x0, x1 = -W / 2, W / 2
    ppm = 160.0
    planes = [
        _wall(rng, textures, (x0, 0, 0), (W, 0, 0), (0, D, 0), ppm),  # floor
        _wall(rng, textures, (x0, D, Hc), (W, 0, 0), (0, -D, 0), ppm),  # ceiling
        _wall(rng, textures, (x0, D, Hc), (W, 0, 0), (0, 0, -Hc), ppm),  # far wall (y = D)
        _wall(rng, textures, (x1, 0, Hc), (-W, 0, 0), (0, 0, -Hc), ppm),  # near wall (y = 0)
        _wall(rng, textures, (x0, 0, Hc), (0, D, 0), (0, 0, -Hc), ppm),  # left wall (x = -W/2)
        _wall(rng, textures, (x1, D, Hc), (0, -D, 0), (0, 0, -Hc), ppm),  # right wall
    ]
    for cxy, size, yaw in _place_boxes(rng, n_boxes, (x0 + 0.2, x1 - 0.2), (2.6, D - 0.2), (0.5, 1.2), (0.4, 1.3)):
        planes += box_planes(rng, textures, cxy, size, yaw)
    return Scene(tuple(planes), background=(0, 0, 0), kind="room")


def box_scene(rng: np.random.Generator, textures: Sequence[np.ndarray], n_boxes: int | None = None) -> Scene:
    """Textured boxes on a ground plane in front of a back wall (outdoor-like, grey sky).

    Ground: x in [-8, 8], y in [-4, 14] m (2 x 2 tiles), z = 0. Back wall at
    y = Yb ~ U(9, 12) m, x in [-8, 8], height U(3, 5) m (2 segments). 3-6 boxes
    (0.5-1.6 m wide, 0.4-1.8 m high) with footprints in x in [-4, 4], y in [2.2, 8].
    Camera zone (x in [-2.5, 2.5], y in [-2.5, 1.8], z in [0.5, 2.6]) is free.
    """
    n = int(rng.integers(3, 7)) if n_boxes is None else n_boxes
    yb, hw = rng.uniform(9.0, 12.0), rng.uniform(3.0, 5.0)
    planes = []
    for gx in (-8.0, 0.0):
        for gy in (-4.0, 5.0):
            planes.append(_wall(rng, textures, (gx, gy, 0), (8, 0, 0), (0, 9, 0), 120.0))
    for wx in (-8.0, 0.0):
        planes.append(_wall(rng, textures, (wx, yb, hw), (8, 0, 0), (0, 0, -hw), 120.0))
    for cxy, size, yaw in _place_boxes(rng, n, (-4.0, 4.0), (2.2, 8.0), (0.5, 1.6), (0.4, 1.8)):
        planes += box_planes(rng, textures, cxy, size, yaw)
    return Scene(tuple(planes), background=(200, 190, 180), kind="box")


def street_canyon_scene(
    rng: np.random.Generator,
    textures: Sequence[np.ndarray],
    length: float | None = None,
    n_cars: int | None = None,
) -> Scene:
    """Street canyon along +y: ground, two facades of buildings, far end wall, parked cars.

    Street width w ~ U(9, 14) m (x in [-w/2, w/2]); ground z = 0 from y = -10 to
    ``length`` (default U(50, 80) m) in 10 m tiles; facades at x = +-w/2 made of buildings
    6-15 m long and 6-15 m high; end wall at y = length; 0-4 parked cars
    (1.8 x 4.2 x 1.5 m boxes) along the kerbs at x = +-(w/2 - 1.1). The central lane
    |x| < 2.5 m, z in [0.8, 2.5] m is free for cameras. Sky-blue background.
    """
    L = float(rng.uniform(50.0, 80.0) if length is None else length)
    w = rng.uniform(9.0, 14.0)
    planes = []
    y = -10.0
    while y < L:
        seg = min(10.0, L - y)
        planes.append(_wall(rng, textures, (-w / 2, y, 0), (w, 0, 0), (0, seg, 0), 80.0))
        y += seg
    top = 0.0
    for side in (-1.0, 1.0):
        y = -10.0
        while y < L:
            seg = min(rng.uniform(6.0, 15.0), L - y)
            hb = rng.uniform(6.0, 15.0)
            top = max(top, hb)
            if side < 0:  # seen looking -x: right = +y
                o, u = (-w / 2, y, hb), (0, seg, 0)
            else:  # seen looking +x: right = -y
                o, u = (w / 2, y + seg, hb), (0, -seg, 0)
            planes.append(_wall(rng, textures, o, u, (0, 0, -hb), 60.0))
            y += seg
    planes.append(_wall(rng, textures, (-w / 2, L, top), (w, 0, 0), (0, 0, -top), 60.0))
    n = int(rng.integers(0, 5)) if n_cars is None else n_cars
    for _ in range(n):
        side = rng.choice([-1.0, 1.0])
        cy = rng.uniform(8.0, max(8.0, L - 10.0))
        yaw = math.pi / 2 + rng.normal(0, 0.03)
        planes += box_planes(rng, textures, (side * (w / 2 - 1.1), cy), (1.8, 4.2, 1.5), yaw, px_per_m=120.0)
    return Scene(tuple(planes), background=(235, 206, 135), kind="street")


#: Layout name -> ``(rng, textures) -> Scene``.
LAYOUTS: dict[str, Callable[[np.random.Generator, Sequence[np.ndarray]], Scene]] = {
    "room": room_scene,
    "box": box_scene,
    "street": street_canyon_scene,
}

# Per layout: eye box, target box and the free zone a moved camera must stay in, each
# ((xmin, ymin, zmin), (xmax, ymax, zmax)) in world metres.
_CAMERA_ZONES = {
    "room": dict(eye=((-1.0, 0.6, 1.2), (1.0, 1.6, 1.8)), target=((-1.5, 3.5, 0.5), (1.5, 4.5, 1.5)),
                 safe=((-1.5, 0.3, 0.9), (1.5, 2.2, 2.1))),
    "box": dict(eye=((-1.5, -1.0, 1.0), (1.5, 0.5, 2.0)), target=((-1.5, 4.5, 0.2), (1.5, 6.5, 1.0)),
                safe=((-2.5, -2.5, 0.5), (2.5, 1.8, 2.6))),
    "street": dict(eye=((-1.5, 0.0, 1.3), (1.5, 4.0, 1.8)), target=((-2.0, 12.0, 1.0), (2.0, 25.0, 4.0)),
                   safe=((-2.5, -3.0, 0.8), (2.5, 8.0, 2.5))),
}


def _uniform_box(rng: np.random.Generator, box) -> np.ndarray:
    return rng.uniform(np.asarray(box[0]), np.asarray(box[1]))


def _in_box(p: np.ndarray, box) -> bool:
    return bool(np.all(p >= np.asarray(box[0])) and np.all(p <= np.asarray(box[1])))


def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    R, _ = cv2.Rodrigues((axis / np.linalg.norm(axis) * angle).reshape(3, 1))
    return R


def sample_pair_cameras(
    rng: np.random.Generator,
    scene_kind: str,
    size: tuple[int, int] = (640, 480),
    fov_deg: float = 60.0,
    baseline: tuple[float, float] = (0.2, 1.0),
    rotation_deg: tuple[float, float] = (5.0, 25.0),
) -> tuple[Camera, Camera]:
    """Two cameras for a layout: camera 0 looks from the layout's camera zone at its target
    zone; camera 1 is moved by ``baseline`` metres (random direction, mostly horizontal)
    and rotated by exactly an angle in ``rotation_deg`` (mostly yaw), staying inside the
    free zone and still seeing camera 0's target point in its central 70%.
    """
    if scene_kind not in _CAMERA_ZONES:
        raise ValueError(f"unknown scene kind {scene_kind!r}; choose from {sorted(_CAMERA_ZONES)}")
    zones = _CAMERA_ZONES[scene_kind]
    w, h = int(size[0]), int(size[1])
    K = intrinsics(w, h, fov_deg)
    cam0 = None
    for _ in range(1000):
        eye0, target = _uniform_box(rng, zones["eye"]), _uniform_box(rng, zones["target"])
        cam0 = Camera.look_at(eye0, target, (0, 0, 1), K, w, h)
        for _ in range(20):
            d = rng.normal(size=3) * (1.0, 1.0, 0.3)
            eye1 = eye0 + rng.uniform(*baseline) * d / np.linalg.norm(d)
            if not _in_box(eye1, zones["safe"]):
                continue
            axis = rng.normal(size=3) * (0.25, 1.0, 0.15)  # camera frame: y = image down -> yaw
            R1 = _axis_angle(axis, math.radians(rng.uniform(*rotation_deg))) @ cam0.R
            cam1 = Camera(K, R1, -R1 @ eye1, w, h)
            (px, py), z = (v[0] for v in cam1.project(target[None]))
            if z > 0 and 0.15 * w <= px <= 0.85 * w and 0.15 * h <= py <= 0.85 * h:
                return cam0, cam1
    raise RuntimeError("could not sample a camera pair")  # pragma: no cover


def _default_textures(photos) -> list[np.ndarray]:
    if photos is None or isinstance(photos, (str, Path)):
        return [img for _, img in photo_source(photos)]
    out = []
    for p in photos:
        out.append(p[1] if isinstance(p, tuple) else p)
    if not out:
        raise ValueError("no photos given")
    return out


def forward_motion_sequence(
    rng: np.random.Generator,
    n_frames: int,
    size: tuple[int, int] = (640, 480),
    step_m: float = 1.0,
    fov_deg: float = 60.0,
    textures: Sequence[np.ndarray] | None = None,
) -> tuple[Scene, list[Camera]]:
    """KITTI-like sequence: a camera 1.5-1.7 m high drives forward along the street canyon.

    Frame k sits at y = k * step_m (x fixed in [-1, 1] m), looking down the street with
    small random yaw/pitch jitter (< ~2 deg). The street is ``n_frames * step_m + 40`` m long.
    """
    tex = _default_textures(textures)
    scene = street_canyon_scene(rng, tex, length=n_frames * step_m + 40.0)
    w, h = int(size[0]), int(size[1])
    K = intrinsics(w, h, fov_deg)
    x, z = rng.uniform(-1.0, 1.0), rng.uniform(1.5, 1.7)
    cams = []
    for k in range(n_frames):
        eye = np.array([x, k * step_m, z])
        yaw, pitch = rng.normal(0, 0.015, 2)
        target = eye + np.array([math.sin(yaw), math.cos(yaw), math.sin(pitch) - 0.02]) * 10.0
        cams.append(Camera.look_at(eye, target, (0, 0, 1), K, w, h))
    return scene, cams


def rotating_sequence(
    rng: np.random.Generator,
    n_frames: int,
    size: tuple[int, int] = (640, 480),
    yaw_step_deg: float = 10.0,
    fov_deg: float = 60.0,
    textures: Sequence[np.ndarray] | None = None,
) -> tuple[Scene, list[Camera]]:
    """Panorama sequence: pure rotation about a fixed camera centre inside a room.

    The centre is drawn in the room's camera zone; frame k has yaw ``yaw0 + k * yaw_step_deg``
    (about world z) and a fixed small downward pitch. All frames share the same centre.
    """
    tex = _default_textures(textures)
    scene = room_scene(rng, tex)
    w, h = int(size[0]), int(size[1])
    K = intrinsics(w, h, fov_deg)
    eye = _uniform_box(rng, _CAMERA_ZONES["room"]["eye"])
    yaw0 = rng.uniform(-30.0, 30.0)
    pitch = math.radians(rng.uniform(-15.0, 0.0))
    cams = []
    for k in range(n_frames):
        yaw = math.radians(yaw0 + k * yaw_step_deg)
        d = np.array([math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
        cams.append(Camera.look_at(eye, eye + d, (0, 0, 1), K, w, h))
    return scene, cams


def make_scene_pairs(
    n_pairs: int = 10,
    layout: str = "mixed",
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
    photos: Sequence[tuple[str, np.ndarray]] | str | None = None,
    min_overlap: float = 0.3,
    supersample: int = 2,
    fov_deg: float = 60.0,
) -> list[PosePair]:
    """Rendered :class:`PosePair` s with exact depth, pose and intrinsics.

    ``layout``: "room", "box", "street" or "mixed" (cycles room, box, street). Textures
    come from ``photos`` (list of (name, image), a folder path, or None = bundled). Camera
    pairs are resampled until at least ``min_overlap`` of view-0 pixels have a valid,
    unoccluded correspondence in view 1. K0 = K1, D = 0, (R, t) from :func:`relative_pose`.
    Pair ``i`` depends only on ``(seed, i)``.
    """
    kinds = ("room", "box", "street")
    if layout != "mixed" and layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {kinds + ('mixed',)}, got {layout!r}")
    textures = _default_textures(photos)
    pairs = []
    for i in range(n_pairs):
        rng = np.random.default_rng([seed, i])
        kind = kinds[i % 3] if layout == "mixed" else layout
        scene = LAYOUTS[kind](rng, textures)
        best = None
        for _ in range(30):
            cam0, cam1 = sample_pair_cameras(rng, kind, size, fov_deg=fov_deg)
            d0, _ = render_depth(scene, cam0)
            d1, _ = render_depth(scene, cam1)
            overlap = float(project_correspondences(d0, cam0, cam1, d1)[1].mean())
            if best is None or overlap > best[0]:
                best = (overlap, cam0, cam1)
            if overlap >= min_overlap:
                break
        _, cam0, cam1 = best
        v0, v1 = render(scene, cam0, supersample), render(scene, cam1, supersample)
        R, t = relative_pose(cam0, cam1)
        pairs.append(
            PosePair(
                name=f"{kind}_{i:04d}",
                image0=v0.image,
                image1=v1.image,
                K0=cam0.K.copy(),
                K1=cam1.K.copy(),
                R=R,
                t=t,
                D0=np.zeros(5),
                D1=np.zeros(5),
                depth0=v0.depth,
                depth1=v1.depth,
            )
        )
    return pairs
