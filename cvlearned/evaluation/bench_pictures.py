"""Match pictures of ``cvlearned bench``: per result row (feature, or feature+matcher), a
grid of its first few pairs with matches coloured by ground truth
(:mod:`cvlearned.evaluation.match_truth`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.extraction import Extraction
from cvlearned.evaluation.match_truth import CORRECT_PX, label_matches, truth_rule
from cvlearned.pose_text import format_pose_error
from cvlearned.visualization import draw_matches, tile

#: pairs drawn per feature (the first ones), panel width in pixels, panels per row, lines per panel
PICTURE_PAIRS, PANEL_WIDTH, PANEL_COLUMNS, PANEL_LINES = 4, 960, 2, 100


def picture_path(out: Path, label: str) -> Path:
    """``out/matches_<label>.jpg`` with characters other than ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return out / f"matches_{re.sub(r'[^A-Za-z0-9._-]+', '_', label)}.jpg"


def pair_panel(label: str, pair: HomographyPair | PosePair, ex0: Extraction, ex1: Extraction,
               metrics: dict[str, Any], matches: np.ndarray) -> np.ndarray:
    """One pair's match panel of its (K, 2) index ``matches``; ``metrics`` is the pair's
    entry of the bench results."""
    truth = label_matches(pair, ex0.points[matches[:, 0]], ex1.points[matches[:, 1]], CORRECT_PX)
    counts = f"keypoints {len(ex0.points)}/{len(ex1.points)}, {len(matches)} matches"
    if truth is not None:
        share = truth.correct.mean() if len(matches) else 0.0
        counts += f", {int(truth.correct.sum())} correct ({share:.0%})"
    if "inliers" in metrics:
        counts += f", {np.atleast_1d(metrics['inliers'])[0]} RANSAC inliers"
    title = [f"{label}, pair {pair.name}: {_pair_error(metrics)}", counts]
    return draw_matches(pair.image0, ex0.keypoints, pair.image1, ex1.keypoints, matches,
                        None if truth is None else truth.correct, title, PANEL_LINES, PANEL_WIDTH)


def _pair_error(metrics: dict[str, Any]) -> str:
    """The pair's headline error: pose error (first RANSAC run) or homography corner error."""
    if "rot_err_deg" in metrics:
        return format_pose_error(*(float(np.atleast_1d(metrics[k])[0]) for k in ("rot_err_deg", "trans_err_deg")))
    corner = float(metrics["corner_err_px"])
    return "homography failed" if np.isinf(corner) else f"homography corner error {corner:.2f} px"


def picture_header(dataset: str, label: str, shown: int, pairs: Sequence[HomographyPair | PosePair]) -> list[str]:
    """Caption of a feature's grid: dataset, which pairs, what the colours mean."""
    rule = truth_rule(pairs[0])
    colours = ("blue = matches (no ground truth)" if rule is None else
               f"green = correct within {CORRECT_PX:g} px by ground truth ({rule}), red = wrong")
    return [f"cvlearned bench, {dataset}: {label} on the first {shown} of {len(pairs)} pairs", colours]


def write_match_pictures(out: Path, dataset: str, results: dict[str, dict[str, Any]],
                         pairs: Sequence[HomographyPair | PosePair],
                         extractions: dict[str, dict[int, tuple[Extraction, Extraction, np.ndarray]]]
                         ) -> list[Path]:
    """Write one grid per result row (``extractions[label][pair_index] = (ex0, ex1, (K, 2)
    matches)``, the first :data:`PICTURE_PAIRS` pairs) to :func:`picture_path`; returns the
    written paths."""
    written = []
    for label, by_pair in extractions.items():
        indices = sorted(by_pair)[:PICTURE_PAIRS]
        if not indices:
            continue
        panels = [pair_panel(label, pairs[i], *by_pair[i][:2], results[label]["pairs"][i], by_pair[i][2])
                  for i in indices]
        path = picture_path(out, label)
        if not cv2.imwrite(str(path), tile(panels, PANEL_COLUMNS, picture_header(dataset, label, len(indices), pairs))):
            raise OSError(f"cannot write {path}")
        written.append(path)
    return written
