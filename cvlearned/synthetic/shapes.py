"""Synthetic Shapes: gray images of simple primitives with exact corner labels.

The MagicPoint pre-training set of SuperPoint (DeTone et al., 2018): each image shows one
primitive type on a smooth random background — line segments, a polygon, several
polygons, a star, a checkerboard, a cube, stripes, ellipses (no corners) or plain noise
(no corners) — followed by Gaussian blur and noise. Labels are the (x, y) pixel positions
of the corners that are visible: polygon vertices, segment end points and crossings, star
centre and tips, checkerboard grid intersections, cube vertices, stripe end points.

Everything is seeded: image ``i`` of a set drawn with ``seed`` is
``render_shape(np.random.default_rng([seed, i]), size)`` whatever the order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = ["SHAPE_KINDS", "ShapeSample", "render_shape", "make_shapes_dataset", "load_or_make_shapes"]


@dataclass(frozen=True)
class ShapeSample:
    """One synthetic image: (H, W) uint8 gray, (N, 2) float32 corner positions (x, y), kind."""

    image: np.ndarray
    points: np.ndarray
    kind: str


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth random background: low-frequency noise around a random gray level."""
    small = rng.uniform(0, 255, (max(2, h // 20), max(2, w // 20))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    field = cv2.GaussianBlur(field, (0, 0), sigmaX=max(h, w) / 12.0)
    field = (field - field.mean()) * rng.uniform(0.1, 0.6) + rng.uniform(30, 225)
    return np.clip(field, 0, 255)


def _contrasting(rng: np.random.Generator, background: np.ndarray, min_diff: float = 40.0) -> float:
    level = float(background.mean())
    for _ in range(20):
        value = float(rng.uniform(0, 255))
        if abs(value - level) >= min_diff:
            return value
    return 255.0 - level


def _random_points(rng: np.random.Generator, n: int, h: int, w: int, margin: float = 0.05) -> np.ndarray:
    return np.stack([rng.uniform(margin * w, (1 - margin) * w, n), rng.uniform(margin * h, (1 - margin) * h, n)], 1)


def _segment_intersections(segments: np.ndarray) -> list[np.ndarray]:
    """Crossing points of every pair of (S, 2, 2) segments."""
    out = []
    for i in range(len(segments)):
        p, r = segments[i, 0], segments[i, 1] - segments[i, 0]
        for j in range(i + 1, len(segments)):
            q, s = segments[j, 0], segments[j, 1] - segments[j, 0]
            denom = r[0] * s[1] - r[1] * s[0]
            if abs(denom) < 1e-9:
                continue
            t = ((q - p)[0] * s[1] - (q - p)[1] * s[0]) / denom
            u = ((q - p)[0] * r[1] - (q - p)[1] * r[0]) / denom
            if 0 < t < 1 and 0 < u < 1:
                out.append(p + t * r)
    return out


def _poly(image: np.ndarray, pts: np.ndarray, value: float) -> None:
    cv2.fillPoly(image, [np.round(pts * 16).astype(np.int32)], value, lineType=cv2.LINE_AA, shift=4)


def _convex_polygon(rng: np.random.Generator, centre: np.ndarray, radius: float, n: int) -> np.ndarray:
    """n vertices on a jittered circle, sorted by angle, with interior angles well below 180°."""
    while True:
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        gaps = np.diff(np.r_[angles, angles[0] + 2 * np.pi])
        if gaps.min() > 0.5 and gaps.max() < np.pi * 0.9:
            break
    radii = radius * rng.uniform(0.7, 1.0, n)
    return centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


def _draw_lines(rng, image, h, w):
    n = int(rng.integers(2, 6))
    segments = np.stack([_random_points(rng, n, h, w), _random_points(rng, n, h, w)], 1)
    keep = np.linalg.norm(segments[:, 0] - segments[:, 1], axis=1) > 0.15 * min(h, w)
    segments = segments[keep]
    for seg in segments:
        thickness = int(rng.integers(1, 4))
        a, b = np.round(seg * 16).astype(np.int32)
        cv2.line(image, tuple(int(v) for v in a), tuple(int(v) for v in b), _contrasting(rng, image),
                 thickness, cv2.LINE_AA, shift=4)
    return list(segments.reshape(-1, 2)) + _segment_intersections(segments)


def _draw_polygon(rng, image, h, w):
    centre = _random_points(rng, 1, h, w, 0.3)[0]
    pts = _convex_polygon(rng, centre, rng.uniform(0.15, 0.4) * min(h, w), int(rng.integers(3, 6)))
    _poly(image, pts, _contrasting(rng, image))
    return list(pts)


def _draw_multiple_polygons(rng, image, h, w):
    placed: list[tuple[np.ndarray, float]] = []
    corners: list[np.ndarray] = []
    for _ in range(30):
        if len(placed) >= 4:
            break
        radius = rng.uniform(0.08, 0.2) * min(h, w)
        centre = _random_points(rng, 1, h, w, 0.1)[0]
        if any(np.linalg.norm(centre - c) < radius + r + 3 for c, r in placed):
            continue
        pts = _convex_polygon(rng, centre, radius, int(rng.integers(3, 6)))
        _poly(image, pts, _contrasting(rng, image))
        placed.append((centre, radius))
        corners += list(pts)
    return corners


def _draw_star(rng, image, h, w):
    centre = _random_points(rng, 1, h, w, 0.3)[0]
    n = int(rng.integers(3, 6))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    if np.diff(np.r_[angles, angles[0] + 2 * np.pi]).min() < 0.6:
        angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 2 * np.pi)
    radii = rng.uniform(0.2, 0.45, n) * min(h, w)
    tips = centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    value, thickness = _contrasting(rng, image), int(rng.integers(1, 4))
    for tip in tips:
        a, b = np.round(centre * 16).astype(np.int32), np.round(tip * 16).astype(np.int32)
        cv2.line(image, tuple(int(v) for v in a), tuple(int(v) for v in b), value, thickness, cv2.LINE_AA, shift=4)
    return [centre] + list(tips)


def _warp_points(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ H.T
    return p[:, :2] / p[:, 2:3]


def _random_perspective(rng, src: np.ndarray, h: int, w: int, amount: float) -> np.ndarray:
    dst = src + rng.uniform(-amount, amount, src.shape) * min(h, w)
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)


def _draw_checkerboard(rng, image, h, w):
    rows, cols = int(rng.integers(3, 7)), int(rng.integers(3, 7))
    cell = rng.uniform(0.1, 0.2) * min(h, w)
    origin = np.array([rng.uniform(-0.1, 0.3) * w, rng.uniform(-0.1, 0.3) * h])
    grid = np.stack(np.meshgrid(np.arange(cols + 1), np.arange(rows + 1)), -1).reshape(-1, 2) * cell + origin
    box = np.array([origin, origin + [cols * cell, 0], origin + [cols * cell, rows * cell], origin + [0, rows * cell]])
    H = _random_perspective(rng, box, h, w, 0.12)
    warped = _warp_points(H, grid).reshape(rows + 1, cols + 1, 2)
    colours: list[float] = [_contrasting(rng, image), 0.0]
    colours[1] = float(np.clip(colours[0] + rng.choice([-1, 1]) * rng.uniform(60, 150), 0, 255))
    if abs(colours[1] - colours[0]) < 40:
        colours[1] = 255.0 - colours[0]
    for r in range(rows):
        for c in range(cols):
            quad = np.array([warped[r, c], warped[r, c + 1], warped[r + 1, c + 1], warped[r + 1, c]])
            _poly(image, quad, colours[(r + c) % 2])
    return list(warped.reshape(-1, 2))


def _draw_cube(rng, image, h, w):
    """A cube seen from a random direction: three visible faces, seven visible vertices."""
    cube = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float) - 0.5
    ax, ay = rng.uniform(0.3, 1.2, 2) * rng.choice([-1, 1], 2)
    az = rng.uniform(0, 2 * np.pi)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    rot = rz @ ry @ rx
    scale = rng.uniform(0.25, 0.45) * min(h, w)
    centre = _random_points(rng, 1, h, w, 0.35)[0]
    p3 = cube @ rot.T
    pts = p3[:, :2] * scale + centre
    faces = [(0, 1, 3, 2), (4, 5, 7, 6), (0, 1, 5, 4), (2, 3, 7, 6), (0, 2, 6, 4), (1, 3, 7, 5)]
    # Orthographic view along +z: a face is visible when its outward normal has z < 0.
    visible_vertices: set[int] = set()
    for face in faces:
        corners3 = p3[list(face)]
        normal = np.cross(corners3[1] - corners3[0], corners3[2] - corners3[0])
        outward = corners3.mean(0)
        if np.dot(normal, outward) < 0:
            normal = -normal
        if normal[2] < -1e-6:
            _poly(image, pts[list(face)], _contrasting(rng, image, 30.0))
            visible_vertices.update(face)
    return [pts[i] for i in sorted(visible_vertices)]


def _draw_stripes(rng, image, h, w):
    n = int(rng.integers(3, 8))
    width = w / (2 * n)
    x_edges = np.cumsum(rng.uniform(0.6, 1.4, 2 * n)) * width
    y0, y1 = rng.uniform(0.05, 0.3) * h, rng.uniform(0.7, 0.95) * h
    H = _random_perspective(rng, np.array([[0, y0], [w, y0], [w, y1], [0, y1]]), h, w, 0.1)
    value = _contrasting(rng, image)
    corners = []
    for k in range(0, len(x_edges) - 1, 2):
        quad = np.array([[x_edges[k], y0], [x_edges[k + 1], y0], [x_edges[k + 1], y1], [x_edges[k], y1]])
        warped = _warp_points(H, quad)
        _poly(image, warped, value)
        corners += list(warped)
    return corners


def _draw_ellipses(rng, image, h, w):
    """Non-overlapping filled ellipses: smooth contours, no corners (and no junctions)."""
    placed: list[tuple[np.ndarray, float]] = []
    for _ in range(20):
        if len(placed) >= 5:
            break
        centre = _random_points(rng, 1, h, w, 0.1)[0]
        axes = rng.uniform(0.05, 0.25, 2) * min(h, w)
        if any(np.linalg.norm(centre - c) < axes.max() + r + 3 for c, r in placed):
            continue
        cv2.ellipse(image, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])), float(rng.uniform(0, 180)),
                    0, 360, _contrasting(rng, image), -1, cv2.LINE_AA)
        placed.append((centre, float(axes.max())))
    return []


def _draw_noise(rng, image, h, w):
    image[:] = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
    return []


_DRAWERS: dict[str, Callable] = {
    "lines": _draw_lines,
    "polygon": _draw_polygon,
    "multiple_polygons": _draw_multiple_polygons,
    "star": _draw_star,
    "checkerboard": _draw_checkerboard,
    "cube": _draw_cube,
    "stripes": _draw_stripes,
    "ellipses": _draw_ellipses,
    "noise": _draw_noise,
}
#: primitive kinds, each drawn with equal probability
SHAPE_KINDS: tuple[str, ...] = tuple(_DRAWERS)


def render_shape(rng: np.random.Generator, size: tuple[int, int] = (160, 120), kind: str | None = None) -> ShapeSample:
    """Render one image of ``size`` = (w, h) with its visible corner labels.

    Corners closer than 1 px to the border are dropped; after drawing, the image gets a
    Gaussian blur (sigma 0.5–1.5) and Gaussian noise (std 0–8 gray levels).
    """
    w, h = int(size[0]), int(size[1])
    kind = kind if kind is not None else str(rng.choice(SHAPE_KINDS))
    if kind not in _DRAWERS:
        raise ValueError(f"unknown shape kind {kind!r}; choose from {list(SHAPE_KINDS)}")
    image: np.ndarray = _background(rng, h, w).astype(np.float32)
    corners = _DRAWERS[kind](rng, image, h, w)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    image = image + rng.normal(0, rng.uniform(0, 8), image.shape).astype(np.float32)
    points = np.asarray(corners, np.float32).reshape(-1, 2)
    inside = (points[:, 0] >= 1) & (points[:, 0] <= w - 2) & (points[:, 1] >= 1) & (points[:, 1] <= h - 2)
    return ShapeSample(np.clip(np.rint(image), 0, 255).astype(np.uint8), points[inside], kind)


def make_shapes_dataset(
    n: int, size: tuple[int, int] = (160, 120), seed: int = 0, progress: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``n`` images → ((n, H, W) uint8, list of (N_i, 2) float32 corner arrays)."""
    indices = range(n)
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, desc="synthetic shapes", mininterval=5.0)
    samples = [render_shape(np.random.default_rng([seed, i]), size) for i in indices]
    return np.stack([s.image for s in samples]), [s.points for s in samples]


def load_or_make_shapes(
    path: str | os.PathLike, n: int, size: tuple[int, int] = (160, 120), seed: int = 0, progress: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cached :func:`make_shapes_dataset`: an .npz at ``path`` keyed by (n, size, seed)."""
    path = Path(path)
    key = f"{n}-{size[0]}x{size[1]}-{seed}"
    if path.is_file():
        with np.load(path) as cached:
            if str(cached["key"]) == key:
                offsets = cached["offsets"]
                pts = cached["points"]
                return cached["images"], [pts[offsets[i] : offsets[i + 1]] for i in range(n)]
    images, points = make_shapes_dataset(n, size, seed, progress)
    offsets = np.r_[0, np.cumsum([len(p) for p in points])]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, images=images, points=np.concatenate(points + [np.zeros((0, 2), np.float32)]),
                        offsets=offsets, key=np.array(key))
    tmp.replace(path)
    return images, points
