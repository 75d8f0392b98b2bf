"""Random textured scene layouts (room, boxes on a ground plane, street canyon) and their textures.

Each layout is a function ``(rng, textures) -> Scene`` (see :data:`LAYOUTS`) that builds
its planes in the world frame of :mod:`~cvlearned.synthetic.scene_geometry` and leaves a
documented camera zone free; textures are random crops of the given photos.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from cvlearned.synthetic.photos import photo_source
from cvlearned.synthetic.scene_geometry import Plane, Scene

__all__ = ["box_planes", "room_scene", "box_scene", "street_canyon_scene", "LAYOUTS"]


def _texture(
    rng: np.random.Generator,
    textures: Sequence[np.ndarray],
    width_m: float,
    height_m: float,
    px_per_m: float,
    max_side: int = 1024,
) -> np.ndarray:
    """Random crop of a random texture, resized to ~px_per_m texels per metre (capped).

    Returns (Ht, Wt, 3) uint8 BGR with sides >= 8 and <= ``max_side``.
    """
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


def _wall(
    rng: np.random.Generator,
    textures: Sequence[np.ndarray],
    origin: Sequence[float] | np.ndarray,
    u: Sequence[float] | np.ndarray,
    v: Sequence[float] | np.ndarray,
    px_per_m: float,
    max_side: int = 1024,
) -> Plane:
    """Plane ``origin + a * u + b * v`` (3-vectors, metres) with a random texture at ~px_per_m."""
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


def _default_textures(
    photos: Sequence[tuple[str, np.ndarray] | np.ndarray] | str | Path | None,
) -> list[np.ndarray]:
    """Texture images from ``photos``: (name, image) tuples or images as given, a folder path,
    or None = the bundled photos (via :func:`~cvlearned.synthetic.photos.photo_source`)."""
    if photos is None or isinstance(photos, (str, Path)):
        return [img for _, img in photo_source(photos)]
    out = []
    for p in photos:
        out.append(p[1] if isinstance(p, tuple) else p)
    if not out:
        raise ValueError("no photos given")
    return out
