"""Match visualisations (OpenCV drawing, no matplotlib needed)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from cvlearned.keypoints import keypoints_to_array


#: BGR colours: correct / inlier, wrong / outlier, unverified match, keypoint, caption background
GREEN, RED, BLUE = (0, 200, 0), (0, 0, 235), (255, 160, 0)
KEYPOINT, BACKGROUND = (0, 215, 255), (32, 32, 32)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_ASCII = str.maketrans({"°": " deg", "–": "-", "≤": "<=", "×": "x", "·": "|"})  # Hershey fonts are ASCII only


def draw_matches(
    image0: np.ndarray,
    keypoints0: Sequence[cv2.KeyPoint],
    image1: np.ndarray,
    keypoints1: Sequence[cv2.KeyPoint],
    matches: np.ndarray,
    correct: np.ndarray | None = None,
    title: str | Sequence[str] = "",
    max_lines: int = 300,
    width: int | None = None,
) -> np.ndarray:
    """Side-by-side BGR picture of a pair under a caption bar: keypoints as small yellow
    crosses, match lines green = correct/inlier, red = wrong/outlier (drawn on top), or all
    blue when ``correct`` is None (unverified).

    Args:
        matches: (M, 2) index pairs into ``keypoints0``/``keypoints1``.
        correct: (M,) bool, or None.
        title: caption line(s); when more than ``max_lines`` matches exist a seeded random
            subset is drawn and the caption adds "showing N of M matches".
        width: output width in pixels (both images scaled alike; None: native size).

    Returns:
        (H, W, 3) uint8 canvas.
    """
    matches = np.asarray(matches, int).reshape(-1, 2)
    if correct is not None and np.shape(correct) != (len(matches),):
        raise ValueError(f"correct must have shape ({len(matches)},), got {np.shape(correct)}")
    if max_lines < 0:
        raise ValueError(f"max_lines must be >= 0, got {max_lines}")
    canvas, scale = _side_by_side(_bgr(image0), _bgr(image1), width)
    shift = np.array([image0.shape[1] * scale, 0.0])
    pts0 = keypoints_to_array(keypoints0) * scale
    pts1 = keypoints_to_array(keypoints1) * scale + shift
    _dots(canvas, np.vstack([pts0, pts1]), KEYPOINT)
    pick = np.sort(np.random.default_rng(0).permutation(len(matches))[:max_lines])
    good = np.ones(len(matches), bool) if correct is None else np.asarray(correct, bool)
    colour = BLUE if correct is None else GREEN
    for i in [*pick[good[pick]], *pick[~good[pick]]]:  # wrong ones last, on top
        cv2.line(canvas, _pixel(pts0[matches[i, 0]]), _pixel(pts1[matches[i, 1]]),
                 colour if good[i] else RED, 1, cv2.LINE_AA)
    lines = [title] if isinstance(title, str) else list(title)
    if len(pick) < len(matches):
        lines.append(f"showing {len(pick):,} of {len(matches):,} matches (random subset, for readability)")
    return np.vstack([caption([line for line in lines if line], canvas.shape[1]), canvas])


def caption(lines: Sequence[str], width: int, font_scale: float = 0.55) -> np.ndarray:
    """(h, width, 3) uint8 bar with one text line per entry, white on dark grey; a line too
    long for ``width`` is drawn smaller. No lines: a (0, width, 3) bar."""
    line_h = int(round(34 * font_scale))
    bar = np.full((len(lines) * line_h + (8 if lines else 0), width, 3), BACKGROUND, np.uint8)
    for k, line in enumerate(lines):
        text = line.translate(_ASCII)
        text_w = cv2.getTextSize(text, _FONT, font_scale, 1)[0][0]
        scale = font_scale * min(1.0, (width - 12) / max(text_w, 1))
        cv2.putText(bar, text, (6, 4 + (k + 1) * line_h - line_h // 4), _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return bar


def tile(panels: Sequence[np.ndarray], columns: int, header: Sequence[str] = (), pad: int = 6) -> np.ndarray:
    """Grid of BGR ``panels`` (row-major, ``columns`` per row, each row as high as its tallest
    panel) with ``pad`` pixels between, under a ``header`` caption across the full width."""
    if not panels:
        raise ValueError("tile needs at least one panel")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    columns = min(columns, len(panels))
    cell_w = max(p.shape[1] for p in panels)
    rows = []
    for r in range(0, len(panels), columns):
        row = list(panels[r:r + columns])
        row_h = max(p.shape[0] for p in row)
        blank = np.zeros((0, 0, 3), np.uint8)
        cells = [_pad_to(p, row_h, cell_w) for p in row + [blank] * (columns - len(row))]
        rows.append(_join(cells, pad, axis=1))
    grid = _join(rows, pad, axis=0)
    return np.vstack([caption(list(header), grid.shape[1], font_scale=0.7), grid])


def _pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    out = np.full((height, width, 3), BACKGROUND, np.uint8)
    out[: image.shape[0], : image.shape[1]] = image
    return out


def _join(images: list[np.ndarray], pad: int, axis: int) -> np.ndarray:
    """Concatenate along ``axis`` (0: rows, 1: columns) with ``pad`` background pixels between."""
    shape = list(images[0].shape)
    shape[axis] = pad
    gap = np.full(shape, BACKGROUND, np.uint8)
    parts = [part for image in images for part in (gap, image)][1:]
    return np.concatenate(parts, axis=axis)


def _side_by_side(image0: np.ndarray, image1: np.ndarray, width: int | None) -> tuple[np.ndarray, float]:
    """Both images next to each other (top-aligned), scaled to ``width``; → (canvas, scale)."""
    canvas = _pad_to(image0, max(image0.shape[0], image1.shape[0]), image0.shape[1] + image1.shape[1])
    canvas[: image1.shape[0], image0.shape[1]:] = image1
    if width is None or width == canvas.shape[1]:
        return canvas, 1.0
    if width < 2:
        raise ValueError(f"width must be >= 2 pixels, got {width}")
    scale = width / canvas.shape[1]
    size = (width, max(1, round(canvas.shape[0] * scale)))
    return cv2.resize(canvas, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR), scale


def _dots(canvas: np.ndarray, points: np.ndarray, colour: tuple[int, int, int]) -> None:
    """Mark (N, 2) points on ``canvas`` in place with 3x3-pixel crosses (vectorised; a
    Python loop of ``cv2.circle`` calls costs more than the rest of the drawing)."""
    xy = np.rint(points).astype(int)
    for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        x, y = xy[:, 0] + dx, xy[:, 1] + dy
        inside = (x >= 0) & (x < canvas.shape[1]) & (y >= 0) & (y < canvas.shape[0])
        canvas[y[inside], x[inside]] = colour


def _pixel(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
