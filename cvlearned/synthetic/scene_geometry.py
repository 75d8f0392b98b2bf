"""Scene and camera model of the planar-scene renderer: :class:`Plane`, :class:`Camera`, :class:`Scene`.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Plane", "Camera", "Scene", "intrinsics", "relative_pose"]


def _vec3(v: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """``v`` as a (3,) float64 array; ValueError (naming ``name``) unless it is a finite 3-vector."""
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite 3-vector, got {v!r}")
    return a


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
        eye: Sequence[float] | np.ndarray,
        target: Sequence[float] | np.ndarray,
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


def relative_pose(cam0: Camera, cam1: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,)) with ``X1 = R @ X0 + t`` between the two camera frames."""
    R = cam1.R @ cam0.R.T
    return R, cam1.t - R @ cam0.t
