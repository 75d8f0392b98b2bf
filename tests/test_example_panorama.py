"""examples/panorama.py on a rendered rotating-camera sequence with exact focal and rotations.

Measured on this sequence (seed 0, 4 frames of 320x240, 15 deg yaw steps, f = 277.1 px):
focal error sift 0.8 %, hardnet-lite 0.8 %; relative-rotation error sift 0.26 deg,
hardnet-lite 0.31 deg; classical features at most 2.3 % / 0.73 deg (brisk).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from example_loader import load_example

import cvlearned
from cvlearned.evaluation.metrics import rotation_error_deg
from cvlearned.synthetic import render_sequence, rotating_sequence

panorama = load_example("panorama")

SIZE = (320, 240)
YAW_STEP = 15.0
N_FRAMES = 4
MAIN_FEATURES = ["sift", cvlearned.default_feature()]


@pytest.fixture(scope="module")
def sequence() -> tuple[list[np.ndarray], float, list[np.ndarray]]:
    """(BGR frames, true focal in px, world→camera rotations)."""
    scene, cams = rotating_sequence(np.random.default_rng(0), N_FRAMES, size=SIZE, yaw_step_deg=YAW_STEP)
    images = [v.image for v in render_sequence(scene, cams, supersample=1)]
    return images, float(cams[0].K[0, 0]), [c.R for c in cams]


def _check_cameras(cameras, indices, focal: float, rotations, focal_tol: float, rot_tol_deg: float) -> None:
    assert len(cameras) == len(indices)
    for cam in cameras:
        assert abs(cam.focal / focal - 1.0) < focal_tol
    # stitching R maps camera → panorama, so R_a^T R_b = R_true_a R_true_b^T (world → camera)
    for a, b in itertools.combinations(range(len(indices)), 2):
        est = cameras[a].R.astype(np.float64).T @ cameras[b].R.astype(np.float64)
        true = rotations[indices[a]] @ rotations[indices[b]].T
        assert rotation_error_deg(est, true) < rot_tol_deg


@pytest.mark.parametrize("feature", MAIN_FEATURES)
def test_stitch_recovers_focal_rotations_and_extent(sequence, feature: str) -> None:
    images, focal, rotations = sequence
    result = panorama.stitch(images, feature)
    assert list(result.indices) == list(range(N_FRAMES))
    _check_cameras(result.cameras, result.indices, focal, rotations, focal_tol=0.05, rot_tol_deg=1.0)
    # a spherical panorama of radius f spans (yaw range + horizontal FOV) x vertical FOV
    height, width = result.image.shape[:2]
    expected_w = focal * math.radians((N_FRAMES - 1) * YAW_STEP + 60.0)
    expected_h = focal * 2 * math.atan(SIZE[1] / 2 / focal)
    assert abs(width / expected_w - 1) < 0.1 and abs(height / expected_h - 1) < 0.1
    assert result.image.dtype == np.uint8 and result.mask.shape == (height, width)
    assert (result.mask > 0).mean() > 0.85  # measured 0.97


#: features known to fail here (model cards); strict, so an improved model makes this fail.
#: superpoint-lite-v4 and later connect all 4 frames (v3 connected 3).
KNOWN_WEAK: dict[str, str] = {
    "xfeat-lite": "xfeat-lite-v1 finds too few confident matches between the frames (weights/xfeat-lite-v1.md)",
}


@pytest.mark.parametrize(
    "feature",
    [
        pytest.param(f, marks=pytest.mark.xfail(reason=KNOWN_WEAK[f], strict=True)) if f in KNOWN_WEAK else f
        for f in cvlearned.list_features()
        if f not in MAIN_FEATURES
    ],
)
def test_estimate_cameras_with_every_other_feature(sequence, feature: str) -> None:
    images, focal, rotations = sequence
    cameras, indices = panorama.estimate_cameras(images, feature)
    assert len(indices) == N_FRAMES
    _check_cameras(cameras, indices, focal, rotations, focal_tol=0.1, rot_tol_deg=2.0)


def test_unrelated_image_is_left_out(sequence) -> None:
    images, focal, rotations = sequence
    noise = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8), (5, 5), 1.5)
    cameras, indices = panorama.estimate_cameras([images[0], noise, images[1], images[2]], "orb")
    assert list(indices) == [0, 2, 3]
    _check_cameras(cameras, [0, 1, 2], focal, rotations, focal_tol=0.1, rot_tol_deg=2.0)


def test_main_writes_panorama(sequence, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, _, _ = sequence
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"frame{i}.png"))
        cv2.imwrite(paths[-1], image)
    out = tmp_path / "out" / "pano.jpg"
    assert panorama.main([*paths, "--feature", "orb", "--out", str(out)]) == 0
    pano = cv2.imread(str(out))
    assert pano is not None and pano.shape[1] > 1.4 * SIZE[0] and 0.8 * SIZE[1] < pano.shape[0] < 1.2 * SIZE[1]
    assert "stitched 4/4" in capsys.readouterr().out


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="at least two"):
        panorama.stitch([np.zeros((8, 8, 3), np.uint8)], "orb")
    with pytest.raises(TypeError, match="uint8"):
        panorama.stitch([np.zeros((8, 8, 3), np.float32)] * 2, "orb")
    with pytest.raises(SystemExit) as exc:
        panorama.main([str(tmp_path / "missing1.jpg"), str(tmp_path / "missing2.jpg")])
    assert exc.value.code == 2 and "cannot read image" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        panorama.main(["a.jpg", "b.jpg", "--feature", "nope"])
    assert exc.value.code == 2 and "unknown feature" in capsys.readouterr().err
