"""Two-view reconstruction: matches → essential matrix → relative pose → coloured point cloud.

    python examples/two_view.py IMG1 IMG2 [--K fx,fy,cx,cy | --K k11,...,k33] [--dist k1,k2,p1,p2[,k3]]
        [--feature NAME] [--matcher NAME | lightglue:PATH] [--method ransac|magsac] [--gt FILE_OR_VALUES] [--out DIR]

Features are matched by ``--matcher`` (default ``ratio``: mutual nearest neighbours and
Lowe's ratio test 0.8; ``mnn``; a shipped learned matcher; or ``lightglue:PATH``, a
LightGlue weight file for the feature's descriptors), the essential
matrix is found with ``cv2.findEssentialMat`` (RANSAC or ``cv2.USAC_MAGSAC``) and decomposed
with ``cv2.recoverPose``; inliers are triangulated (``cv2.triangulatePoints``) in camera-1
coordinates with unit baseline. Prints the estimated pose (rotation as angle about an axis,
translation as unit direction, :mod:`cvlearned.pose_text`) and writes ``DIR/points.ply``
(ASCII, colours from IMG1) and ``DIR/matches.png`` (green = RANSAC inliers, red = outliers;
with ``--gt`` green = within 3 px of the true epipolar line, red = farther). ``--gt`` is the
true pose ``X2 = R X1 + t`` as a 3x4 ``[R | t]`` matrix, row-major: 12 numbers inline
(comma/space separated) or in a text file; the deviations from it are printed too.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

import cvlearned
from cvlearned.cli_args import (
    HelpFormatter,
    assumed_intrinsics_note,
    camera_matrix,
    default_camera_matrix,
    distortion,
    feature_name,
    matcher_spec,
    number_list,
)
from cvlearned.cv_compat import normalized_image_points
from cvlearned.datasets.types import PosePair
from cvlearned.evaluation.bench import make_feature
from cvlearned.evaluation.extraction import extract
from cvlearned.evaluation.match_truth import MatchTruth, label_matches
from cvlearned.evaluation.metrics import RelativePose, estimate_relative_pose
from cvlearned.evaluation.pair_eval import match_extractions, pose_errors
from cvlearned.matchers.spec import DEFAULT_MATCHER, IncompatibleMatcher, MatcherChoice, matcher_for, parse_matcher
from cvlearned.pose_text import format_direction, format_rotation, pose_lines
from cvlearned.visualization import draw_matches

METHODS = ("ransac", "magsac")


@dataclass(frozen=True)
class TwoViewResult:
    """Outcome of :func:`run`.

    R (3, 3), t (3,) unit: estimated ``X2 = R X1 + t`` (None when estimation failed);
    points (P, 3) float64 triangulated inliers in camera-1 coordinates (|baseline| = 1);
    colors (P, 3) uint8 RGB sampled from image 1; rot_err_deg / trans_err_deg: deviation
    from ``--gt`` (None without ground truth, inf when estimation failed); matcher: the
    ``--matcher`` label.
    """

    feature: str
    num_matches: int
    num_inliers: int
    R: np.ndarray | None
    t: np.ndarray | None
    points: np.ndarray
    colors: np.ndarray
    rot_err_deg: float | None = None
    trans_err_deg: float | None = None
    ply_path: Path | None = None
    matches_path: Path | None = None
    matcher: str = DEFAULT_MATCHER


def parse_gt(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A file holding, or an inline string of, 12 numbers ``[R | t]`` row-major → (R (3, 3), t (3,))."""
    path = Path(text)
    v = number_list(path.read_text() if path.is_file() else text)
    if len(v) != 12:
        raise ValueError(f"--gt needs 12 numbers (3x4 [R | t], row-major), got {len(v)}")
    Rt = np.array(v).reshape(3, 4)
    R, t = Rt[:, :3], Rt[:, 3]
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-4) or np.linalg.det(R) < 0:
        raise ValueError("--gt rotation is not a rotation matrix")
    return R, t


def read_image(path: str | Path) -> np.ndarray:
    """``cv2.imread`` as BGR; FileNotFoundError when missing or unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return image


def triangulate(pts0: np.ndarray, pts1: np.ndarray, K0: np.ndarray, K1: np.ndarray, R: np.ndarray,
                t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate (N, 2) pixel matches → ((N, 3) points in camera-0 frame, (N,) bool in front of both)."""
    P0 = K0 @ np.hstack([np.eye(3), np.zeros((3, 1))])
    P1 = K1 @ np.hstack([R, t.reshape(3, 1)])
    X = cv2.triangulatePoints(P0, P1, pts0.T.astype(np.float64), pts1.T.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        X = (X[:3] / X[3]).T
    z1 = X @ R[2] + t[2]
    valid = np.isfinite(X).all(axis=1) & (X[:, 2] > 0) & (z1 > 0)
    return X, valid


def sample_colors(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """RGB uint8 (N, 3) of ``image`` (BGR or gray) at the nearest pixels of (N, 2) ``points``."""
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    h, w = bgr.shape[:2]
    x = np.clip(np.rint(points[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.rint(points[:, 1]).astype(int), 0, h - 1)
    return bgr[y, x][:, ::-1].copy()


def write_ply(path: Path, points: np.ndarray, colors: np.ndarray) -> None:
    """ASCII PLY with (N, 3) float vertices and (N, 3) uint8 RGB colours."""
    if points.shape != colors.shape or points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points and colors must both be (N, 3), got {points.shape} and {colors.shape}")
    header = ["ply", "format ascii 1.0", f"element vertex {len(points)}", "property float x",
              "property float y", "property float z", "property uchar red", "property uchar green",
              "property uchar blue", "end_header"]
    rows = [f"{x:.6g} {y:.6g} {z:.6g} {r} {g} {b}" for (x, y, z), (r, g, b) in zip(points, colors.astype(int))]
    path.write_text("\n".join(header + rows) + "\n")


def run(
    image0: np.ndarray | str | Path,
    image1: np.ndarray | str | Path,
    K: np.ndarray | None = None,
    *,
    feature: str | None = None,
    method: str = "ransac",
    gt: tuple[np.ndarray, np.ndarray] | None = None,
    out_dir: str | Path | None = None,
    max_keypoints: int | None = 2048,
    matcher: str | MatcherChoice = DEFAULT_MATCHER,
    dist: np.ndarray | None = None,
) -> TwoViewResult:
    """Relative pose and point cloud of two views sharing intrinsics ``K`` (3, 3) and
    OpenCV distortion ``dist`` ((4,) or (5,) k1, k2, p1, p2[, k3]; None = none).

    Images are BGR arrays or paths; ``K=None`` uses :func:`cvlearned.cli_args.default_camera_matrix`;
    ``matcher`` is a ``--matcher`` value (:mod:`cvlearned.matchers.spec`); a learned matcher
    that cannot take the feature's descriptors raises ValueError.
    Matches are undistorted for pose estimation and triangulation. With ``out_dir`` the
    PLY and the match visualisation are written there.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    img0 = image0 if isinstance(image0, np.ndarray) else read_image(image0)
    img1 = image1 if isinstance(image1, np.ndarray) else read_image(image1)
    K = default_camera_matrix(img0.shape[1], img0.shape[0]) if K is None else np.asarray(K, np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be (3, 3), got {K.shape}")
    name = cvlearned.default_feature() if feature is None else feature
    choice = parse_matcher(matcher) if isinstance(matcher, str) else matcher
    detector = make_feature(name, max_keypoints)
    descriptor_matcher = matcher_for(choice, name, detector)
    ex0, ex1 = extract(detector, img0), extract(detector, img1)
    matches = match_extractions(descriptor_matcher, ex0, ex1, img0, img1)
    pts0, pts1 = ex0.points[matches[:, 0]], ex1.points[matches[:, 1]]
    D = np.zeros(5) if dist is None else np.asarray(dist, np.float64)
    pose = estimate_relative_pose(pts0, pts1, K, K, method=method, D0=D, D1=D)

    inliers = np.zeros(len(matches), bool) if pose is None else pose.inliers
    points, colors = np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    if pose is not None and inliers.any():
        n0, n1 = (normalized_image_points(p[inliers], K, D) for p in (pts0, pts1))
        X, valid = triangulate(n0, n1, np.eye(3), np.eye(3), pose.R, pose.t)
        points, colors = X[valid], sample_colors(img0, pts0[inliers][valid])
    rot_err = trans_err = None
    if gt is not None:
        rot_err, trans_err = pose_errors(pose, gt[0], gt[1])

    ply_path = matches_path = None
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        ply_path, matches_path = out / "points.ply", out / "matches.png"
        write_ply(ply_path, points, colors)
        truth = None if gt is None else label_matches(PosePair("gt", img0, img1, K, K, gt[0], gt[1], D, D), pts0, pts1)
        title = match_picture_title(f"{name} + {choice.label}", method, pose, (len(ex0.points), len(ex1.points)),
                                    inliers, truth)
        canvas = draw_matches(img0, ex0.keypoints, img1, ex1.keypoints, matches,
                              inliers if truth is None else truth.correct, title, max_lines=150)
        cv2.imwrite(str(matches_path), canvas)
    return TwoViewResult(
        feature=name, num_matches=len(matches), num_inliers=int(inliers.sum()),
        R=None if pose is None else pose.R, t=None if pose is None else pose.t,
        points=points, colors=colors, rot_err_deg=rot_err, trans_err_deg=trans_err,
        ply_path=ply_path, matches_path=matches_path, matcher=choice.label,
    )


def match_picture_title(name: str, method: str, pose: RelativePose | None, keypoints: tuple[int, int],
                        inliers: np.ndarray, truth: MatchTruth | None) -> list[str]:
    """Caption of ``matches.png``: estimated pose, counts, and what green and red mean."""
    estimate = ("pose estimation failed" if pose is None
                else f"R {format_rotation(pose.R)}, t {format_direction(pose.t)}")
    counts = f"keypoints {keypoints[0]}/{keypoints[1]}, {len(inliers)} matches, {int(inliers.sum())} RANSAC inliers"
    if truth is None:
        colours = "green = RANSAC inliers, red = RANSAC outliers"
    else:
        counts += f", {int(truth.correct.sum())} correct"
        colours = f"green = correct within {truth.threshold_px:g} px by --gt ({truth.rule}), red = wrong"
    return [f"{name} / {method}: {estimate}", counts, colours]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("images", nargs=2, metavar="IMG", help="IMG1 IMG2")
    parser.add_argument("--K", type=camera_matrix, default=None, metavar="FX,FY,CX,CY",
                        help="intrinsics of both images: fx,fy,cx,cy or 9 row-major values (default: "
                             "focal 1.2 x longest side, centred principal point)")
    parser.add_argument("--dist", type=distortion, default=None, metavar="K1,K2,P1,P2[,K3]",
                        help="OpenCV distortion of both images (needs --K; default: none)")
    parser.add_argument("--feature", type=feature_name, default=cvlearned.default_feature(),
                        help=f"registered feature, any of {', '.join(cvlearned.list_features())}")
    parser.add_argument("--matcher", type=matcher_spec, default=parse_matcher(DEFAULT_MATCHER), metavar="SPEC",
                        help="a registered matcher (mnn | ratio = mutual NN + ratio 0.8 | a shipped learned one) "
                             "or lightglue:PATH, a LightGlue weight file for --feature (default: ratio)")
    parser.add_argument("--method", choices=METHODS, default="ransac", help="essential-matrix estimator")
    parser.add_argument("--gt", default=None, help="true [R | t] (3x4 row-major): 12 values or a file")
    parser.add_argument("--out", type=Path, default=Path("two_view_out"), help="output folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exit status 0 ok, 1 pose estimation failed, 2 bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.dist is not None and args.K is None:
        parser.error("--dist needs --K (distortion coefficients are relative to K)")
    try:
        images = [read_image(p) for p in args.images]
        gt = parse_gt(args.gt) if args.gt else None
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    K = args.K
    if K is None:
        K = default_camera_matrix(images[0].shape[1], images[0].shape[0])
        print(assumed_intrinsics_note(K))
    try:
        result = run(images[0], images[1], K, feature=args.feature, method=args.method, gt=gt, out_dir=args.out,
                     matcher=args.matcher, dist=args.dist)
    except IncompatibleMatcher as exc:
        parser.error(f"--matcher: {exc}")
    print(f"{result.feature} + {result.matcher} / {args.method}: {result.num_matches} matches, "
          f"{result.num_inliers} inliers, "
          f"{len(result.points)} points → {result.ply_path}; matches → {result.matches_path}")
    if result.R is None:
        print("relative pose estimation failed", file=sys.stderr)
        return 1
    print("\n".join(pose_lines(result.R, result.t, result.rot_err_deg, result.trans_err_deg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
