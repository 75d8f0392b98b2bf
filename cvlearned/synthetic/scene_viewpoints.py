"""Camera placement in the scene layouts: random two-view pairs and camera sequences.

Each layout has a camera zone (eye and target boxes, and a free zone a moved camera must
stay in); :func:`sample_pair_cameras` draws a pair there, :func:`forward_motion_sequence`
and :func:`rotating_sequence` build a scene together with a camera path through it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from cvlearned.synthetic.scene_geometry import Camera, Scene, intrinsics
from cvlearned.synthetic.scene_layouts import _default_textures, room_scene, street_canyon_scene

__all__ = ["sample_pair_cameras", "forward_motion_sequence", "rotating_sequence"]

_Box = tuple[tuple[float, float, float], tuple[float, float, float]]

# Per layout: eye box, target box and the free zone a moved camera must stay in, each
# ((xmin, ymin, zmin), (xmax, ymax, zmax)) in world metres.
_CAMERA_ZONES: dict[str, dict[str, _Box]] = {
    "room": dict(eye=((-1.0, 0.6, 1.2), (1.0, 1.6, 1.8)), target=((-1.5, 3.5, 0.5), (1.5, 4.5, 1.5)),
                 safe=((-1.5, 0.3, 0.9), (1.5, 2.2, 2.1))),
    "box": dict(eye=((-1.5, -1.0, 1.0), (1.5, 0.5, 2.0)), target=((-1.5, 4.5, 0.2), (1.5, 6.5, 1.0)),
                safe=((-2.5, -2.5, 0.5), (2.5, 1.8, 2.6))),
    "street": dict(eye=((-1.5, 0.0, 1.3), (1.5, 4.0, 1.8)), target=((-2.0, 12.0, 1.0), (2.0, 25.0, 4.0)),
                   safe=((-2.5, -3.0, 0.8), (2.5, 8.0, 2.5))),
}


def _uniform_box(rng: np.random.Generator, box: _Box) -> np.ndarray:
    """(3,) point drawn uniformly in ``box``."""
    return rng.uniform(np.asarray(box[0]), np.asarray(box[1]))


def _in_box(p: np.ndarray, box: _Box) -> bool:
    """Whether the (3,) point ``p`` lies in ``box`` (bounds included)."""
    return bool(np.all(p >= np.asarray(box[0])) and np.all(p <= np.asarray(box[1])))


def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` radians about the (3,) ``axis`` (any length)."""
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
