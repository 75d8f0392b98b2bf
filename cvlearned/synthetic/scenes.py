"""A small exact renderer of textured piecewise-planar 3D scenes (public facade).

This module re-exports the scene API from the modules that implement it, so
``from cvlearned.synthetic.scenes import X`` keeps working:

- :mod:`~cvlearned.synthetic.scene_geometry`: :class:`Plane`, :class:`Camera`, :class:`Scene`,
  :func:`intrinsics`, :func:`relative_pose` (and the frame/pixel conventions).
- :mod:`~cvlearned.synthetic.scene_render`: the exact z-buffered, mip-mapped renderer
  (:func:`render`, :func:`render_depth`, :func:`render_sequence`, :class:`RenderedView`).
- :mod:`~cvlearned.synthetic.scene_correspondences`: ground-truth correspondences from depth
  and pose (:func:`project_correspondences`, :func:`warp_points`).
- :mod:`~cvlearned.synthetic.scene_layouts`: random room / box / street layouts (:data:`LAYOUTS`).
- :mod:`~cvlearned.synthetic.scene_viewpoints`: camera pairs and sequences in those layouts.
- :mod:`~cvlearned.synthetic.scene_pairs`: rendered :class:`~cvlearned.datasets.types.PosePair` s
  (:func:`make_scene_pairs`).

Modules inside the package import from those modules, not from this facade.
"""

from __future__ import annotations

from cvlearned.synthetic.scene_correspondences import project_correspondences, warp_points
from cvlearned.synthetic.scene_geometry import Camera, Plane, Scene, intrinsics, relative_pose
from cvlearned.synthetic.scene_layouts import LAYOUTS, box_planes, box_scene, room_scene, street_canyon_scene
from cvlearned.synthetic.scene_pairs import make_scene_pairs
from cvlearned.synthetic.scene_render import RenderedView, render, render_depth, render_sequence
from cvlearned.synthetic.scene_viewpoints import forward_motion_sequence, rotating_sequence, sample_pair_cameras

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
