"""``cvlearned demo``: two views → features → matches → essential matrix → relative pose.

Without image arguments the pair is rendered offline (a textured piecewise-planar room
seen by two calibrated cameras, textures from scikit-image's bundled photos), so the true
pose is known and the table reports the pose deviation as in the UCN paper's Table 6.
Every feature's estimated pose is printed (rotation as angle about an axis, translation as
unit direction, :mod:`cvlearned.pose_text`); rows are sorted by pose error
``max(rotation, translation)`` (without ground truth: by RANSAC inliers). The picture is a
grid with one panel per feature, in table order: green lines are matches correct by ground
truth (RANSAC inliers without it), red lines wrong ones (RANSAC outliers). Every feature is
matched by one ``--matcher`` (default ``ratio``: mutual nearest neighbour + ratio 0.8); a
learned matcher runs only on the features whose descriptors it takes, the others are skipped
with a note.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from cvlearned.cli_args import (
    assumed_intrinsics_note,
    camera_matrix,
    default_camera_matrix,
    distortion,
    feature_list,
    matcher_spec,
    positive_int,
    show_progress,
)
from cvlearned.datasets import read_image
from cvlearned.datasets.types import PosePair
from cvlearned.evaluation.bench import make_feature
from cvlearned.evaluation.extraction import extract
from cvlearned.evaluation.match_truth import CORRECT_PX, label_matches, truth_rule
from cvlearned.evaluation.metrics import estimate_relative_pose, pose_error
from cvlearned.evaluation.pair_eval import match_extractions, pose_errors
from cvlearned.matchers.base import DescriptorMatcher
from cvlearned.matchers.spec import DEFAULT_MATCHER, IncompatibleMatcher, MatcherChoice, matcher_for, parse_matcher
from cvlearned.pose_text import (
    POSE_CONVENTION,
    format_direction,
    format_error_deg,
    format_pose_error,
    format_rotation,
)
from cvlearned.registry import list_features
from cvlearned.visualization import draw_matches, tile

#: match picture: panel width (both images side by side) in pixels, panels per row, lines per panel
PANEL_WIDTH, PANEL_COLUMNS, PANEL_LINES = 960, 2, 100
CAVEAT = ("One pair and one RANSAC run per feature: differences of a degree or two are sampling luck, "
          "not a ranking. For that, run `cvlearned bench` (many pairs; add --ransac-runs 5).")


@dataclass(frozen=True)
class DemoRow:
    """One feature's result on the demo pair.

    keypoints: count per image; R (3, 3), t (3,) unit: the estimated pose ``X2 = R X1 + t``
    (None when estimation failed); errors in degrees (None without ground truth, inf when
    estimation failed); correct: matches correct by ground truth (None without).
    """

    feature: str
    keypoints: tuple[int, int]
    matches: int
    inliers: int
    R: np.ndarray | None
    t: np.ndarray | None
    rot_err_deg: float | None
    trans_err_deg: float | None
    ms_per_image: float
    correct: int | None = None

    @property
    def pose_err_deg(self) -> float | None:
        """``max(rotation, translation)`` error (the benchmark's pose error); None without ground truth."""
        if self.rot_err_deg is None or self.trans_err_deg is None:  # both or neither
            return None
        return float(pose_error(self.rot_err_deg, self.trans_err_deg))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned demo``."""
    parser.add_argument("images", nargs="*", help="IMG1 IMG2 (default: a rendered pair with ground truth)")
    parser.add_argument("--K", type=camera_matrix, default=None, metavar="FX,FY,CX,CY",
                        help="intrinsics of both images: fx,fy,cx,cy or 9 row-major values (default for "
                             "your images: focal 1.2 x longest side, centred principal point)")
    parser.add_argument("--dist", type=distortion, default=None, metavar="K1,K2,P1,P2[,K3]",
                        help="OpenCV distortion of both images (needs --K; default: none)")
    parser.add_argument("--features", type=feature_list, default=None, metavar="NAME,...",
                        help="comma-separated names (default: all registered)")
    parser.add_argument("--max-keypoints", type=positive_int, default=2048, metavar="N", help="keypoints per image")
    parser.add_argument("--matcher", type=matcher_spec, default=parse_matcher(DEFAULT_MATCHER), metavar="SPEC",
                        help="a registered matcher (mnn | ratio = mutual NN + ratio 0.8 | a shipped learned one) "
                             "or lightglue:PATH, a LightGlue weight file (default: ratio)")
    parser.add_argument("--out", type=Path, default=Path("demo_matches.png"), help="match visualisation PNG")
    parser.add_argument("--seed", type=int, default=3, help="seed of the rendered pair")


def rendered_pair(seed: int) -> PosePair:
    """The default demo pair: a rendered room with exact pose and depth."""
    from cvlearned.synthetic import make_scene_pairs

    return make_scene_pairs(n_pairs=1, layout="room", size=(640, 480), seed=seed)[0]


def user_pair(paths: list[str], K: np.ndarray | None, dist: np.ndarray | None = None) -> PosePair:
    """A pair of user images with shared (3, 3) intrinsics ``K`` (None: assumed, see
    :func:`~cvlearned.cli_args.default_camera_matrix`), optional (4,) or (5,) distortion
    ``dist`` and unknown pose (R, t = NaN)."""
    if len(paths) != 2:
        raise ValueError(f"cvlearned demo takes exactly two images IMG1 IMG2, got {len(paths)}")
    images = [read_image(p) for p in paths]
    if K is None:
        K = default_camera_matrix(images[0].shape[1], images[0].shape[0])
        print(assumed_intrinsics_note(K))
    D = np.zeros(5) if dist is None else np.asarray(dist, np.float64)
    nan = np.full(3, np.nan)
    return PosePair("user", images[0], images[1], K, K, np.full((3, 3), np.nan), nan, D0=D, D1=D)


def run_feature(name: str, pair: PosePair, max_keypoints: int, matcher: DescriptorMatcher,
                feature: Any = None) -> tuple[DemoRow, np.ndarray]:
    """Evaluate one feature (``feature``: its instance, created when None) matched by
    ``matcher`` on the pair; returns its row and its match picture panel."""
    feature = make_feature(name, max_keypoints) if feature is None else feature
    extract(feature, pair.image0)  # warm-up, not timed
    ex0, ex1 = extract(feature, pair.image0), extract(feature, pair.image1)
    matches = match_extractions(matcher, ex0, ex1, pair.image0, pair.image1)
    pts0, pts1 = ex0.points[matches[:, 0]], ex1.points[matches[:, 1]]
    pose = estimate_relative_pose(pts0, pts1, pair.K0, pair.K1, D0=pair.D0, D1=pair.D1)
    truth = label_matches(pair, pts0, pts1, CORRECT_PX)
    rot = trans = None
    if truth is not None:
        rot, trans = pose_errors(pose, pair.R, pair.t)
    inliers = np.zeros(len(matches), bool) if pose is None else pose.inliers
    row = DemoRow(name, (len(ex0.points), len(ex1.points)), len(matches), int(inliers.sum()),
                  None if pose is None else pose.R, None if pose is None else pose.t, rot, trans,
                  (ex0.ms + ex1.ms) / 2, None if truth is None else int(truth.correct.sum()))
    colours = inliers if truth is None else truth.correct
    panel = draw_matches(pair.image0, ex0.keypoints, pair.image1, ex1.keypoints, matches, colours,
                         title=panel_title(row), max_lines=PANEL_LINES, width=PANEL_WIDTH)
    return row, panel


def matched_features(names: Sequence[str], choice: MatcherChoice, max_keypoints: int
                     ) -> list[tuple[str, Any, DescriptorMatcher]]:
    """(name, feature, matcher) of every feature in ``names`` that ``choice`` can match;
    prints a note for each skipped one.

    Raises:
        ValueError: the matcher takes none of the features.
    """
    runs = []
    for name in names:
        feature = make_feature(name, max_keypoints)
        try:
            runs.append((name, feature, matcher_for(choice, name, feature)))
        except IncompatibleMatcher as exc:
            print(f"note: skipping {name}: {exc}")
    if not runs:
        raise ValueError(f"--matcher {choice.label} matches none of the features {', '.join(names)}")
    return runs


def sort_rows(rows: Sequence[DemoRow]) -> list[DemoRow]:
    """Rows by pose error ``max(rot, trans)`` ascending, then by RANSAC inliers descending,
    then by name (without ground truth: by inliers, then name)."""
    return sorted(rows, key=lambda r: (0.0 if r.pose_err_deg is None else r.pose_err_deg, -r.inliers, r.feature))


def sort_rule(rows: Sequence[DemoRow]) -> str:
    """The sentence that states how :func:`sort_rows` ordered ``rows``."""
    if any(r.rot_err_deg is not None for r in rows):
        return "Sorted by pose error = max(rot. dev., trans. dev.), ties by RANSAC inliers."
    return "No ground truth: sorted by RANSAC inliers."


def _pose_cells(row: DemoRow) -> tuple[str, str]:
    if row.R is None or row.t is None:
        return "failed", "failed"
    return format_rotation(row.R), format_direction(row.t)


def format_table(rows: Sequence[DemoRow]) -> str:
    """Markdown table, one row per feature in the given order: errors (with ground truth),
    estimated pose, keypoints per image, matches, inliers, correct matches, ms/image."""
    with_gt = any(r.rot_err_deg is not None for r in rows)
    titles = ["feature", *(["rot. dev. (°)", "trans. dev. (°)"] if with_gt else []), "R (angle about axis)",
              "t direction", "keypoints", "matches", "inliers",
              *([f"correct ≤{CORRECT_PX:g} px"] if with_gt else []), "ms/image"]
    lines = ["| " + " | ".join(titles) + " |", "|---|" + "---:|" * (len(titles) - 1)]
    for r in rows:
        errors = [format_error_deg(r.rot_err_deg, ""), format_error_deg(r.trans_err_deg, "")] if with_gt else []
        cells = [r.feature, *errors, *_pose_cells(r), f"{r.keypoints[0]}/{r.keypoints[1]}", str(r.matches),
                 str(r.inliers), *([str(r.correct)] if with_gt else []), f"{r.ms_per_image:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def panel_title(row: DemoRow) -> list[str]:
    """Two caption lines of a feature's match panel: name with pose error (or estimated pose), then counts."""
    if row.rot_err_deg is not None and row.trans_err_deg is not None:  # both or neither
        head = f"{row.feature}: {format_pose_error(row.rot_err_deg, row.trans_err_deg)}"
    else:
        rotation, direction = _pose_cells(row)
        head = f"{row.feature}: R {rotation}, t {direction}"
    counts = f"keypoints {row.keypoints[0]}/{row.keypoints[1]}, {row.matches} matches, {row.inliers} RANSAC inliers"
    if row.correct is not None:
        counts += f", {row.correct} correct"
    return [head, counts]


def picture_header(pair: PosePair, rule: str | None) -> list[str]:
    """Caption of the match grid: the pair and what the colours mean (``rule``: how matches
    were checked, :func:`~cvlearned.evaluation.match_truth.truth_rule`; None without ground truth)."""
    if rule is None:
        colours = "green = RANSAC inliers, red = RANSAC outliers (no ground truth)"
    else:
        colours = f"green = correct within {CORRECT_PX:g} px by ground truth ({rule}), red = wrong"
    return [f"cvlearned demo, pair '{pair.name}': {colours}",
            "panels in table order; one pair, one RANSAC run: not a ranking (see cvlearned bench)"]


def run(args: argparse.Namespace) -> int:
    """Execute ``cvlearned demo``."""
    if not args.images and (args.K is not None or args.dist is not None):
        raise ValueError("--K and --dist describe your images IMG1 IMG2; the rendered pair brings its own")
    if args.dist is not None and args.K is None:
        raise ValueError("--dist needs --K (distortion coefficients are relative to K)")
    if not cv2.haveImageWriter(str(args.out)):
        raise ValueError(f"--out {args.out}: OpenCV cannot write that file type (use .png or .jpg)")
    pair = user_pair(args.images, args.K, args.dist) if args.images else rendered_pair(args.seed)
    runs = matched_features(args.features or list_features(), args.matcher, args.max_keypoints)
    if not args.images:
        print(f"rendered pair '{pair.name}': 640x480, true pose R {format_rotation(pair.R)}, "
              f"t direction {format_direction(pair.t)}, baseline {np.linalg.norm(pair.t):.2f} m")
    panels: dict[str, np.ndarray] = {}
    rows = []
    progress = tqdm(runs, desc="demo", unit="feature", leave=False, disable=not show_progress(no_progress=False))
    for name, feature, matcher in progress:
        progress.set_postfix_str(name)
        row, panels[name] = run_feature(name, pair, args.max_keypoints, matcher, feature)
        rows.append(row)
    rows = sort_rows(rows)
    print(f"Matcher: {args.matcher.label}. Estimated pose per feature: {POSE_CONVENTION}.")
    print(sort_rule(rows))
    print(format_table(rows))
    print(CAVEAT)
    picture = tile([panels[r.feature] for r in rows], PANEL_COLUMNS, header=picture_header(pair, truth_rule(pair)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), picture):
        raise OSError(f"cannot write {args.out}")
    print(f"match picture ({len(rows)} panels, {PANEL_COLUMNS} per row): {args.out}")
    return 0
