"""Patch pairs from the tracks of real reconstructions (the Brown/UBC recipe on our own scenes).

A scene written by ``cvlearned data reconstruct`` (:mod:`cvlearned.reconstruction_io`) holds
3-D points with tracks: every observation of a point is a detected keypoint (position, size,
orientation) in a registered image. As in the Brown/UBC patch datasets (Liberty, Notre Dame,
Yosemite: patches of SfM tracks), each 3-D point is one class, and two of its observations
in different images make a matching pair with a *real* change between them: parallax,
self-occlusion at the border, non-planar surfaces, lighting and camera noise, and the
detector's own position/scale/orientation noise. No synthetic jitter is added.

For every scene:

1. observations are kept when their size and angle are known and their 3-D point's mean
   reprojection error is at most ``max_reprojection_error`` pixels;
2. each image is resized so its longest side is ``image_side`` (the working resolution of
   the benchmarks; 0 keeps full size) and the observations are scaled with it (OpenCV pixel
   centres: ``x' = (x + 0.5) s - 0.5``, size ``s * size``);
3. an observation whose patch footprint (side ``patch_scale * size``, rotated) leaves its
   image is dropped;
4. per point seen in at least two images, ``pairs_per_point`` pairs of observations in
   different images are drawn (seeded), and at most ``max_points_per_scene`` points are kept;
5. patches are sampled exactly as for the homography pairs
   (:func:`cvlearned.patches.extract_patches`, anti-aliased, similarity frames).

Neighbouring 3-D points can look alike (as in Brown/UBC); the hardest-in-batch loss sees them
as negatives. Results are cached as ``sfm_patch_pairs_<hash>.npz`` (the hash covers the
config, the patch geometry and each scene's summary).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cvlearned.patches import build_pyramid, extract_patches, keypoint_frames
from cvlearned.reconstruction_io import Reconstruction, load_reconstruction
from cvlearned.training.common.images import resize_photo
from cvlearned.training.common.run_state import cached_arrays
from cvlearned.training.common.sfm_pairs import SfmScenesConfig, check_sfm_int
from cvlearned.training.patches.patch_pairs import footprint, inside_image

__all__ = ["SfmPatchConfig", "observation_frames", "track_pairs", "mine_reconstruction", "mine_scene",
           "mine_sfm_patch_pairs", "load_or_mine_sfm"]

PathLike = str | os.PathLike


@dataclass(frozen=True)
class SfmPatchConfig(SfmScenesConfig):
    """Which reconstructions to mine (:class:`~cvlearned.training.common.sfm_pairs.SfmScenesConfig`)
    and how (see the module docstring)."""

    pairs_per_point: int = 1
    max_points_per_scene: int = 0
    max_reprojection_error: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sfm_int(self, "pairs_per_point", 1)
        check_sfm_int(self, "max_points_per_scene", 0)
        if not self.max_reprojection_error > 0:
            raise ValueError(f"sfm.max_reprojection_error must be > 0, got {self.max_reprojection_error!r}")


def _image_scale(rec: Reconstruction, image_side: int) -> np.ndarray:
    """(I,) resize factor of each image of ``rec.image_names`` (never enlarges)."""
    sides = np.array([max(rec.camera(n).width, rec.camera(n).height) for n in rec.image_names], np.float64)
    return np.ones_like(sides) if image_side == 0 else np.minimum(1.0, image_side / sides)


def observation_frames(rec: Reconstruction, cfg: SfmPatchConfig, patch_size: int,
                       patch_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Patch frames of every observation in the resized images → ``frames`` (T, 2, 3) and
    ``usable`` (T,) bool (known size and angle, accurate point, patch inside its image)."""
    image_scale = _image_scale(rec, cfg.image_side)
    scale = image_scale[rec.track_image]
    xy = (rec.track_xy + 0.5) * scale[:, None] - 0.5
    size = np.asarray(rec.track_size, np.float64) * scale
    angle = np.asarray(rec.track_angle, np.float64)
    usable = np.isfinite(xy).all(axis=1) & np.isfinite(size) & (size > 0) & np.isfinite(angle)
    usable &= (rec.error <= cfg.max_reprojection_error)[rec.track_points()]
    keypoints = [cv2.KeyPoint(float(x), float(y), float(s), float(a))
                 for (x, y), s, a in zip(np.where(usable[:, None], xy, 0.0), np.where(usable, size, 1.0),
                                         np.where(usable, angle, 0.0))]
    frames = keypoint_frames(keypoints, patch_size, patch_scale)
    corners = footprint(frames, patch_size)
    for i, name in enumerate(rec.image_names):
        cam = rec.camera(name)
        w, h = round(cam.width * image_scale[i]), round(cam.height * image_scale[i])
        mine = rec.track_image == i
        usable[mine] &= inside_image(corners[mine], w, h)
    return frames, usable


def track_pairs(rec: Reconstruction, usable: np.ndarray, cfg: SfmPatchConfig) -> tuple[np.ndarray, np.ndarray]:
    """Observation index pairs ``(obs_a, obs_b)`` (M,), each pair two usable observations of
    one 3-D point in two different images, ``cfg.pairs_per_point`` per point (fewer when the
    point has fewer distinct pairs), points in a seeded random order, at most
    ``cfg.max_points_per_scene`` of them (0 = all)."""
    rng = np.random.default_rng(cfg.seed)
    obs_a, obs_b = [], []
    points = rng.permutation(len(rec.xyz))
    taken = 0
    for p in points:
        if cfg.max_points_per_scene and taken >= cfg.max_points_per_scene:
            break
        obs = np.arange(rec.track_offsets[p], rec.track_offsets[p + 1])
        obs = obs[usable[obs]]
        _, first = np.unique(rec.track_image[obs], return_index=True)  # one observation per image
        obs = obs[np.sort(first)]
        if len(obs) < 2:
            continue
        combos = [(i, j) for i in range(len(obs)) for j in range(i + 1, len(obs))]
        for k in rng.permutation(len(combos))[: cfg.pairs_per_point]:
            i, j = combos[k] if rng.random() < 0.5 else combos[k][::-1]
            obs_a.append(obs[i])
            obs_b.append(obs[j])
        taken += 1
    return np.asarray(obs_a, np.int64), np.asarray(obs_b, np.int64)


def _read_gray(path: Path, size: tuple[int, int], scale: float) -> np.ndarray:
    """The (h, w) gray image at ``path``, checked to be ``size`` = (w, h) of its camera, resized by ``scale``."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"cannot read {path} (an image of the reconstruction)")
    if image.shape[::-1] != size:
        raise ValueError(f"{path} is {image.shape[1]}x{image.shape[0]} but its camera is {size[0]}x{size[1]}: "
                         "not the image that was reconstructed")
    h, w = image.shape
    return resize_photo(image, round(max(h, w) * scale)) if scale < 1 else image


def mine_reconstruction(rec: Reconstruction, image_dir: PathLike, cfg: SfmPatchConfig, patch_size: int = 32,
                        patch_scale: float = 6.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patch pairs of ``rec`` whose images are in ``image_dir`` → ``(a, b, point_id)``: (M, P, P)
    uint8 twice and the (M,) index of each pair's 3-D point.

    Raises:
        FileNotFoundError: an image is missing or unreadable.
    """
    frames, usable = observation_frames(rec, cfg, patch_size, patch_scale)
    obs_a, obs_b = track_pairs(rec, usable, cfg)
    needed = np.union1d(obs_a, obs_b)
    patches = np.zeros((len(rec.track_image), patch_size, patch_size), np.uint8)
    scale = _image_scale(rec, cfg.image_side)
    for i in np.unique(rec.track_image[needed]):
        idx = needed[rec.track_image[needed] == i]
        cam = rec.camera(rec.image_names[i])
        gray = _read_gray(Path(image_dir) / rec.image_names[i], (cam.width, cam.height), scale[i])
        sampled = extract_patches(build_pyramid(gray), [], patch_size, frames=frames[idx]).numpy()
        patches[idx] = np.clip(np.rint(sampled[:, 0]), 0, 255).astype(np.uint8)
    return patches[obs_a], patches[obs_b], rec.track_points()[obs_a]


def mine_scene(scene_dir: PathLike, cfg: SfmPatchConfig, patch_size: int = 32,
               patch_scale: float = 6.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mine_reconstruction` of a scene folder of ``cvlearned data reconstruct`` (its
    images are read from the ``image_dir`` of its summary)."""
    rec = load_reconstruction(scene_dir)
    return mine_reconstruction(rec, rec.summary["image_dir"], cfg, patch_size, patch_scale)


def mine_sfm_patch_pairs(cfg: SfmPatchConfig, root: PathLike | None = None, patch_size: int = 32,
                         patch_scale: float = 6.0, progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All scenes of ``cfg`` (relative to ``root``) → ``(a, b, class_id)``; class ids are unique
    over scenes (one per 3-D point)."""
    scenes = cfg.scene_dirs(root)
    if progress:
        from tqdm import tqdm

        scenes = tqdm(scenes, desc="mining SfM patch pairs")
    empty = np.zeros((0, patch_size, patch_size), np.uint8)
    all_a, all_b, ids, offset = [empty], [empty], [np.zeros(0, np.int64)], 0
    for scene in scenes:
        a, b, point_id = mine_scene(scene, cfg, patch_size, patch_scale)
        all_a.append(a)
        all_b.append(b)
        ids.append(point_id + offset)
        offset += int(point_id.max()) + 1 if len(point_id) else 0
    return np.concatenate(all_a), np.concatenate(all_b), np.concatenate(ids)


def _cache_key(cfg: SfmPatchConfig, root: PathLike | None, patch_size: int, patch_scale: float) -> str:
    summaries = []
    for scene in cfg.scene_dirs(root):
        path = scene / "summary.json"
        summaries.append(json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None)
    blob = json.dumps({"cfg": dataclasses.asdict(cfg), "patch": [patch_size, patch_scale],
                       "summaries": [{k: s.get(k) for k in ("num_registered", "num_points3D", "options")} if s else None
                                     for s in summaries]}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def load_or_mine_sfm(cfg: SfmPatchConfig, out_dir: PathLike, root: PathLike | None = None, patch_size: int = 32,
                     patch_scale: float = 6.0, progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mine_sfm_patch_pairs` cached to ``out_dir/sfm_patch_pairs_<hash>.npz``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sfm_patch_pairs_{_cache_key(cfg, root, patch_size, patch_scale)}.npz"
    a, b, class_id = cached_arrays(path, ("a", "b", "class_id"),
                                   lambda: mine_sfm_patch_pairs(cfg, root, patch_size, patch_scale, progress))
    return a, b, class_id

