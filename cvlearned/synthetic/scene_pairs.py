"""Rendered two-view :class:`~cvlearned.datasets.types.PosePair` s with exact depth and pose.

:func:`make_scene_pairs` combines a layout, a sampled camera pair with enough unoccluded
overlap, and the renderer; pair ``i`` depends only on ``(seed, i)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cvlearned.datasets.types import PosePair
from cvlearned.synthetic.scene_correspondences import project_correspondences
from cvlearned.synthetic.scene_geometry import relative_pose
from cvlearned.synthetic.scene_layouts import LAYOUTS, _default_textures
from cvlearned.synthetic.scene_render import render, render_depth
from cvlearned.synthetic.scene_viewpoints import sample_pair_cameras

__all__ = ["make_scene_pairs"]


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
        assert best is not None  # the loop ran
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
