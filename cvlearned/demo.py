"""``cvlearned demo``: two views → features → matches → essential matrix → relative pose.

Without image arguments the pair is rendered offline (a textured piecewise-planar room
seen by two calibrated cameras, textures from scikit-image's bundled photos), so the true
pose is known and the table reports the pose deviation as in the UCN paper's Table 6.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cvlearned.datasets.types import PosePair
from cvlearned.evaluation.bench import make_feature
from cvlearned.evaluation.extraction import extract
from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.evaluation.metrics import estimate_relative_pose, rotation_error_deg
from cvlearned.evaluation.pair_eval import pose_errors
from cvlearned.registry import list_features
from cvlearned.visualization import draw_matches


@dataclass(frozen=True)
class DemoRow:
    """One feature's result on the demo pair (errors are None without ground truth)."""

    feature: str
    rot_err_deg: float | None
    trans_err_deg: float | None
    matches: int
    inliers: int
    ms_per_image: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned demo``."""
    parser.add_argument("images", nargs="*", help="IMG1 IMG2 (default: a rendered pair with ground truth)")
    parser.add_argument("--K", default=None, help="fx,fy,cx,cy of both images (default for user images: "
                                                  "focal 1.2 x longest side, centred principal point)")
    parser.add_argument("--features", default=None, help="comma-separated names (default: all registered)")
    parser.add_argument("--max-keypoints", type=int, default=2048)
    parser.add_argument("--out", type=Path, default=Path("demo_matches.png"), help="match visualisation PNG")
    parser.add_argument("--seed", type=int, default=3, help="seed of the rendered pair")


def rendered_pair(seed: int) -> PosePair:
    """The default demo pair: a rendered room with exact pose and depth."""
    from cvlearned.synthetic import make_scene_pairs

    return make_scene_pairs(n_pairs=1, layout="room", size=(640, 480), seed=seed)[0]


def user_pair(paths: list[str], k_text: str | None) -> PosePair:
    """A pair of user images with shared intrinsics and unknown pose (R, t = NaN)."""
    if len(paths) != 2:
        raise SystemExit("cvlearned demo takes exactly two images: IMG1 IMG2")
    images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    for path, image in zip(paths, images):
        if image is None:
            raise SystemExit(f"cannot read image {path}")
    h, w = images[0].shape[:2]
    if k_text:
        fx, fy, cx, cy = (float(v) for v in k_text.split(","))
    else:
        fx = fy = 1.2 * max(w, h)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        print(f"no --K given: assuming fx=fy={fx:.0f}, cx={cx:.1f}, cy={cy:.1f}")
    K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], float)
    nan = np.full(3, np.nan)
    return PosePair("user", images[0], images[1], K, K, np.full((3, 3), np.nan), nan)


def run_feature(name: str, pair: PosePair, max_keypoints: int, matching: MatchingOptions) -> tuple[DemoRow, np.ndarray]:
    """Evaluate one feature on the pair; returns its row and a match visualisation."""
    feature = make_feature(name, max_keypoints)
    extract(feature, pair.image0)  # warm-up, not timed
    ex0, ex1 = extract(feature, pair.image0), extract(feature, pair.image1)
    matches, _ = matching.match(ex0.descriptors, ex1.descriptors, norm=ex0.norm)
    pose = estimate_relative_pose(ex0.points[matches[:, 0]], ex1.points[matches[:, 1]], pair.K0, pair.K1,
                                  D0=pair.D0, D1=pair.D1)
    rot = trans = None
    if np.isfinite(pair.R).all():  # ground truth known
        rot, trans = pose_errors(pose, pair.R, pair.t)
    inliers = np.zeros(len(matches), bool) if pose is None else pose.inliers
    row = DemoRow(name, rot, trans, len(matches), int(inliers.sum()), (ex0.ms + ex1.ms) / 2)
    canvas = draw_matches(pair.image0, ex0.keypoints, pair.image1, ex1.keypoints, matches, inliers,
                          title=f"{name}: {row.inliers}/{row.matches} inliers")
    return row, canvas


def format_table(rows: list[DemoRow]) -> str:
    """The UCN-style table: rotation / translation deviation, matches, inliers, ms/image."""
    lines = ["| feature | rot. dev. (°) | trans. dev. (°) | matches | inliers | ms/image |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        rot = "–" if r.rot_err_deg is None else f"{r.rot_err_deg:.2f}"
        trans = "–" if r.trans_err_deg is None else f"{r.trans_err_deg:.2f}"
        lines.append(f"| {r.feature} | {rot} | {trans} | {r.matches} | {r.inliers} | {r.ms_per_image:.1f} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Execute ``cvlearned demo``."""
    pair = user_pair(args.images, args.K) if args.images else rendered_pair(args.seed)
    features = args.features.split(",") if args.features else list_features()
    matching = MatchingOptions(mutual=True, ratio=0.8)
    if not args.images:
        print(f"rendered pair '{pair.name}': 640x480, true rotation "
              f"{rotation_error_deg(np.eye(3), pair.R):.1f}°, baseline {np.linalg.norm(pair.t):.2f} m")
    rows, canvases = [], []
    for name in features:
        row, canvas = run_feature(name, pair, args.max_keypoints, matching)
        rows.append(row)
        canvases.append(canvas)
    print(format_table(rows))
    mosaic = np.vstack(canvases)
    if mosaic.shape[0] > 4000:
        mosaic = cv2.resize(mosaic, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), mosaic)
    print(f"match visualisation (green = RANSAC inliers): {args.out}")
    return 0
