"""Image pairs of a real reconstruction with their relative pose and sparse ground truth.

Reads scenes written by ``cvlearned data reconstruct`` (:mod:`cvlearned.reconstruction_io`)
and turns co-visible image pairs into :class:`SfmPair` records for dense-model training
(UCN, SuperPoint descriptors) and detector supervision. Pairs are chosen as for the
validation pose pairs (:mod:`cvlearned.pose_pair_export`): at least ``min_covisible``
shared 3-D points, sampled evenly over rotation angle x co-visibility.

Conventions: OpenCV pixels (integer = pixel centre), OpenCV ``K`` and distortion
``k1 k2 p1 p2 k3`` (the observed, distorted pixels are ``cv2.projectPoints`` of the points),
relative pose ``X1 = R @ X0 + t`` with ``t`` in the reconstruction's arbitrary unit.

The correspondences ``xy0 <-> xy1`` are the observations of the 3-D points both images
see: exact to the SIFT keypoints' sub-pixel accuracy, but sparse and only where SIFT
detected and matched a point, so they are biased towards SIFT's blobs and miss textureless
areas, repetitive structure and strong viewpoint or illumination changes SIFT fails on.
The pose is accurate (a fraction of a degree) where the scene is well covered; the
epipolar constraint (:func:`epipolar_distance`) checks any other detection against it,
but only along the epipolar line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvlearned.datasets.types import PosePair
from cvlearned.evaluation import match_truth
from cvlearned.pose_pair_export import PairCandidate, candidate_pairs, sample_pairs
from cvlearned.reconstruction_io import Reconstruction, load_reconstruction, relative_pose

__all__ = ["SfmScenesConfig", "SfmPairsConfig", "check_sfm_int", "SfmPair", "epipolar_distance", "essential_from_pose",
           "load_sfm_pairs", "sample_sfm_pairs", "sfm_pair", "shared_observations"]

PathLike = str | os.PathLike
#: default minimum number of 3-D points a pair shares (as ``cvlearned data pose-pairs``)
MIN_COVISIBLE = 50


def check_sfm_int(config: object, name: str, low: int) -> None:
    """Raise ValueError naming ``sfm.<name>`` unless that field of ``config`` is an int >= ``low``."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"sfm.{name} must be an int >= {low}, got {value!r}")


@dataclass(frozen=True)
class SfmScenesConfig:
    """The ``sfm:`` mapping of a training config: which reconstructions, at which resolution.

    ``scenes``: scene folders written by ``cvlearned data reconstruct``, relative to the
    trainer's ``--reconstructions`` folder (or absolute); empty = no SfM data. Images are read
    with their longest side ``image_side`` (0 = full size); ``seed`` seeds every choice.
    Each trainer's config extends it with its own fields.
    """

    scenes: tuple[str, ...] = ()
    image_side: int = 640
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.scenes, str) or not all(isinstance(s, str) and s for s in self.scenes):
            raise ValueError(f"sfm.scenes must be a list of scene folder names, got {self.scenes!r}")
        check_sfm_int(self, "image_side", 0)
        check_sfm_int(self, "seed", 0)

    def scene_dirs(self, root: PathLike | None) -> list[Path]:
        """The scene folders, relative ones under ``root``."""
        return [Path(s) if Path(s).is_absolute() or root is None else Path(root) / s for s in self.scenes]


@dataclass(frozen=True)
class SfmPairsConfig(SfmScenesConfig):
    """:class:`SfmScenesConfig` for image pairs: up to ``max_pairs_per_scene`` pairs sharing at
    least ``min_covisible`` 3-D points per scene (:func:`load_sfm_pairs`)."""

    max_pairs_per_scene: int = 100
    min_covisible: int = 50

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sfm_int(self, "max_pairs_per_scene", 1)
        check_sfm_int(self, "min_covisible", 1)


@dataclass(frozen=True, eq=False)
class SfmPair:
    """Two registered images of a reconstruction (conventions: module docstring).

    K0, K1 (3, 3) and dist0, dist1 (5,) OpenCV intrinsics; R (3, 3), t (3,) with
    ``X1 = R @ X0 + t``; ``shared`` 3-D points seen by both, rotation ``angle_deg``;
    xy0, xy1 (N, 2) float64 observations of those N = ``shared`` points in OpenCV pixels,
    ``point_ids`` (N,) their indices in the reconstruction's points (ascending).
    """

    name0: str
    name1: str
    K0: np.ndarray
    K1: np.ndarray
    dist0: np.ndarray
    dist1: np.ndarray
    R: np.ndarray
    t: np.ndarray
    shared: int
    angle_deg: float
    xy0: np.ndarray
    xy1: np.ndarray
    point_ids: np.ndarray


def _image_index(rec: Reconstruction, name: str) -> int:
    if name not in rec.images or name not in rec.image_names:
        raise ValueError(f"image {name!r} is not registered in the reconstruction")
    return rec.image_names.index(name)


def _first_observations(points: np.ndarray, track_image: np.ndarray, image: int) -> tuple[np.ndarray, np.ndarray]:
    """(point ids ascending, index of each point's first observation in ``image``)."""
    observations = np.flatnonzero(track_image == image)
    ids, first = np.unique(points[observations], return_index=True)
    return ids, observations[first]


def shared_observations(rec: Reconstruction, name0: str, name1: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observations of the 3-D points seen by both images → xy0 (N, 2), xy1 (N, 2) float64 in
    OpenCV pixels and point_ids (N,) int64, ascending. A point observed twice in one image
    contributes its first observation (in track order)."""
    i0, i1 = _image_index(rec, name0), _image_index(rec, name1)
    if i0 == i1:
        raise ValueError(f"a pair needs two different images, got {name0!r} twice")
    points = rec.track_points()
    ids0, obs0 = _first_observations(points, rec.track_image, i0)
    ids1, obs1 = _first_observations(points, rec.track_image, i1)
    point_ids, k0, k1 = np.intersect1d(ids0, ids1, assume_unique=True, return_indices=True)
    xy = np.asarray(rec.track_xy, np.float64)
    return xy[obs0[k0]], xy[obs1[k1]], point_ids.astype(np.int64)


def sfm_pair(rec: Reconstruction, candidate: PairCandidate) -> SfmPair:
    """The :class:`SfmPair` of a candidate from :func:`~cvlearned.pose_pair_export.candidate_pairs`."""
    xy0, xy1, point_ids = shared_observations(rec, candidate.name0, candidate.name1)
    cam0, cam1 = rec.camera(candidate.name0), rec.camera(candidate.name1)
    R, t = relative_pose(rec.images[candidate.name0], rec.images[candidate.name1])
    return SfmPair(candidate.name0, candidate.name1, cam0.K, cam1.K, cam0.dist, cam1.dist, R, t,
                   len(point_ids), float(candidate.angle_deg), xy0, xy1, point_ids)


def _check_angle_range(min_angle_deg: float, max_angle_deg: float) -> None:
    for name, value in (("min_angle_deg", min_angle_deg), ("max_angle_deg", max_angle_deg)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not 0.0 <= value <= 180.0:
            raise ValueError(f"{name} must be in [0, 180] degrees, got {value}")
    if min_angle_deg > max_angle_deg:
        raise ValueError(f"min_angle_deg ({min_angle_deg}) must not exceed max_angle_deg ({max_angle_deg})")


def sample_sfm_pairs(rec: Reconstruction, max_pairs: int, min_covisible: int = MIN_COVISIBLE,
                     min_angle_deg: float = 0.0, max_angle_deg: float = 180.0, seed: int = 0) -> list[SfmPair]:
    """Up to ``max_pairs`` pairs sharing at least ``min_covisible`` points with a rotation angle
    in [``min_angle_deg``, ``max_angle_deg``], drawn by
    :func:`~cvlearned.pose_pair_export.sample_pairs` (stratified, deterministic in ``seed``).
    Empty when no pair qualifies."""
    _check_angle_range(min_angle_deg, max_angle_deg)
    candidates = [c for c in candidate_pairs(rec, min_covisible) if min_angle_deg <= c.angle_deg <= max_angle_deg]
    return [sfm_pair(rec, c) for c in sample_pairs(candidates, max_pairs, seed)]


def load_sfm_pairs(scene_dirs: Sequence[PathLike], max_pairs_per_scene: int, min_covisible: int = MIN_COVISIBLE,
                   min_angle_deg: float = 0.0, max_angle_deg: float = 180.0,
                   seed: int = 0) -> list[tuple[SfmPair, Path]]:
    """:func:`sample_sfm_pairs` of every scene → (pair, image folder) with the images at
    ``folder / pair.name0`` and ``folder / pair.name1``, scene by scene.

    Raises:
        FileNotFoundError: a scene's files or the images of a chosen pair are missing.
        ValueError: a scene has no model or no ``image_dir``; no scene gives any pair.
    """
    if isinstance(scene_dirs, (str, os.PathLike)):
        raise TypeError("scene_dirs must be a sequence of scene folders, not a single path")
    scene_dirs = list(scene_dirs)
    out: list[tuple[SfmPair, Path]] = []
    for scene_dir in scene_dirs:
        rec = load_reconstruction(scene_dir)
        if not rec.summary.get("image_dir"):
            raise ValueError(f"scene {scene_dir}: summary.json names no image_dir")
        image_dir = Path(rec.summary["image_dir"])
        pairs = sample_sfm_pairs(rec, max_pairs_per_scene, min_covisible, min_angle_deg, max_angle_deg, seed)
        for name in sorted({n for p in pairs for n in (p.name0, p.name1)}):
            if not (image_dir / name).is_file():
                raise FileNotFoundError(f"scene {scene_dir}: image {image_dir / name} is missing")
        out += [(p, image_dir) for p in pairs]
    if not out:
        raise ValueError(f"no image pair shares {min_covisible} or more 3-D points with a rotation in "
                         f"[{min_angle_deg}, {max_angle_deg}] degrees in {len(scene_dirs)} scene(s)")
    return out


def essential_from_pose(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(3, 3) essential matrix ``[t]x R``: ``x1^T E x0 = 0`` for normalised points of X1 = R X0 + t."""
    R, t = np.asarray(R, np.float64), np.asarray(t, np.float64)
    if R.shape != (3, 3) or t.shape not in ((3,), (3, 1)):
        raise ValueError(f"R must be (3, 3) and t (3,), got {R.shape} and {t.shape}")
    tx, ty, tz = t.ravel()
    return np.array([[0.0, -tz, ty], [tz, 0.0, -tx], [-ty, tx, 0.0]]) @ R


def _points(name: str, xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{name} must be (N, 2) pixel positions, got shape {xy.shape}")
    return xy


def epipolar_distance(xy0: np.ndarray, xy1: np.ndarray, K0: np.ndarray, K1: np.ndarray, R: np.ndarray,
                      t: np.ndarray, dist0: np.ndarray | None = None, dist1: np.ndarray | None = None) -> np.ndarray:
    """(N,) symmetric epipolar distance in pixels of correspondences xy0 (N, 2) <-> xy1 (N, 2)
    under ``X1 = R @ X0 + t``: the larger of the distances of each undistorted point to the
    epipolar line of the other (:func:`cvlearned.evaluation.match_truth.epipolar_distance`);
    inf where undefined (``t`` = 0, or a point at the epipole)."""
    xy0, xy1 = _points("xy0", xy0), _points("xy1", xy1)
    if len(xy0) != len(xy1):
        raise ValueError(f"xy0 and xy1 must have the same length, got {len(xy0)} and {len(xy1)}")
    essential_from_pose(R, t)  # validates R and t
    K0, K1 = np.asarray(K0, np.float64), np.asarray(K1, np.float64)
    if K0.shape != (3, 3) or K1.shape != (3, 3):
        raise ValueError(f"K0 and K1 must be (3, 3), got {K0.shape} and {K1.shape}")
    no_image = np.zeros((0, 0, 3), np.uint8)
    pose = PosePair("epipolar", no_image, no_image, K0, K1, np.asarray(R, np.float64),
                    np.asarray(t, np.float64).ravel(),
                    np.zeros(5) if dist0 is None else np.asarray(dist0, np.float64),
                    np.zeros(5) if dist1 is None else np.asarray(dist1, np.float64))
    return match_truth.epipolar_distance(pose, xy0, xy1)
