"""COLMAP bridge: our keypoints and verified matches -> COLMAP database -> pycolmap mapping.

Only geometry crosses the bridge: cameras, images, keypoints (positions) and *already
verified* inlier matches, written as COLMAP two-view geometries. No descriptors are
written and COLMAP's own matcher / verifier is never called (pycolmap's matcher aborts
the whole process on descriptors that are not 128-d uint8 SIFT).

Coordinates: inputs use OpenCV's convention (integer coordinates are pixel centres);
COLMAP puts the first pixel centre at (0.5, 0.5), so keypoints and principal points are
shifted by +0.5 when written. Reconstructions read back are in COLMAP's convention.

Requires the optional dependency ``pycolmap`` (``pip install cvlearned[colmap]``); it is
imported lazily so ``import cvlearned.adapters.colmap`` always works.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "PinholeCamera",
    "ReconstructionSummary",
    "import_pycolmap",
    "write_database",
    "mapping_options",
    "reconstruct",
    "summarize",
    "camera_centres",
    "colmap_log",
    "verified_inliers",
]

PathLike = str | os.PathLike


def import_pycolmap() -> ModuleType:
    """Import pycolmap or raise an ImportError that says how to install it."""
    try:
        import pycolmap
    except ImportError as exc:
        raise ImportError(
            "the COLMAP adapter needs pycolmap: pip install cvlearned[colmap]"
        ) from exc
    return pycolmap


@dataclass(frozen=True, eq=False)
class PinholeCamera:
    """Pinhole intrinsics (OpenCV convention): (3, 3) ``K`` and image ``width`` x ``height``."""

    K: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        if K.shape != (3, 3) or not np.all(np.isfinite(K)):
            raise ValueError(f"K must be a finite (3, 3) matrix, got shape {K.shape}")
        if K[0, 0] <= 0 or K[1, 1] <= 0 or K[0, 1] != 0 or np.any(K[2] != (0, 0, 1)):
            raise ValueError("K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0")
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def colmap_model(self) -> str:
        """"SIMPLE_PINHOLE" when fx == fy (one focal length to refine), else "PINHOLE"."""
        return "SIMPLE_PINHOLE" if self.K[0, 0] == self.K[1, 1] else "PINHOLE"

    def colmap_params(self) -> list[float]:
        """Parameters of :attr:`colmap_model` in COLMAP's convention (principal point +0.5):
        ``[f, cx, cy]`` or ``[fx, fy, cx, cy]``."""
        K = self.K
        focal = [K[0, 0]] if self.colmap_model == "SIMPLE_PINHOLE" else [K[0, 0], K[1, 1]]
        return [*focal, K[0, 2] + 0.5, K[1, 2] + 0.5]


@dataclass(frozen=True)
class ReconstructionSummary:
    """What a reconstruction recovered (see :func:`summarize`)."""

    num_images: int  # images given to the mapper
    num_registered: int  # images with a recovered pose
    num_points3D: int
    mean_reprojection_error: float  # pixels; nan when there are no points
    mean_track_length: float  # observations per 3D point; nan when there are no points
    registered_names: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"registered {self.num_registered}/{self.num_images} images, "
            f"{self.num_points3D} points, mean reprojection error "
            f"{self.mean_reprojection_error:.3f} px, mean track length {self.mean_track_length:.2f}"
        )


# ----------------------------------------------------------------------------- validation


def _check_cameras(cameras: PinholeCamera | Sequence[PinholeCamera], n: int) -> list[PinholeCamera]:
    if isinstance(cameras, PinholeCamera):
        return [cameras] * n
    cams = list(cameras)
    if len(cams) != n:
        raise ValueError(f"need one camera or one per image ({n}), got {len(cams)}")
    for k, cam in enumerate(cams):
        if not isinstance(cam, PinholeCamera):
            raise TypeError(f"cameras[{k}] must be a PinholeCamera, got {type(cam).__name__}")
    return cams


def _check_keypoints(keypoints: Sequence[np.ndarray], cams: list[PinholeCamera]) -> list[np.ndarray]:
    if len(keypoints) != len(cams):
        raise ValueError(f"need one keypoint array per image ({len(cams)}), got {len(keypoints)}")
    out = []
    for k, (pts, cam) in enumerate(zip(keypoints, cams)):
        a = np.asarray(pts, dtype=np.float64)
        if a.size == 0:
            a = a.reshape(0, 2)
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"keypoints[{k}] must have shape (N, 2), got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"keypoints[{k}] contains non-finite values")
        out.append(a)
    return out


def _check_pair(key: Any, n: int) -> tuple[int, int]:
    if not (isinstance(key, tuple) and len(key) == 2):
        raise TypeError(f"match keys must be (i, j) tuples, got {key!r}")
    i, j = key
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in key):
        raise TypeError(f"match keys must hold ints, got {key!r}")
    if not (0 <= i < n and 0 <= j < n) or i == j:
        raise ValueError(f"invalid image pair {key!r} for {n} images (need 0 <= i != j < {n})")
    return int(i), int(j)


def _check_matches(matches: Any, i: int, j: int, n_i: int, n_j: int) -> np.ndarray:
    m = np.asarray(matches)
    if m.size == 0:
        return np.zeros((0, 2), dtype=np.uint32)
    if m.ndim != 2 or m.shape[1] != 2 or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"matches[{(i, j)}] must be an (M, 2) integer array, got {m.dtype} {m.shape}")
    if m.min() < 0 or m[:, 0].max() >= n_i or m[:, 1].max() >= n_j:
        raise ValueError(
            f"matches[{(i, j)}] indices out of range: image {i} has {n_i} keypoints, image {j} has {n_j}"
        )
    if len(np.unique(m[:, 0])) != len(m) or len(np.unique(m[:, 1])) != len(m):
        raise ValueError(f"matches[{(i, j)}] reuses a keypoint; matches must be one-to-one")
    return m.astype(np.uint32)


def _check_pose(pose: Any, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    try:
        R, t = pose
    except (TypeError, ValueError):
        raise TypeError(f"poses[{key}] must be an (R, t) pair") from None
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
        raise ValueError(f"poses[{key}]: R must be a (3, 3) rotation matrix")
    if t.shape != (3,) or not np.all(np.isfinite(t)) or np.linalg.norm(t) < 1e-12:
        raise ValueError(f"poses[{key}]: t must be a finite non-zero 3-vector")
    return R, t / np.linalg.norm(t)


# ----------------------------------------------------------------------------- database


def _two_view_geometry(pycolmap: ModuleType, inliers: np.ndarray, pose) -> Any:
    """Verified geometry of one pair: calibrated with E and pose when known, else uncalibrated."""
    tvg = pycolmap.TwoViewGeometry()
    tvg.inlier_matches = inliers
    if pose is None:
        tvg.config = pycolmap.TwoViewGeometryConfiguration.UNCALIBRATED
        return tvg
    R, t = pose
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    tvg.config = pycolmap.TwoViewGeometryConfiguration.CALIBRATED
    tvg.E = tx @ R
    tvg.cam2_from_cam1 = pycolmap.Rigid3d(pycolmap.Rotation3d(R), t.reshape(3, 1))
    return tvg


def write_database(
    db_path: PathLike,
    names: Sequence[str],
    cameras: PinholeCamera | Sequence[PinholeCamera],
    keypoints: Sequence[np.ndarray],
    matches: Mapping[tuple[int, int], np.ndarray],
    *,
    poses: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
    overwrite: bool = False,
) -> list[int]:
    """Write a COLMAP database holding images, keypoints and verified matches.

    Args:
        db_path: database file to create.
        names: image file names (relative to the image folder later given to the mapper).
        cameras: one :class:`PinholeCamera` shared by all images, or one per image
            (images with equal intrinsics share a COLMAP camera).
        keypoints: per image, (N_k, 2) positions in OpenCV pixel coordinates.
        matches: ``{(i, j): (M, 2) int array}`` of geometrically *verified* one-to-one
            matches ``(keypoint in i, keypoint in j)``; pairs with i > j are allowed.
        poses: optional ``{(i, j): (R, t)}``, keyed like ``matches``: relative poses
            ``X_j = R @ X_i + t`` (the scale of t is ignored) from the verification; such
            pairs are stored as CALIBRATED geometry with E, the others as UNCALIBRATED.
        overwrite: replace an existing file instead of raising FileExistsError.

    Returns:
        COLMAP image ids, index-aligned with ``names``.
    """
    pycolmap = import_pycolmap()
    names = [str(n) for n in names]
    n = len(names)
    if n == 0:
        raise ValueError("no images given")
    if len(set(names)) != n or any(not name for name in names):
        raise ValueError("image names must be non-empty and unique")
    cams = _check_cameras(cameras, n)
    kps = _check_keypoints(keypoints, cams)
    if not isinstance(matches, Mapping):
        raise TypeError(f"matches must be a mapping {{(i, j): (M, 2) array}}, got {type(matches).__name__}")
    pairs: dict[tuple[int, int], tuple[np.ndarray, Any]] = {}
    for key, value in matches.items():
        i, j = _check_pair(key, n)
        m = _check_matches(value, i, j, len(kps[i]), len(kps[j]))
        pose = None
        if poses is not None and key in poses:
            pose = _check_pose(poses[key], (i, j))
        if i > j:  # store every pair once, in increasing order
            m = m[:, ::-1].copy()
            pose = None if pose is None else (pose[0].T, -pose[0].T @ pose[1])
            i, j = j, i
        if (i, j) in pairs:
            raise ValueError(f"pair {(i, j)} given twice")
        pairs[(i, j)] = (m, pose)
    if poses is not None:
        extra = set(poses) - set(matches)
        if extra:
            raise ValueError(f"poses given for pairs without matches: {sorted(extra)}")

    db_path = Path(db_path)
    if db_path.exists():
        if not overwrite:
            raise FileExistsError(f"{db_path} exists (pass overwrite=True to replace it)")
        db_path.unlink()
    db_path.parent.mkdir(parents=True, exist_ok=True)

    camera_type = pycolmap.SensorType.CAMERA
    with pycolmap.Database.open(str(db_path)) as db:
        camera_ids: dict[tuple, int] = {}  # (width, height, model, *params) -> camera id
        rig_ids: dict[int, int] = {}  # camera id -> rig id
        image_ids: list[int] = []
        for name, cam, pts in zip(names, cams, kps):
            camera_key = (cam.width, cam.height, cam.colmap_model, *cam.colmap_params())
            if camera_key not in camera_ids:
                camera = pycolmap.Camera(model=cam.colmap_model, width=cam.width, height=cam.height,
                                         params=cam.colmap_params(), has_prior_focal_length=True)
                camera_id = db.write_camera(camera)
                rig = pycolmap.Rig()  # COLMAP 3.12+: every image belongs to a frame of a rig
                rig.add_ref_sensor(pycolmap.sensor_t(camera_type, camera_id))
                camera_ids[camera_key], rig_ids[camera_id] = camera_id, db.write_rig(rig)
            camera_id = camera_ids[camera_key]
            image_id = db.write_image(pycolmap.Image(name=name, camera_id=camera_id))
            frame = pycolmap.Frame()
            frame.rig_id = rig_ids[camera_id]
            frame.add_data_id(pycolmap.data_t(pycolmap.sensor_t(camera_type, camera_id), image_id))
            db.write_frame(frame)
            db.write_keypoints(image_id, np.ascontiguousarray(pts + 0.5, dtype=np.float32))
            image_ids.append(image_id)
        for (i, j), (m, pose) in pairs.items():
            db.write_matches(image_ids[i], image_ids[j], m)
            db.write_two_view_geometry(image_ids[i], image_ids[j], _two_view_geometry(pycolmap, m, pose))
    return image_ids


# ----------------------------------------------------------------------------- mapping


def mapping_options(
    *,
    min_num_matches: int = 15,
    init_min_num_inliers: int = 50,
    init_min_tri_angle: float = 8.0,
    refine_intrinsics: bool = False,
    num_threads: int = -1,
    seed: int | None = 0,
    extract_colors: bool = True,
) -> Any:
    """``pycolmap.IncrementalPipelineOptions`` suited to small calibrated image sets.

    COLMAP's defaults (100 initial inliers, 16 deg initial triangulation angle) target
    large photo collections; these are relaxed. With ``refine_intrinsics=False`` the
    given K is kept fixed in bundle adjustment. ``seed`` makes runs repeatable.
    """
    pycolmap = import_pycolmap()
    opts = pycolmap.IncrementalPipelineOptions()
    opts.min_num_matches = int(min_num_matches)
    opts.mapper.init_min_num_inliers = int(init_min_num_inliers)
    opts.mapper.init_min_tri_angle = float(init_min_tri_angle)
    opts.ba_refine_focal_length = bool(refine_intrinsics)
    opts.ba_refine_principal_point = False
    opts.ba_refine_extra_params = bool(refine_intrinsics)
    opts.mapper.abs_pose_refine_focal_length = bool(refine_intrinsics)
    opts.mapper.abs_pose_refine_extra_params = bool(refine_intrinsics)
    opts.num_threads = opts.mapper.num_threads = int(num_threads)
    opts.extract_colors = bool(extract_colors)
    if seed is not None:
        opts.random_seed = opts.mapper.random_seed = opts.triangulation.random_seed = int(seed)
    return opts


def reconstruct(db_path: PathLike, image_dir: PathLike, output_dir: PathLike, options: Any = None) -> Any:
    """Run pycolmap incremental mapping on a database from :func:`write_database`.

    Args:
        db_path: the database. image_dir: folder of the images (read for point colours).
        output_dir: where COLMAP writes its models (``output_dir/0``, ...).
        options: ``pycolmap.IncrementalPipelineOptions``; default :func:`mapping_options`.

    Returns:
        The reconstruction with the most registered images (``pycolmap.Reconstruction``),
        or None when COLMAP could not initialise any model.
    """
    pycolmap = import_pycolmap()
    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"database {db_path} does not exist")
    options = mapping_options() if options is None else options
    if not isinstance(options, pycolmap.IncrementalPipelineOptions):
        raise TypeError(f"options must be pycolmap.IncrementalPipelineOptions, got {type(options).__name__}")
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    models = pycolmap.incremental_mapping(str(db_path), str(image_dir), str(output_dir), options)
    if not models:
        return None
    return max(models.values(), key=lambda rec: (rec.num_reg_images(), rec.num_points3D()))


def summarize(reconstruction: Any, num_images: int | None = None) -> ReconstructionSummary:
    """Counts and errors of a ``pycolmap.Reconstruction`` (None -> an empty summary).

    ``num_images`` is the number of input images (default: images in the reconstruction).
    """
    if reconstruction is None:
        return ReconstructionSummary(int(num_images or 0), 0, 0, float("nan"), float("nan"), ())
    n_points = reconstruction.num_points3D()
    names = tuple(sorted(reconstruction.image(i).name for i in reconstruction.reg_image_ids()))
    return ReconstructionSummary(
        num_images=int(reconstruction.num_images() if num_images is None else num_images),
        num_registered=len(names),
        num_points3D=int(n_points),
        mean_reprojection_error=float(reconstruction.compute_mean_reprojection_error()) if n_points else float("nan"),
        mean_track_length=float(reconstruction.compute_mean_track_length()) if n_points else float("nan"),
        registered_names=names,
    )


def camera_centres(reconstruction: Any) -> dict[str, np.ndarray]:
    """``{image name: (3,) camera centre}`` of the registered images (reconstruction frame)."""
    out = {}
    for image_id in reconstruction.reg_image_ids():
        image = reconstruction.image(image_id)
        out[image.name] = np.asarray(image.projection_center(), dtype=np.float64).reshape(3)
    return out


@contextlib.contextmanager
def colmap_log(verbose: bool) -> Iterator[None]:
    """COLMAP's (glog) INFO/WARNING lines only when ``verbose``; errors always."""
    logging = import_pycolmap().logging
    previous = logging.minloglevel
    logging.minloglevel = previous if verbose else int(logging.Level.ERROR)
    try:
        yield
    finally:
        logging.minloglevel = previous


def verified_inliers(
    points0: np.ndarray, points1: np.ndarray, matches: np.ndarray, K0: np.ndarray, K1: np.ndarray,
    threshold_px: float = 1.0, min_inliers: int = 15,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None:
    """The (M, 2) index pairs ``matches`` into (N0, 2) ``points0`` / (N1, 2) ``points1``
    that survive essential-matrix RANSAC, with (R, t) (``X1 = R X0 + t``), ready for
    :func:`write_database`; None below ``min_inliers``."""
    from cvlearned.evaluation.metrics.pose import estimate_relative_pose

    if len(matches) < min_inliers:
        return None
    pose = estimate_relative_pose(points0[matches[:, 0]], points1[matches[:, 1]], K0, K1,
                                  threshold_px=threshold_px)
    if pose is None or pose.num_inliers < min_inliers:
        return None
    return matches[pose.inliers], (pose.R, pose.t)
