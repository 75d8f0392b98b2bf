"""Human-readable relative poses, shared by ``cvlearned demo`` and ``examples/two_view.py``.

A rotation is shown as its angle about a unit axis (axis-angle, from ``cv2.Rodrigues``)
and a translation as its unit direction, both in OpenCV camera axes (x right, y down,
z forward): an axis near (0, ±1, 0) is a pan, near (±1, 0, 0) a tilt, near (0, 0, ±1) a roll.
The pose maps camera-1 coordinates to camera-2 coordinates: ``X2 = R @ X1 + t``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from cvlearned.evaluation.metrics import pose_error

#: one line that says how to read the numbers below it
POSE_CONVENTION = ("X2 = R X1 + t; R as angle about a unit axis, t as unit direction; "
                   "camera axes x right, y down, z forward")


def rotation_angle_axis(R: np.ndarray) -> tuple[float, np.ndarray]:
    """(3, 3) rotation → (angle in degrees in [0, 180], (3,) unit axis; (0, 0, 0) for the identity)."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3) or not np.isfinite(R).all():
        raise ValueError(f"R must be a finite (3, 3) matrix, got shape {R.shape}")
    rvec = cv2.Rodrigues(R)[0].ravel()
    angle = float(np.linalg.norm(rvec))
    axis = rvec / angle if angle > 1e-12 else np.zeros(3)
    return math.degrees(angle), axis


def format_vector(v: np.ndarray) -> str:
    """(3,) vector → ``"(+0.01, -1.00, +0.02)"``."""
    return "(" + ", ".join(f"{round(float(x), 2) + 0.0:+.2f}" for x in np.asarray(v).ravel()) + ")"  # no -0.00


def format_rotation(R: np.ndarray) -> str:
    """``"14.62° about (+0.01, -1.00, +0.02)"`` (``"0.00°"`` for the identity)."""
    angle, axis = rotation_angle_axis(R)
    return f"{angle:.2f}°" + (f" about {format_vector(axis)}" if axis.any() else "")


def format_direction(t: np.ndarray) -> str:
    """(3,) translation → its unit direction as ``"(+0.99, +0.01, -0.12)"`` (``"none"`` when ~zero)."""
    t = np.asarray(t, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(t))
    return format_vector(t / norm) if norm > 1e-12 else "none"


def format_error_deg(value: float | None, unit: str = "°") -> str:
    """An angular error: ``"0.72°"``, ``"–"`` (no ground truth), ``"undefined"`` (NaN:
    translation of a pure rotation), ``"failed"`` (inf: no pose estimated)."""
    if value is None:
        return "–"
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "failed"
    return f"{value:.2f}{unit}"


def format_pose_error(rot_err_deg: float, trans_err_deg: float) -> str:
    """``"pose error 4.39° (rotation 0.96°, translation 4.39°)"``, the pose error being
    :func:`~cvlearned.evaluation.metrics.pose_error`; ``"pose estimation failed"`` for inf."""
    error = float(pose_error(rot_err_deg, trans_err_deg))
    if math.isinf(error):
        return "pose estimation failed"
    return (f"pose error {format_error_deg(error)} (rotation {format_error_deg(rot_err_deg)}, "
            f"translation {format_error_deg(trans_err_deg)})")


def pose_lines(R: np.ndarray, t: np.ndarray, rot_err_deg: float | None = None,
               trans_err_deg: float | None = None) -> list[str]:
    """Printable lines of an estimated pose, and of its deviation from ground truth when given."""
    lines = [f"estimated pose ({POSE_CONVENTION}):", f"  rotation {format_rotation(R)}",
             f"  translation direction {format_direction(t)}"]
    if rot_err_deg is not None:
        lines.append(f"  rotation deviation {format_error_deg(rot_err_deg)}, "
                     f"translation-direction deviation {format_error_deg(trans_err_deg)}")
    return lines
