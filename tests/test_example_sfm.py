"""examples/sfm.py: multi-view reconstruction of a rendered calibrated sequence."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
import pytest

import cvlearned

from cvlearned.synthetic.photos import photo_source
from cvlearned.synthetic.scene_geometry import Camera, intrinsics
from cvlearned.synthetic.scene_layouts import box_scene
from cvlearned.synthetic.scene_render import render_sequence
from example_loader import load_example

pytest.importorskip("pycolmap")
sfm = load_example("sfm")

W, H, N_VIEWS = 320, 240, 8
K = intrinsics(W, H, 60.0)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """8 rendered views of a box scene from cameras on a 3 m arc; returns (folder, true centres)."""
    rng = np.random.default_rng(0)
    scene = box_scene(rng, [image for _, image in photo_source(None)])
    cams = []
    for k in range(N_VIEWS):
        a = k / (N_VIEWS - 1) - 0.5  # -0.5 .. 0.5
        eye = (3.0 * a, -1.0 - 0.6 * a * a, 1.5 + 0.3 * math.sin(2 * a))
        cams.append(Camera.look_at(eye, (0.0, 5.0, 0.6), (0, 0, 1), K, W, H))
    folder = tmp_path_factory.mktemp("sfm_images")
    centres = {}
    for k, (cam, view) in enumerate(zip(cams, render_sequence(scene, cams))):
        cv2.imwrite(str(folder / f"{k:02d}.png"), view.image)
        centres[f"{k:02d}.png"] = cam.center
    return folder, centres


def test_sift_reconstruction_matches_truth(sequence, tmp_path):
    folder, centres = sequence
    result = sfm.run(folder, "sift", tmp_path / "out", K=K)
    s = result.summary
    # measured (seed 0): 8/8 registered, 926 points, 0.16 px, relative centre RMS 5.7e-4;
    # seeds 1-3: >= 553 points, <= 0.17 px, <= 1.2e-3
    assert s.num_registered == N_VIEWS, s
    assert s.num_points3D > 400, s
    assert s.mean_reprojection_error < 1.0, s
    truth = sfm.compare_to_truth(result.reconstruction, centres)
    assert truth.num_compared == N_VIEWS
    assert truth.relative_rms < 0.01, truth
    assert (tmp_path / "out" / "database.db").is_file()


def _first_views(folder, n, dest):
    dest.mkdir()
    for k in range(n):
        (dest / f"{k:02d}.png").write_bytes((folder / f"{k:02d}.png").read_bytes())
    return dest


def test_binary_feature_without_K(sequence, tmp_path, capsys):
    """Hamming-norm descriptors; the guessed focal length (1.2 x 320) is refined to the truth."""
    result = sfm.run(sequence[0], "akaze", tmp_path / "out", progress=True)
    bars = capsys.readouterr().err
    assert re.search(rf"features: 100%\|\S+\| {N_VIEWS}/{N_VIEWS} ", bars) and "matching: 100%" in bars, bars
    assert result.summary.num_registered == N_VIEWS, result.summary
    (camera,) = result.reconstruction.cameras.values()
    # measured: +0.4 % (seed 0), at most 1.3 % over seeds 0-3
    assert camera.focal_length == pytest.approx(K[0, 0], rel=0.05)


def test_main_default_feature(sequence, tmp_path, capsys):
    """The CLI with the default (learned) feature on 4 views, sequential window 2."""
    small = _first_views(sequence[0], 4, tmp_path / "four")
    argv = [str(small), "--out", str(tmp_path / "out"), "--window", "2", "--max-keypoints", "512",
            "--K", f"{K[0, 0]},{K[1, 1]},{K[0, 2]},{K[1, 2]}"]
    assert sfm.main(argv) == 0
    out = capsys.readouterr().out
    assert f"feature {cvlearned.default_feature()}" in out
    assert "registered images: 4/4" in out, out


def test_main_without_K_says_what_it_assumes_and_keeps_colmap_quiet(sequence, tmp_path, capfd):
    small = _first_views(sequence[0], 4, tmp_path / "four")
    argv = [str(small), "--feature", "sift", "--out", str(tmp_path / "out"), "--window", "2"]
    assert sfm.main(argv) == 0
    out, err = capfd.readouterr()
    assert "no --K given: assuming fx=fy=384" in out and "COLMAP refines the focal length" in out
    glog_line = re.compile(r"^[IWE]\d{8} ", re.M)  # COLMAP (glog) log lines
    assert not glog_line.search(err), err
    assert sfm.main([*argv, "--verbose"]) == 0
    assert glog_line.search(capfd.readouterr().err)


def test_main_usage_errors(sequence, tmp_path, capsys):
    one = _first_views(sequence[0], 1, tmp_path / "one")
    for argv, message in [([str(tmp_path / "missing")], "image folder"),
                          ([str(one)], "need at least 2 images"),
                          ([str(sequence[0]), "--dist", "0.1,0,0,0"], "--dist needs --K"),
                          ([str(sequence[0]), "--K", "1,2"], "argument --K: expected 4 values")]:
        with pytest.raises(SystemExit) as exc:
            sfm.main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and "Traceback" not in err


def test_undistorted_pixels_match_the_pinhole_projection():
    rng = np.random.default_rng(0)
    X = rng.uniform([-1, -1, 3], [1, 1, 6], (50, 3))
    D = np.array([-0.2, 0.05, 0.001, -0.002, 0.01])
    rvec = tvec = np.zeros(3)
    distorted = cv2.projectPoints(X, rvec, tvec, K, D)[0].reshape(-1, 2)
    pinhole = cv2.projectPoints(X, rvec, tvec, K, None)[0].reshape(-1, 2)
    np.testing.assert_allclose(sfm.undistorted_pixels(distorted, K, D), pinhole, atol=1e-6)
    assert sfm.undistorted_pixels(distorted, K, None) is distorted


def test_umeyama_recovers_similarity():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(10, 3))
    R, _ = cv2.Rodrigues(np.array([0.3, -1.1, 0.7]))
    dst = 2.5 * src @ R.T + np.array([1.0, -2.0, 0.5])
    s, R_est, t_est = sfm.umeyama(src, dst)
    assert s == pytest.approx(2.5)
    np.testing.assert_allclose(R_est, R, atol=1e-9)
    np.testing.assert_allclose(t_est, [1.0, -2.0, 0.5], atol=1e-9)
    # a mirrored target must still give a proper rotation
    _, R_m, _ = sfm.umeyama(src, src * np.array([1.0, 1.0, -1.0]))
    assert np.linalg.det(R_m) == pytest.approx(1.0)


@pytest.mark.parametrize("src, dst", [(np.zeros((4, 2)), np.zeros((4, 2))), (np.zeros((4, 3)), np.zeros((5, 3))),
                                      (np.zeros((1, 3)), np.zeros((1, 3))), (np.ones((4, 3)), np.zeros((4, 3)))])
def test_umeyama_rejects_bad_input(src, dst):
    with pytest.raises(ValueError):
        sfm.umeyama(src, dst)


def test_image_pairs():
    assert sfm.image_pairs(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert sfm.image_pairs(4, window=1) == [(0, 1), (1, 2), (2, 3)]
    with pytest.raises(ValueError):
        sfm.image_pairs(4, window=0)
