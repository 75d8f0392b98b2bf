"""Match visualisations (OpenCV drawing, no matplotlib needed)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def draw_matches(
    image0: np.ndarray,
    keypoints0: Sequence[cv2.KeyPoint],
    image1: np.ndarray,
    keypoints1: Sequence[cv2.KeyPoint],
    matches: np.ndarray,
    correct: np.ndarray | None = None,
    title: str = "",
    max_lines: int = 300,
) -> np.ndarray:
    """Side-by-side BGR canvas with match lines: green = correct/inlier, red = wrong.

    Args:
        matches: (M, 2) index pairs into ``keypoints0``/``keypoints1``.
        correct: (M,) bool, or None to draw every match in green.
    """
    matches = np.asarray(matches, int).reshape(-1, 2)
    if correct is None:
        correct = np.ones(len(matches), bool)
    pick = np.random.default_rng(0).permutation(len(matches))[:max_lines]
    canvas = cv2.drawMatches(_bgr(image0), tuple(keypoints0), _bgr(image1), tuple(keypoints1), [], None)
    offset = image0.shape[1]
    for i in pick:
        p0 = np.round(keypoints0[matches[i, 0]].pt).astype(int)
        p1 = np.round(keypoints1[matches[i, 1]].pt).astype(int) + (offset, 0)
        color = (0, 200, 0) if correct[i] else (0, 0, 230)
        cv2.line(canvas, tuple(int(v) for v in p0), tuple(int(v) for v in p1), color, 1, cv2.LINE_AA)
    if title:
        (text_w, text_h), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
        cv2.rectangle(canvas, (0, 0), (text_w + 16, text_h + 16), (0, 0, 0), -1)
        cv2.putText(canvas, title, (8, text_h + 8), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    return canvas


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
