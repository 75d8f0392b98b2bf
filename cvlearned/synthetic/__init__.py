"""Synthetic ground-truth data: homography pairs from photos and rendered planar 3D scenes.

- :mod:`~cvlearned.synthetic.photos`: bundled scikit-image sample photos or a photo folder.
- :mod:`~cvlearned.synthetic.homography`: HPatches-like viewpoint/illumination pairs.
- :mod:`~cvlearned.synthetic.scenes`: exact renderer of textured piecewise-planar scenes
  (rooms, boxes, street canyons) giving images, depth, poses and dense correspondences; a
  facade over ``scene_geometry``, ``scene_render``, ``scene_correspondences``,
  ``scene_layouts``, ``scene_viewpoints`` and ``scene_pairs``.
"""

from cvlearned.synthetic.homography import (
    MILD_PHOTOMETRIC,
    STRONG_PHOTOMETRIC,
    HomographyDistribution,
    PhotometricDistribution,
    apply_photometric,
    make_homography_pairs,
    sample_homography,
    warp_image,
)
from cvlearned.synthetic.photos import bundled_photo, bundled_photo_names, load_photo_folder, photo_source
from cvlearned.synthetic.scenes import (
    LAYOUTS, Camera, Plane, RenderedView, Scene, box_planes, box_scene, forward_motion_sequence, intrinsics,
    make_scene_pairs, project_correspondences, relative_pose, render, render_depth, render_sequence, room_scene,
    rotating_sequence, sample_pair_cameras, street_canyon_scene, warp_points,
)

__all__ = [
    "MILD_PHOTOMETRIC",
    "STRONG_PHOTOMETRIC",
    "HomographyDistribution",
    "PhotometricDistribution",
    "apply_photometric",
    "make_homography_pairs",
    "sample_homography",
    "warp_image",
    "bundled_photo",
    "bundled_photo_names",
    "load_photo_folder",
    "photo_source",
    "LAYOUTS",
    "Camera",
    "Plane",
    "RenderedView",
    "Scene",
    "box_planes",
    "box_scene",
    "forward_motion_sequence",
    "intrinsics",
    "make_scene_pairs",
    "project_correspondences",
    "relative_pose",
    "render",
    "render_depth",
    "render_sequence",
    "room_scene",
    "rotating_sequence",
    "sample_pair_cameras",
    "street_canyon_scene",
    "warp_points",
]
