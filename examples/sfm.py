"""Multi-view reconstruction: cvlearned features + our matches -> COLMAP incremental mapping.

    python examples/sfm.py IMAGE_DIR [--feature NAME] [--out DIR] [--K fx,fy,cx,cy]
                           [--dist k1,k2,p1,p2[,k3]] [--window W] [--max-keypoints N]
                           [--features features.h5 --matches matches.h5]
                           [--verbose] [--no-progress]

Pipeline: every image -> ``detectAndCompute`` -> per image pair (all pairs, or each image
with the next ``--window`` ones) mutual-NN + ratio matching -> essential-matrix RANSAC
(OpenCV) -> the inlier matches, keypoints and intrinsics go into a COLMAP database via
:mod:`cvlearned.adapters.colmap` -> ``pycolmap.incremental_mapping``. COLMAP never sees a
descriptor. Prints registered images, 3D points and the mean reprojection error.

With ``--features`` and ``--matches`` (written by ``cvlearned extract`` / ``cvlearned
match``, see :mod:`cvlearned.io`) nothing is recomputed: the keypoints and the stored
matches of every pair in the match file are read, verified by essential-matrix RANSAC and
imported (:func:`run_from_files`); ``--feature``, ``--window`` and ``--max-keypoints`` do
not apply.

Without ``--K`` all images get ``fx = fy = 1.2 * longest side`` and a centred principal
point, which COLMAP then refines. With ``--dist`` the keypoints are undistorted before
matching and COLMAP sees a pinhole camera. COLMAP's log is shown with ``--verbose`` only.
:func:`compare_to_truth` scores the recovered camera
centres against known ones after a similarity (Umeyama) alignment.
Needs pycolmap (``pip install cvlearned[colmap]``).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from cvlearned import io
from cvlearned.adapters import colmap
from cvlearned.cli_args import (
    HelpFormatter,
    assumed_intrinsics_note,
    camera_matrix,
    default_camera_matrix,
    distortion,
    feature_name,
    positive_int,
    show_progress,
)
from cvlearned.cv_compat import normalized_image_points
from cvlearned.evaluation.bench import make_feature
from cvlearned.evaluation.extraction import Extraction, extract
from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.folder_matching import pair_indices
from cvlearned.reconstruction_database import file_keypoints, verified_file_matches
from cvlearned.registry import default_feature
from cvlearned.synthetic.photos import IMAGE_EXTENSIONS


# ----------------------------------------------------------------------------- matching


def image_pairs(n: int, window: int | None = None) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, to match: all of them, or ``j - i <= window`` (sequences)."""
    return pair_indices(n, window)


def verified_matches(
    ex0: Extraction, ex1: Extraction, K0: np.ndarray, K1: np.ndarray, matching: MatchingOptions,
    threshold_px: float = 1.0, min_inliers: int = 15,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None:
    """Descriptor matches that survive essential-matrix RANSAC.

    Returns ((M, 2) inlier index pairs, (R, t) with ``X1 = R X0 + t``), or None when fewer
    than ``min_inliers`` survive.
    """
    matches, _ = matching.match(ex0.descriptors, ex1.descriptors, norm=ex0.norm)
    return verified_inliers(ex0.points, ex1.points, matches, K0, K1, threshold_px, min_inliers)


verified_inliers = colmap.verified_inliers


# ----------------------------------------------------------------------------- ground truth


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s * R @ src + t`` (Umeyama 1991).

    Args:
        src, dst: (N, 3) corresponding points, N >= 3 (N >= 2 gives a valid, non-unique R).
    Returns:
        (s, R (3, 3) proper rotation, t (3,)).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 3 or src.shape != dst.shape:
        raise ValueError(f"src and dst must both be (N, 3), got {src.shape} and {dst.shape}")
    if len(src) < 2:
        raise ValueError(f"need at least 2 point pairs, got {len(src)}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    var_s = float((xs**2).sum(1).mean())
    if var_s < 1e-24:
        raise ValueError("source points coincide: the scale is undefined")
    U, D, Vt = np.linalg.svd(xd.T @ xs / len(src))
    S = np.diag([1.0, 1.0, np.sign(np.linalg.det(U) * np.linalg.det(Vt)) or 1.0])
    R = U @ S @ Vt
    s = float(np.trace(np.diag(D) @ S) / var_s)
    return s, R, mu_d - s * R @ mu_s


@dataclass(frozen=True)
class TruthComparison:
    """Estimated vs true camera centres after similarity alignment."""

    num_compared: int
    rms_error: float  # in the units of the true centres
    extent: float  # largest distance between two true centres
    relative_rms: float  # rms_error / extent
    scale: float  # similarity scale, reconstruction -> truth


def compare_to_truth(reconstruction: Any, true_centres: Mapping[str, np.ndarray]) -> TruthComparison:
    """Align the registered camera centres to ``{image name: (3,) true centre}`` (Umeyama)
    and report the RMS centre error, also relative to the trajectory extent."""
    estimated = colmap.camera_centres(reconstruction)
    names = sorted(set(estimated) & set(true_centres))
    if len(names) < 3:
        raise ValueError(f"need >= 3 registered images with a true centre, got {len(names)}")
    est = np.stack([estimated[n] for n in names])
    true = np.stack([np.asarray(true_centres[n], dtype=np.float64).reshape(3) for n in names])
    s, R, t = umeyama(est, true)
    rms = float(np.sqrt(((s * est @ R.T + t - true) ** 2).sum(1).mean()))
    extent = float(max(np.linalg.norm(a - b) for a, b in itertools.combinations(true, 2)))
    return TruthComparison(len(names), rms, extent, rms / extent if extent > 0 else float("nan"), s)


# ----------------------------------------------------------------------------- pipeline


@dataclass
class SfmResult:
    """What :func:`run` produced."""

    feature: str
    summary: colmap.ReconstructionSummary
    reconstruction: Any  # pycolmap.Reconstruction or None
    num_pairs: int  # pairs matched
    num_verified_pairs: int  # pairs written to the database
    seconds: dict[str, float]  # "features", "matching", "mapping"


def list_images(image_dir: Path) -> list[Path]:
    """Image files of ``image_dir`` (not recursive), sorted by name."""
    if not image_dir.is_dir():
        raise FileNotFoundError(f"image folder {image_dir} does not exist")
    files = sorted(p for p in image_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if len(files) < 2:
        raise ValueError(f"need at least 2 images in {image_dir}, found {len(files)}")
    return files


def undistorted_pixels(points: np.ndarray, K: np.ndarray, dist: np.ndarray | None) -> np.ndarray:
    """(N, 2) pixels of a camera with distortion ``dist`` → (N, 2) pixels of the ideal
    pinhole camera ``K`` (unchanged when ``dist`` is None)."""
    if dist is None:
        return points
    normalized = normalized_image_points(points, K, dist)
    return normalized @ K[:2, :2].T + K[:2, 2]


colmap_log = colmap.colmap_log


def run(
    image_dir: str | Path,
    feature: str | None = None,
    out_dir: str | Path = "sfm_out",
    K: np.ndarray | None = None,
    window: int | None = None,
    max_keypoints: int | None = 2048,
    matching: MatchingOptions = MatchingOptions(mutual=True, ratio=0.8),
    options: Any = None,
    dist: np.ndarray | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> SfmResult:
    """Reconstruct the images of ``image_dir`` (see the module docstring).

    Args:
        K: (3, 3) intrinsics shared by all images (kept fixed), or None to guess and refine.
        dist: (4,) or (5,) OpenCV distortion k1, k2, p1, p2[, k3] of ``K`` (None: none).
        window: match each image with the next ``window`` images only; None = all pairs.
        options: ``pycolmap.IncrementalPipelineOptions`` (default ``colmap.mapping_options``).
        progress: tqdm bars over images and pairs. verbose: show COLMAP's log.
    """
    if dist is not None and K is None:
        raise ValueError("dist needs K (distortion coefficients are relative to K)")
    name = feature or default_feature()
    files = list_images(Path(image_dir))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    feat = make_feature(name, max_keypoints)
    extractions = []
    cameras = []
    for f in tqdm(files, desc="features", unit="image", disable=not progress):
        image = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {f}")
        h, w = image.shape[:2]
        cameras.append(colmap.PinholeCamera(default_camera_matrix(w, h) if K is None else K, w, h))
        ex = extract(feat, image)
        extractions.append(dataclasses.replace(ex, points=undistorted_pixels(ex.points, cameras[-1].K, dist)))
    seconds["features"] = time.perf_counter() - start

    start = time.perf_counter()
    pairs = image_pairs(len(files), window)
    matches, poses = {}, {}
    for i, j in tqdm(pairs, desc="matching", unit="pair", disable=not progress):
        found = verified_matches(extractions[i], extractions[j], cameras[i].K, cameras[j].K, matching)
        if found is not None:
            matches[(i, j)], poses[(i, j)] = found
    seconds["matching"] = time.perf_counter() - start

    start = time.perf_counter()
    reconstruction = map_database(out, Path(image_dir), [f.name for f in files], cameras,
                                  [e.points for e in extractions], matches, poses, options, K is None, verbose)
    seconds["mapping"] = time.perf_counter() - start
    summary = colmap.summarize(reconstruction, len(files))
    return SfmResult(name, summary, reconstruction, len(pairs), len(matches), seconds)


def map_database(
    out: Path, image_dir: Path, names: Sequence[str], cameras: Sequence[colmap.PinholeCamera],
    points: Sequence[np.ndarray], matches: dict, poses: dict, options: Any, refine_intrinsics: bool, verbose: bool,
) -> Any:
    """Write ``out/database.db`` (verified ``matches`` / ``poses`` keyed by image index
    pairs) and run COLMAP's incremental mapping into ``out/sparse``."""
    db_path = out / "database.db"
    with colmap_log(verbose):
        colmap.write_database(db_path, names, cameras, points, matches, poses=poses, overwrite=True)
        if options is None:
            options = colmap.mapping_options(refine_intrinsics=refine_intrinsics)
        return colmap.reconstruct(db_path, image_dir, out / "sparse", options)


def stored_pairs(matches_path: str | Path, names: Sequence[str]) -> list[tuple[str, str]]:
    """The (name0, name1) pairs of a ``matches.h5`` whose images are among ``names``
    (hloc's pair keys replace "/" in names by "-"; ValueError if that makes names ambiguous)."""
    by_key: dict[str, str] = {}
    for name in names:
        key = name.replace("/", "-")
        if by_key.setdefault(key, name) != name:
            raise ValueError(f"image names {by_key[key]!r} and {name!r} have the same pair key {key!r}")
    pairs = []
    for key in io.pair_names(matches_path):
        key0, key1 = key.split("/")
        if key0 in by_key and key1 in by_key:
            pairs.append((by_key[key0], by_key[key1]))
    return pairs


def run_from_files(
    image_dir: str | Path,
    features: str | Path,
    matches_file: str | Path,
    out_dir: str | Path = "sfm_out",
    K: np.ndarray | None = None,
    options: Any = None,
    dist: np.ndarray | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> SfmResult:
    """Reconstruct from ``cvlearned extract`` / ``cvlearned match`` files: every image of
    ``features`` (found under ``image_dir``), every pair of ``matches_file`` between them;
    stored matches are verified (essential-matrix RANSAC), never recomputed. Arguments as
    :func:`run`."""
    if dist is not None and K is None:
        raise ValueError("dist needs K (distortion coefficients are relative to K)")
    names = io.feature_names(features)
    if len(names) < 2:
        raise ValueError(f"need at least 2 images in {features}, found {len(names)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with io.open_h5(features) as h5:
        feature = str(h5.attrs.get("feature", "unknown"))
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    cameras, pixels, _ = file_keypoints(Path(features), names, K)
    points = [undistorted_pixels(p, camera.K, dist) for p, camera in zip(pixels, cameras)]
    seconds["features"] = time.perf_counter() - start

    start = time.perf_counter()
    pairs = stored_pairs(matches_file, names)
    matches, poses = verified_file_matches(Path(matches_file), pairs, names, cameras, points, progress)
    seconds["matching"] = time.perf_counter() - start

    start = time.perf_counter()
    reconstruction = map_database(out, Path(image_dir), names, cameras, points, matches, poses, options,
                                  K is None, verbose)
    seconds["mapping"] = time.perf_counter() - start
    summary = colmap.summarize(reconstruction, len(names))
    return SfmResult(feature, summary, reconstruction, len(pairs), len(matches), seconds)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("image_dir", type=Path, help="folder of the images (not recursive)")
    parser.add_argument("--feature", type=feature_name, default=default_feature(), help="registered feature")
    parser.add_argument("--out", type=Path, default=Path("sfm_out"), help="database + models folder")
    parser.add_argument("--K", type=camera_matrix, default=None, metavar="FX,FY,CX,CY",
                        help="intrinsics shared by all images, kept fixed: fx,fy,cx,cy or 9 row-major "
                             "values (default: focal 1.2 x longest side, refined by COLMAP)")
    parser.add_argument("--dist", type=distortion, default=None, metavar="K1,K2,P1,P2[,K3]",
                        help="OpenCV distortion of --K (default: none)")
    parser.add_argument("--window", type=positive_int, default=None, metavar="W",
                        help="match each image with the next W only (default: all pairs)")
    parser.add_argument("--max-keypoints", type=positive_int, default=2048, metavar="N", help="keypoints per image")
    parser.add_argument("--features", type=Path, default=None, metavar="FEATURES_H5",
                        help="reconstruct from this cvlearned extract file (with --matches) instead of extracting")
    parser.add_argument("--matches", type=Path, default=None, metavar="MATCHES_H5",
                        help="cvlearned match file of --features: its pairs are verified and mapped")
    parser.add_argument("--verbose", action="store_true", help="show COLMAP's log")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (they are drawn only when stderr is a terminal)")
    return parser


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parsed options; a missing or nearly empty folder or --dist without --K is a usage error."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.dist is not None and args.K is None:
        parser.error("--dist needs --K (distortion coefficients are relative to K)")
    if (args.features is None) != (args.matches is None):
        parser.error("--features and --matches go together")
    try:
        args.files = list_images(args.image_dir)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit status 0 ok, 1 nothing registered or failed, 2 bad input."""
    args = _parse_args(argv)
    if args.K is None:
        first = cv2.imread(str(args.files[0]), cv2.IMREAD_COLOR)
        if first is not None:
            note = assumed_intrinsics_note(default_camera_matrix(first.shape[1], first.shape[0]))
            print(f"{note} for {first.shape[1]}x{first.shape[0]} images; COLMAP refines the focal length")
    progress = show_progress(args.no_progress)
    try:
        if args.features is not None:
            result = run_from_files(args.image_dir, args.features, args.matches, args.out, args.K, dist=args.dist,
                                    progress=progress, verbose=args.verbose)
        else:
            result = run(args.image_dir, args.feature, args.out, args.K, args.window, args.max_keypoints,
                         dist=args.dist, progress=progress, verbose=args.verbose)
    except (ValueError, OSError, RuntimeError, KeyError) as exc:
        print(f"sfm.py: error: {exc}", file=sys.stderr)
        return 1
    s = result.summary
    print(f"feature {result.feature}: {result.num_verified_pairs}/{result.num_pairs} pairs verified")
    print(f"registered images: {s.num_registered}/{s.num_images}")
    print(f"3D points: {s.num_points3D}")
    print(f"mean reprojection error: {s.mean_reprojection_error:.3f} px")
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    print(f"COLMAP models: {args.out / 'sparse'}")
    return 0 if s.num_registered else 1


if __name__ == "__main__":
    sys.exit(main())
