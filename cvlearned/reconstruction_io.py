"""Files of one reconstructed scene, readable without pycolmap (see :func:`load_reconstruction`).

Layout of ``<scene>/`` (written by ``cvlearned data reconstruct``):

- ``cameras.json``: ``{"cameras": {id: {"model", "width", "height", "K", "dist",
  "colmap_params"}}}``. ``K`` (3x3, row-major lists) and ``dist`` (OpenCV's
  ``k1, k2, p1, p2, k3``) are in OpenCV's convention: ``cv2.projectPoints(X, rvec, t, K, dist)``
  reproduces the observations. ``colmap_params`` are COLMAP's own (principal point +0.5).
- ``images.json``: ``{"images": {name: {"camera_id", "R", "t"}}}`` for the registered
  images: world-to-camera ``X_cam = R @ X_world + t`` as in COLMAP (and OpenCV). The unit of
  ``t`` and of the points is arbitrary (SfM has no scale).
- ``points.h5``: ``image_names`` (I,) registered images; per 3-D point: ``xyz`` (P, 3)
  float64, ``rgb`` (P, 3) uint8, ``error`` (P,) mean reprojection error in pixels; tracks,
  flattened: point ``p`` owns observations ``track_offsets[p]:track_offsets[p + 1]`` with
  ``track_image`` (T,) index into ``image_names``, ``track_keypoint`` (T,) keypoint index in
  that image, ``track_xy`` (T, 2) position in OpenCV pixels (integer = pixel centre; COLMAP's
  pixel centres are at +0.5, subtracted on export), ``track_size`` (T,) keypoint diameter in
  pixels and ``track_angle`` (T,) orientation in degrees, both as ``cv2.KeyPoint.size`` /
  ``.angle`` (NaN when the feature gives none).
- ``summary.json``: counts, errors, unregistered images and status (see
  :func:`~cvlearned.reconstruction.reconstruct_scene`); ``sparse/``: the COLMAP model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = ["CameraIntrinsics", "ImagePose", "Reconstruction", "camera_intrinsics", "load_reconstruction",
           "read_summary", "relative_pose", "write_json", "write_reconstruction"]

PathLike = str | os.PathLike

#: COLMAP camera model -> (names of its parameters); all map exactly onto OpenCV's model
CAMERA_MODELS = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k1"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
}

TRACK_DATASETS = ("track_image", "track_keypoint", "track_xy", "track_size", "track_angle")


@dataclass(frozen=True, eq=False)
class CameraIntrinsics:
    """One camera in OpenCV's convention: (3, 3) ``K``, (5,) ``dist`` (k1, k2, p1, p2, k3)."""

    model: str
    width: int
    height: int
    K: np.ndarray
    dist: np.ndarray


@dataclass(frozen=True, eq=False)
class ImagePose:
    """A registered image: ``X_cam = R @ X_world + t``, R (3, 3), t (3,)."""

    name: str
    camera_id: int
    R: np.ndarray
    t: np.ndarray

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, ``-R^T t``."""
        return -self.R.T @ self.t


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A scene read by :func:`load_reconstruction` (array layouts: module docstring)."""

    cameras: dict[int, CameraIntrinsics]
    images: dict[str, ImagePose]
    image_names: tuple[str, ...]
    xyz: np.ndarray
    rgb: np.ndarray
    error: np.ndarray
    track_offsets: np.ndarray
    track_image: np.ndarray
    track_keypoint: np.ndarray
    track_xy: np.ndarray
    track_size: np.ndarray
    track_angle: np.ndarray
    summary: dict[str, Any]

    def camera(self, name: str) -> CameraIntrinsics:
        """Intrinsics of registered image ``name``."""
        return self.cameras[self.images[name].camera_id]

    def track_points(self) -> np.ndarray:
        """(T,) index of the 3-D point of each observation."""
        return np.repeat(np.arange(len(self.xyz)), np.diff(self.track_offsets))


def relative_pose(pose0: ImagePose, pose1: ImagePose) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) with ``X1 = R @ X0 + t`` between two images' camera frames (pairs.txt's convention)."""
    R = pose1.R @ pose0.R.T
    return R, pose1.t - R @ pose0.t


# ----------------------------------------------------------------------------- writing


def camera_intrinsics(model: str, width: int, height: int, params: np.ndarray) -> CameraIntrinsics:
    """COLMAP ``model`` and ``params`` (principal point at +0.5) → OpenCV K and distortion."""
    if model not in CAMERA_MODELS:
        raise ValueError(f"camera model {model} has no OpenCV equivalent; use one of {', '.join(CAMERA_MODELS)}")
    values = dict(zip(CAMERA_MODELS[model], np.asarray(params, dtype=np.float64)))
    fx = values.get("fx", values.get("f"))
    fy = values.get("fy", values.get("f"))
    K = np.array([[fx, 0.0, values["cx"] - 0.5], [0.0, fy, values["cy"] - 0.5], [0.0, 0.0, 1.0]])
    dist = np.array([values.get(k, 0.0) for k in ("k1", "k2", "p1", "p2", "k3")])
    return CameraIntrinsics(model, int(width), int(height), K, dist)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON atomically (a temporary file renamed)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _export_cameras(rec: Any) -> dict[str, Any]:
    out = {}
    for camera_id, cam in rec.cameras.items():
        c = camera_intrinsics(cam.model.name, cam.width, cam.height, cam.params)
        out[str(camera_id)] = {"model": c.model, "width": c.width, "height": c.height, "K": c.K.tolist(),
                               "dist": c.dist.tolist(), "colmap_params": [float(v) for v in cam.params]}
    return {"convention": "OpenCV pixels (integer = pixel centre); dist = k1 k2 p1 p2 k3", "cameras": out}


def _export_images(rec: Any) -> dict[str, Any]:
    out = {}
    for image_id in sorted(rec.reg_image_ids(), key=lambda i: rec.image(i).name):
        image = rec.image(image_id)
        pose = image.cam_from_world()
        out[image.name] = {"camera_id": int(image.camera_id), "R": pose.rotation.matrix().tolist(),
                           "t": np.asarray(pose.translation, dtype=np.float64).tolist()}
    return {"convention": "X_cam = R @ X_world + t (world-to-camera, as COLMAP)", "images": out}


def _export_tracks(rec: Any, frames: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-point and flattened per-observation arrays; ``frames[name]`` is (N, 2) size, angle."""
    names = sorted(rec.image(i).name for i in rec.reg_image_ids())
    index = {name: k for k, name in enumerate(names)}
    point_ids = sorted(rec.points3D)
    arrays: dict[str, list] = {k: [] for k in ("xyz", "rgb", "error", *TRACK_DATASETS)}
    offsets = [0]
    for point_id in point_ids:
        point = rec.points3D[point_id]
        arrays["xyz"].append(point.xyz)
        arrays["rgb"].append(point.color)
        arrays["error"].append(point.error)
        for element in point.track.elements:
            image = rec.image(element.image_id)
            kp = element.point2D_idx
            arrays["track_image"].append(index[image.name])
            arrays["track_keypoint"].append(kp)
            arrays["track_xy"].append(np.asarray(image.points2D[kp].xy, dtype=np.float64) - 0.5)
            size_angle = frames.get(image.name)
            arrays["track_size"].append(np.nan if size_angle is None else size_angle[kp, 0])
            arrays["track_angle"].append(np.nan if size_angle is None else size_angle[kp, 1])
        offsets.append(len(arrays["track_image"]))
    dtypes = {"xyz": np.float64, "rgb": np.uint8, "error": np.float64, "track_image": np.int32,
              "track_keypoint": np.int32, "track_xy": np.float64, "track_size": np.float32,
              "track_angle": np.float32}
    shapes = {"xyz": (-1, 3), "rgb": (-1, 3), "track_xy": (-1, 2)}
    out = {k: np.asarray(v, dtype=dtypes[k]).reshape(shapes.get(k, (-1,))) for k, v in arrays.items()}
    out["track_offsets"] = np.asarray(offsets, dtype=np.int64)
    out["image_names"] = np.asarray(names, dtype=object)
    return out


def write_reconstruction(rec: Any, scene_dir: PathLike, frames: Mapping[str, np.ndarray]) -> None:
    """Write ``cameras.json``, ``images.json``, ``points.h5`` and ``sparse/`` of a
    ``pycolmap.Reconstruction`` into ``scene_dir``.

    ``frames``: per image name, (N, 2) keypoint size and angle (OpenCV's meaning) indexed
    like the image's COLMAP keypoints; images without an entry get NaN.
    """
    scene_dir = Path(scene_dir)
    write_json(scene_dir / "cameras.json", _export_cameras(rec))
    write_json(scene_dir / "images.json", _export_images(rec))
    arrays = _export_tracks(rec, frames)
    with h5py.File(scene_dir / "points.h5", "w") as h5:
        h5.attrs["convention"] = "track_xy in OpenCV pixels (integer = pixel centre)"
        for key, value in arrays.items():
            h5.create_dataset(key, data=value, dtype=h5py.string_dtype() if value.dtype == object else value.dtype)
    (scene_dir / "sparse").mkdir(exist_ok=True)
    rec.write(str(scene_dir / "sparse"))


# ----------------------------------------------------------------------------- reading


def read_summary(scene_dir: PathLike) -> dict[str, Any] | None:
    """``summary.json`` of ``scene_dir``, or None when absent."""
    path = Path(scene_dir) / "summary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: not a complete reconstruction (cvlearned data reconstruct)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_reconstruction(scene_dir: PathLike) -> Reconstruction:
    """Read a scene written by ``cvlearned data reconstruct`` (layout: module docstring).

    Raises:
        FileNotFoundError: a file is missing. ValueError: the scene has no model (its
            summary status is not "ok").
    """
    scene_dir = Path(scene_dir)
    summary = _read_json(scene_dir / "summary.json")
    if summary.get("status") != "ok":
        raise ValueError(f"{scene_dir} has no reconstruction: {summary.get('status')}: {summary.get('message', '')}")
    cameras = {int(k): CameraIntrinsics(c["model"], c["width"], c["height"], np.array(c["K"]), np.array(c["dist"]))
               for k, c in _read_json(scene_dir / "cameras.json")["cameras"].items()}
    images = {name: ImagePose(name, int(v["camera_id"]), np.array(v["R"]), np.array(v["t"]))
              for name, v in _read_json(scene_dir / "images.json")["images"].items()}
    if not (scene_dir / "points.h5").is_file():
        raise FileNotFoundError(f"{scene_dir / 'points.h5'} not found")
    with h5py.File(scene_dir / "points.h5", "r") as h5:
        data = {k: h5[k][()] for k in ("xyz", "rgb", "error", "track_offsets", *TRACK_DATASETS)}
        names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in h5["image_names"][()])
    return Reconstruction(cameras=cameras, images=images, image_names=names, summary=summary, **data)
