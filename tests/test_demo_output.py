"""What ``cvlearned demo`` shows: estimated pose, caveat, sort order, the match grid; and the
shared pose formatting of :mod:`cvlearned.pose_text`."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from cvlearned.cli import main
from cvlearned.demo import CAVEAT, PANEL_COLUMNS, PANEL_WIDTH, DemoRow, format_table, sort_rows
from cvlearned.pose_text import (
    format_direction,
    format_error_deg,
    format_pose_error,
    format_rotation,
    pose_lines,
    rotation_angle_axis,
)
from cvlearned.visualization import caption


def _row(name: str, rot: float | None, trans: float | None, inliers: int) -> DemoRow:
    R, t = np.eye(3), np.array([1.0, 0.0, 0.0])
    return DemoRow(name, (100, 90), 80, inliers, R, t, rot, trans, 1.0, None if rot is None else inliers)


def test_demo_prints_pose_caveat_and_grid(tmp_path, capsys):
    out = tmp_path / "m.png"
    assert main(["demo", "--features", "orb,sift,akaze", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert CAVEAT in lines and "cvlearned bench" in CAVEAT
    assert any(line.startswith("Sorted by pose error") for line in lines)
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| feature")]
    assert len(rows) == 3
    for row in rows:  # estimated rotation about 14.6° (the rendered pair's), a unit direction
        cells = [c.strip() for c in row.split("|")]
        assert abs(float(cells[4].split("°")[0]) - 14.6) < 2.0 and " about (" in cells[4]
        assert np.isclose(np.linalg.norm([float(v) for v in cells[5].strip("()").split(",")]), 1.0, atol=0.02)
    errors = [max(float(r.split("|")[2]), float(r.split("|")[3])) for r in rows]
    assert errors == sorted(errors)
    picture = cv2.imread(str(out))
    panel_h = caption(["a", "b", "c"], PANEL_WIDTH).shape[0] + 360  # 2 title lines + "showing 100 of N"
    header_h = caption(["a", "b"], 10, font_scale=0.7).shape[0]
    assert picture.shape == (header_h + 2 * panel_h + 6, PANEL_COLUMNS * PANEL_WIDTH + 6, 3)


def test_sort_rows_by_pose_error_then_inliers():
    rows = [_row("failed", math.inf, math.inf, 300), _row("b", 1.0, 2.0, 50), _row("a", 2.0, 0.5, 60),
            _row("c", 0.1, 2.0, 70), _row("pure-rotation", 1.5, math.nan, 10)]
    # c, a, b tie at 2.0° (max of rotation and translation): more inliers first; NaN translation: rotation alone
    assert [r.feature for r in sort_rows(rows)] == ["pure-rotation", "c", "a", "b", "failed"]


def test_sort_rows_without_ground_truth_by_inliers():
    rows = [_row("x", None, None, 10), _row("y", None, None, 30), _row("a", None, None, 10)]
    assert [r.feature for r in sort_rows(rows)] == ["y", "a", "x"]


def test_table_without_ground_truth_has_pose_but_no_error_columns():
    table = format_table([_row("x", None, None, 10)])
    header, _, row = table.splitlines()
    assert "dev." not in header and "correct" not in header
    assert row == "| x | 0.00° | (+1.00, +0.00, +0.00) | 100/90 | 80 | 10 | 1.0 |"


def test_table_marks_failed_estimation():
    failed = DemoRow("f", (10, 10), 3, 0, None, None, math.inf, math.inf, 1.0, 0)
    row = format_table([failed]).splitlines()[2]
    assert row == "| f | failed | failed | failed | failed | 10/10 | 3 | 0 | 0 | 1.0 |"


def test_rotation_angle_axis_and_text():
    R = cv2.Rodrigues(np.radians(30.0) * np.array([0.0, -0.6, 0.8]))[0]
    angle, axis = rotation_angle_axis(R)
    assert angle == pytest.approx(30.0) and np.allclose(axis, [0.0, -0.6, 0.8])
    assert format_rotation(R) == "30.00° about (+0.00, -0.60, +0.80)"
    assert format_rotation(np.eye(3)) == "0.00°"
    assert format_direction(np.array([0.0, 0.0, -2.0])) == "(+0.00, +0.00, -1.00)"
    with pytest.raises(ValueError, match="finite"):
        rotation_angle_axis(np.full((3, 3), np.nan))


def test_error_text():
    assert [format_error_deg(v) for v in (None, math.nan, math.inf, 1.234)] == ["–", "undefined", "failed", "1.23°"]
    lines = pose_lines(np.eye(3), np.array([0.0, 3.0, 4.0]), 0.5, math.nan)
    assert lines[2] == "  translation direction (+0.00, +0.60, +0.80)"
    assert lines[3] == "  rotation deviation 0.50°, translation-direction deviation undefined"
    assert len(pose_lines(np.eye(3), np.array([1.0, 0.0, 0.0]))) == 3  # no ground truth: no deviation line
    assert format_pose_error(0.96, 4.386) == "pose error 4.39° (rotation 0.96°, translation 4.39°)"
    assert format_pose_error(0.5, math.nan) == "pose error 0.50° (rotation 0.50°, translation undefined)"
    assert format_pose_error(math.inf, math.inf) == "pose estimation failed"


def test_demo_checks_picture_type_before_any_work(tmp_path, capsys):
    assert main(["demo", "--features", "orb", "--out", str(tmp_path / "m.txt")]) == 1
    printed = capsys.readouterr()
    assert printed.out == "" and "OpenCV cannot write that file type" in printed.err
