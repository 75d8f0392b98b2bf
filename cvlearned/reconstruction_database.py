"""Features and verified matches of one scene into a COLMAP database (for
:mod:`cvlearned.reconstruction`): COLMAP's SIFT pipeline, or a registered cvlearned feature
through ``features.h5`` / ``matches.h5`` and :mod:`cvlearned.adapters.colmap`.

Both return, per image name, the (N, 2) keypoint ``size`` and ``angle`` in OpenCV's
meaning (``cv2.KeyPoint``), indexed like the image's keypoints in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from cvlearned import io
from cvlearned.adapters import colmap
from cvlearned.cli_args import default_camera_matrix
from cvlearned.folder_extraction import extract_images, make_bulk_feature
from cvlearned.folder_matching import image_pairs, match_pairs

if TYPE_CHECKING:
    from cvlearned.reconstruction import ReconstructOptions, SceneImages

__all__ = ["feature_database", "file_keypoints", "sift_database", "sift_frames", "verified_file_matches"]


def sift_frames(db_path: Path) -> dict[str, np.ndarray]:
    """Per image name, (N, 2) OpenCV size and angle of COLMAP SIFT keypoints, from their
    affine shape ``[a11 a12; a21 a22]``: scale = mean column norm (OpenCV's size is 2 x
    scale, measured 2.02 on matching keypoints), angle = atan2(a21, a11) in degrees."""
    pycolmap = colmap.import_pycolmap()
    frames = {}
    with pycolmap.Database.open(str(db_path)) as db:
        for image in db.read_all_images():
            kp = np.asarray(db.read_keypoints(image.image_id), dtype=np.float64)
            if kp.ndim != 2 or kp.shape[1] != 6:
                continue
            a = kp[:, 2:].reshape(-1, 2, 2)
            scale = 0.5 * (np.linalg.norm(a[:, :, 0], axis=1) + np.linalg.norm(a[:, :, 1], axis=1))
            angle = np.degrees(np.arctan2(a[:, 1, 0], a[:, 0, 0])) % 360.0
            frames[image.name] = np.stack([2.0 * scale, angle], axis=1)
    return frames


def sift_database(scene: SceneImages, db_path: Path, options: ReconstructOptions) -> dict[str, np.ndarray]:
    """COLMAP SIFT extraction, matching and verification into ``db_path``; returns
    :func:`sift_frames`."""
    pycolmap = colmap.import_pycolmap()
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = options.camera_model
    mode = pycolmap.CameraMode.SINGLE if options.single_camera else pycolmap.CameraMode.AUTO
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = options.num_threads
    if options.max_side is not None:
        extraction.max_image_size = options.max_side
    pycolmap.extract_features(db_path, scene.image_dir, image_names=list(scene.image_names),
                              camera_mode=mode, reader_options=reader,
                              extraction_options=extraction)
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = options.num_threads
    if options.matcher == "exhaustive":
        pycolmap.match_exhaustive(db_path, matching_options=matching)
    else:
        pairing = pycolmap.SequentialPairingOptions()
        pairing.overlap = options.window
        pycolmap.match_sequential(db_path, matching_options=matching, pairing_options=pairing)
    return sift_frames(db_path)


def file_keypoints(
    features: Path, names: Sequence[str], K: np.ndarray | None = None,
) -> tuple[list[colmap.PinholeCamera], list[np.ndarray], dict[str, np.ndarray]]:
    """Per image of ``features.h5``: its pinhole camera (``K``, or the assumed
    :func:`~cvlearned.cli_args.default_camera_matrix`), (N, 2) keypoint positions, and
    (name -> (N, 2) size, angle with NaN where the feature gives no angle)."""
    cameras, points, frames = [], [], {}
    for name in names:
        keypoints, _, (w, h) = io.read_features(features, name)
        cameras.append(colmap.PinholeCamera(default_camera_matrix(w, h) if K is None else K, w, h))
        points.append(np.array([kp.pt for kp in keypoints], np.float64).reshape(-1, 2))
        frames[name] = np.array([(kp.size, kp.angle if kp.angle >= 0 else np.nan)
                                 for kp in keypoints], np.float64).reshape(-1, 2)
    return cameras, points, frames


def verified_file_matches(
    matches_path: Path, pairs: Sequence[tuple[str, str]], names: Sequence[str],
    cameras: Sequence[colmap.PinholeCamera], points: Sequence[np.ndarray], progress: bool = False,
) -> tuple[dict[tuple[int, int], np.ndarray], dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """The stored matches of ``pairs`` (names of ``names``) that survive essential-matrix
    RANSAC, and their poses, keyed by image index pairs, as
    :func:`cvlearned.adapters.colmap.write_database` takes them."""
    index = {name: k for k, name in enumerate(names)}
    verified, poses = {}, {}
    for name0, name1 in tqdm(pairs, desc="verification", unit="pair", disable=not progress):
        i, j = index[name0], index[name1]
        found = colmap.verified_inliers(points[i], points[j], io.read_matches(matches_path, name0, name1)[0],
                                        cameras[i].K, cameras[j].K)
        if found is not None:
            verified[(i, j)], poses[(i, j)] = found
    return verified, poses


def feature_database(scene: SceneImages, out: Path, options: ReconstructOptions,
                     progress: bool) -> dict[str, np.ndarray]:
    """A registered feature: ``out/features.h5`` and ``out/matches.h5`` (as ``cvlearned
    extract`` / ``match`` write them), essential-matrix verification of every pair, then
    :func:`cvlearned.adapters.colmap.write_database` into ``out/database.db``."""
    features, matches_path = out / "features.h5", out / "matches.h5"
    feature = make_bulk_feature(options.feature, options.max_side)
    extract_images(scene.image_dir, scene.image_names, feature, options.feature, features, 0, progress)
    names = io.feature_names(features)
    pairs = image_pairs(names, options.matcher, options.window)
    match_pairs(features, pairs, matches_path, options.descriptor_matcher, progress)
    cameras, points, frames = file_keypoints(features, names)
    verified, poses = verified_file_matches(matches_path, pairs, names, cameras, points)
    colmap.write_database(out / "database.db", names, cameras, points, verified, poses=poses, overwrite=True)
    return frames
