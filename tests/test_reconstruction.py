"""cvlearned data reconstruct / pose-pairs on a rendered scene whose cameras are known."""

from __future__ import annotations

import itertools
import math
import shutil

import cv2
import numpy as np
import pytest

from cvlearned.cli import main
from cvlearned.datasets import load_pairs_txt
from cvlearned.evaluation.metrics.pose import rotation_error_deg, translation_error_deg
from cvlearned.reconstruction_io import camera_intrinsics
from cvlearned.synthetic.photos import photo_source
from cvlearned.synthetic.scene_geometry import Camera, intrinsics, relative_pose
from cvlearned.synthetic.scene_layouts import box_scene
from cvlearned.synthetic.scene_render import render_sequence

pycolmap = pytest.importorskip("pycolmap")
from cvlearned.pose_pair_export import PairCandidate, covisibility, sample_pairs, write_pose_pairs  # noqa: E402
from cvlearned.reconstruction import (  # noqa: E402
    ReconstructOptions,
    find_scenes,
    load_reconstruction,
    reconstruct_scenes,
)

W, H, N_VIEWS = 320, 240, 8
K_TRUE = intrinsics(W, H, 60.0)
OPTIONS = ReconstructOptions(single_camera=True)


def _cameras() -> list[Camera]:
    """8 cameras on a 3 m arc looking at a box scene (non-planar: boxes, ground, wall)."""
    cams = []
    for k in range(N_VIEWS):
        a = k / (N_VIEWS - 1) - 0.5
        eye = (3.0 * a, -1.0 - 0.6 * a * a, 1.5 + 0.3 * math.sin(2 * a))
        cams.append(Camera.look_at(eye, (0.0, 5.0, 0.6), (0, 0, 1), K_TRUE, W, H))
    return cams


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Parent folder: ``boxes/images/*.png`` (8 rendered views), ``blank/`` (2 flat grey
    images), ``single/`` (1 image). Returns (parent, {name: true camera})."""
    parent = tmp_path_factory.mktemp("scenes")
    scene = box_scene(np.random.default_rng(0), [image for _, image in photo_source(None)])
    cams = _cameras()
    (parent / "boxes" / "images").mkdir(parents=True)
    truth = {}
    for k, (cam, view) in enumerate(zip(cams, render_sequence(scene, cams))):
        cv2.imwrite(str(parent / "boxes" / "images" / f"{k:02d}.png"), view.image)
        truth[f"{k:02d}.png"] = cam
    for name, count in (("blank", 2), ("single", 1)):
        (parent / name).mkdir()
        for k in range(count):
            cv2.imwrite(str(parent / name / f"{k}.png"), np.full((H, W, 3), 128, np.uint8))
    return parent, truth


@pytest.fixture(scope="module")
def reconstructed(scenes, tmp_path_factory):
    """All three scenes reconstructed with COLMAP's SIFT; returns (out folder, reports by name)."""
    out = tmp_path_factory.mktemp("reconstructions")
    reports = reconstruct_scenes(scenes[0], out, OPTIONS)
    return out, {r.name: r for r in reports}


def _pose_errors(R, t, cam0: Camera, cam1: Camera) -> tuple[float, float]:
    R_true, t_true = relative_pose(cam0, cam1)
    return rotation_error_deg(R, R_true), translation_error_deg(t, t_true)


def test_find_scenes_accepts_a_scene_its_images_folder_or_a_parent(scenes, tmp_path):
    parent, _ = scenes
    found = find_scenes(parent)
    assert [s.name for s in found] == ["blank", "boxes", "single"]
    assert found[1].image_dir == parent / "boxes" / "images" and len(found[1].image_names) == N_VIEWS
    assert [s.name for s in find_scenes(parent / "boxes")] == ["boxes"]
    assert [s.name for s in find_scenes(parent / "boxes" / "images")] == ["boxes"]
    with pytest.raises(ValueError, match="no images"):
        find_scenes(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_scenes(tmp_path / "missing")


def test_every_view_registers_with_the_true_relative_poses(reconstructed, scenes):
    rec = load_reconstruction(reconstructed[0] / "boxes")
    truth = scenes[1]
    s = rec.summary
    # measured: 8/8 images, 1169 points, track length 4.90, 0.176 px
    assert s["status"] == "ok" and s["num_registered"] == N_VIEWS and s["unregistered"] == [], s
    assert s["num_points3D"] > 500 and s["mean_reprojection_error"] < 0.5
    assert sorted(rec.images) == sorted(truth) and len(rec.cameras) == 1
    errors = []
    for a, b in itertools.combinations(sorted(truth), 2):
        R = rec.images[b].R @ rec.images[a].R.T
        errors.append(_pose_errors(R, rec.images[b].t - R @ rec.images[a].t, truth[a], truth[b]))
    rot, trans = np.array(errors).T
    # measured: rotation <= 0.05 deg, translation direction <= 0.4 deg
    assert rot.max() < 0.3 and trans.max() < 2.0, (rot.max(), trans.max())
    assert rec.camera("00.png").K[0, 0] == pytest.approx(K_TRUE[0, 0], rel=0.01)


def test_observations_reproject_within_a_pixel_in_opencv_pixels(reconstructed, scenes):
    rec = load_reconstruction(reconstructed[0] / "boxes")
    xyz = rec.xyz[rec.track_points()]
    reprojected = np.empty_like(rec.track_xy)
    for k, name in enumerate(rec.image_names):
        sel = rec.track_image == k
        pose, cam = rec.images[name], rec.camera(name)
        reprojected[sel] = cv2.projectPoints(xyz[sel], cv2.Rodrigues(pose.R)[0], pose.t, cam.K, cam.dist)[0][:, 0]
    error = np.linalg.norm(reprojected - rec.track_xy, axis=1)
    # measured: mean 0.18 px, 95th percentile 0.5 px (COLMAP keeps observations up to 4 px)
    assert np.percentile(error, 95) < 1.0 and error.mean() < 0.3, (np.percentile(error, 95), error.mean())
    per_point = np.add.reduceat(error, rec.track_offsets[:-1]) / np.diff(rec.track_offsets)
    np.testing.assert_allclose(per_point, rec.error, atol=1e-3)  # COLMAP's own errors, in its convention
    assert np.all(rec.track_size > 0) and np.all((rec.track_angle >= 0) & (rec.track_angle < 360))


def _blob_image(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(240, 320) uint8 image of Gaussian blobs (sigma 3 px) at known (N, 2) centres in
    OpenCV pixels (pixel (x, y) has value exp(-|(x, y) - centre|^2 / 18))."""
    gx, gy = np.meshgrid(np.arange(16, W - 16, 24), np.arange(16, H - 16, 24))
    centres = np.stack([gx.ravel(), gy.ravel()], 1) + rng.uniform(-3, 3, (gx.size, 2))
    x, y = np.meshgrid(np.arange(W), np.arange(H))
    image = sum(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 18.0) for cx, cy in centres)
    return np.uint8(255 * image / image.max()), centres


def test_track_positions_are_colmap_keypoints_moved_to_opencv_pixel_centres(reconstructed, tmp_path):
    # COLMAP's SIFT puts blob centres at OpenCV position + 0.5 (measured: 0.002 px off)
    image, centres = _blob_image(np.random.default_rng(0))
    (tmp_path / "blobs").mkdir()
    cv2.imwrite(str(tmp_path / "blobs" / "a.png"), image)
    pycolmap.extract_features(tmp_path / "blobs.db", tmp_path / "blobs")
    with pycolmap.Database.open(str(tmp_path / "blobs.db")) as db:
        found = np.asarray(db.read_keypoints(1))[:, :2]
    nearest = np.linalg.norm(found[:, None] - 0.5 - centres[None], axis=2)
    close = nearest.min(1) < 1.0
    assert close.sum() > 100
    assert np.abs(found[close] - 0.5 - centres[nearest[close].argmin(1)]).max() < 0.05
    # the export subtracts exactly that 0.5 from the keypoints COLMAP matched
    rec = load_reconstruction(reconstructed[0] / "boxes")
    with pycolmap.Database.open(str(reconstructed[0] / "boxes" / "database.db")) as db:
        keypoints = {image.name: np.asarray(db.read_keypoints(image.image_id)) for image in db.read_all_images()}
    for k, name in enumerate(rec.image_names):
        sel = rec.track_image == k
        np.testing.assert_allclose(rec.track_xy[sel], keypoints[name][rec.track_keypoint[sel], :2] - 0.5, atol=1e-4)


def test_degenerate_scenes_are_reported_not_raised(reconstructed):
    out, reports = reconstructed
    assert reports["boxes"].status == "ok"
    assert reports["blank"].status == "no_model" and reports["blank"].summary["unregistered"] == ["0.png", "1.png"]
    assert reports["single"].status == "too_few_images"
    assert "too_few_images: 1 image(s)" in reports["single"].describe()
    for name in ("blank", "single"):
        assert (out / name / "summary.json").is_file()
        with pytest.raises(ValueError, match="has no reconstruction"):
            load_reconstruction(out / name)


def test_resume_skips_a_finished_scene_and_redoes_an_interrupted_one(scenes, tmp_path):
    scene = find_scenes(scenes[0] / "boxes")
    (first,) = reconstruct_scenes(scenes[0], tmp_path, OPTIONS, scenes=scene)
    stamp = (tmp_path / "boxes" / "points.h5").stat().st_mtime_ns
    (again,) = reconstruct_scenes(scenes[0], tmp_path, OPTIONS, scenes=scene)
    assert again.skipped and again.summary == first.summary
    assert (tmp_path / "boxes" / "points.h5").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="other options .*matcher='exhaustive'"):
        reconstruct_scenes(scenes[0], tmp_path, ReconstructOptions(single_camera=True, matcher="sequential"),
                           scenes=scene)
    (tmp_path / "boxes" / "summary.json").unlink()  # interrupted before the summary
    shutil.rmtree(tmp_path / "boxes" / "sparse")
    (redone,) = reconstruct_scenes(scenes[0], tmp_path, OPTIONS, scenes=scene)
    assert not redone.skipped and redone.status == "ok" and (tmp_path / "boxes" / "sparse").is_dir()
    grown = shutil.copytree(scenes[0] / "single", tmp_path / "grown")
    assert reconstruct_scenes(grown, tmp_path / "out", OPTIONS)[0].status == "too_few_images"
    shutil.copy(grown / "0.png", grown / "1.png")  # an image added: the scene is redone
    (after,) = reconstruct_scenes(grown, tmp_path / "out", OPTIONS)
    assert not after.skipped and after.status == "no_model" and after.summary["num_images"] == 2


def test_a_failing_scene_does_not_stop_the_others_and_is_redone(scenes, tmp_path, monkeypatch):
    import cvlearned.reconstruction as reconstruction

    real = reconstruction._run_scene

    def flaky(scene, *args):
        if scene.name == "blank":
            raise RuntimeError("COLMAP crashed")
        return real(scene, *args)

    monkeypatch.setattr(reconstruction, "_run_scene", flaky)
    reports = reconstruct_scenes(scenes[0], tmp_path, OPTIONS)
    assert [(r.name, r.status) for r in reports] == [("blank", "error"), ("boxes", "ok"), ("single", "too_few_images")]
    assert reports[0].describe() == "blank: error: RuntimeError: COLMAP crashed"
    monkeypatch.setattr(reconstruction, "_run_scene", real)
    again = reconstruct_scenes(scenes[0], tmp_path, OPTIONS)
    assert [(r.name, r.status, r.skipped) for r in again] == [("blank", "no_model", False), ("boxes", "ok", True),
                                                              ("single", "too_few_images", True)]


def test_the_largest_model_is_kept_and_the_others_are_reported(scenes, tmp_path):
    """8 views of one scene and 4 of another in one folder: two models, the 8-view one kept."""
    folder = tmp_path / "mixed"
    shutil.copytree(scenes[0] / "boxes" / "images", folder)
    other = box_scene(np.random.default_rng(1), [image for _, image in photo_source(None)])
    for k, view in enumerate(render_sequence(other, _cameras()[:4])):
        cv2.imwrite(str(folder / f"other{k}.png"), view.image)
    (report,) = reconstruct_scenes(folder, tmp_path / "out", OPTIONS)
    s = report.summary
    assert s["num_registered"] == N_VIEWS and s["other_models"] == [[f"other{k}.png" for k in range(4)]], s
    assert s["unregistered"] == [f"other{k}.png" for k in range(4)]
    assert "1 smaller model(s) dropped (4 images)" in report.describe()


def test_options_are_checked():
    with pytest.raises(ValueError, match="did you mean 'sift'"):
        ReconstructOptions(feature="sfit")
    with pytest.raises(ValueError, match="matcher must be one of exhaustive, sequential"):
        ReconstructOptions(matcher="vocab")
    with pytest.raises(ValueError, match="camera_model must be one of"):
        ReconstructOptions(camera_model="FISHEYE")
    with pytest.raises(ValueError, match="max_side must be a positive int"):
        ReconstructOptions(max_side=0)


def test_registered_feature_goes_through_the_colmap_adapter(scenes, tmp_path):
    options = ReconstructOptions(feature="akaze", matcher="sequential", window=3)
    (report,) = reconstruct_scenes(scenes[0] / "boxes", tmp_path, options)
    rec = load_reconstruction(tmp_path / "boxes")
    # measured: 8/8 images, ~440 points, 0.32 px
    assert report.summary["num_registered"] == N_VIEWS, report.describe()
    assert {c.model for c in rec.cameras.values()} == {"SIMPLE_PINHOLE"}
    assert (tmp_path / "boxes" / "features.h5").is_file() and np.isfinite(rec.track_size).all()


def test_pose_pairs_load_with_the_true_relative_poses(reconstructed, scenes, tmp_path):
    scene_dir = reconstructed[0] / "boxes"
    written = write_pose_pairs(scene_dir, tmp_path, max_pairs=12, min_covisible=30)
    rec = load_reconstruction(scene_dir)
    pairs = load_pairs_txt(tmp_path)
    assert len(pairs) == len(written) == 12
    shared = covisibility(rec)
    index = {n: k for k, n in enumerate(rec.image_names)}
    for item, pair in zip(written, pairs):
        observers = [set(rec.track_points()[rec.track_image == index[n]]) for n in (item.name0, item.name1)]
        assert item.shared == shared[index[item.name0], index[item.name1]] == len(observers[0] & observers[1])
        rot, trans = _pose_errors(pair.R, pair.t, scenes[1][item.name0], scenes[1][item.name1])
        assert rot < 0.3 and trans < 2.0, (pair.name, rot, trans)
        np.testing.assert_allclose(pair.K0, rec.camera(item.name0).K)
        np.testing.assert_allclose(pair.D1, rec.camera(item.name1).dist)
        source = cv2.imread(str(scenes[0] / "boxes" / "images" / item.name0))
        np.testing.assert_array_equal(pair.image0, source)
    rows = (tmp_path / "pairs_info.tsv").read_text().splitlines()
    assert rows[0] == "name0\tname1\tshared_tracks\trotation_deg" and len(rows) == 13
    angles = [w.angle_deg for w in written]
    assert max(angles) - min(angles) > 10
    with pytest.raises(ValueError, match="lower --min-covisible"):
        write_pose_pairs(scene_dir, tmp_path / "none", min_covisible=10**6)


def test_sample_pairs_covers_the_strata_first_and_is_seeded():
    candidates = [PairCandidate(f"{k}a", f"{k}b", shared, angle)
                  for k, (angle, shared) in enumerate(itertools.product((2, 7, 15, 25, 50), (40, 100, 400)))]
    first = sample_pairs(candidates, 5, seed=1)
    assert sorted(p.angle_deg for p in first) == [2, 7, 15, 25, 50]
    assert len({p.shared for p in first}) == 3  # the co-visibility levels alternate
    assert sample_pairs(candidates, 5, seed=1) == first
    assert len(sample_pairs(candidates, 100)) == len(candidates)
    with pytest.raises(ValueError, match="max_pairs"):
        sample_pairs(candidates, 0)


@pytest.mark.parametrize("model", ["SIMPLE_RADIAL", "RADIAL", "OPENCV", "PINHOLE"])
def test_colmap_cameras_become_the_same_opencv_projection(model):
    rng = np.random.default_rng(0)
    base = {"SIMPLE_RADIAL": [300, 160, 120, -0.05], "RADIAL": [300, 160, 120, -0.05, 0.01],
            "OPENCV": [300, 310, 161, 118, -0.05, 0.01, 0.002, -0.001], "PINHOLE": [300, 310, 161, 118]}[model]
    camera = pycolmap.Camera(model=model, width=W, height=H, params=base)
    X = rng.uniform([-1, -1, 3], [1, 1, 5], (50, 3))
    colmap_pixels = np.asarray(camera.img_from_cam(X))[:, :2]
    cam = camera_intrinsics(model, W, H, camera.params)
    opencv_pixels = cv2.projectPoints(X, np.zeros(3), np.zeros(3), cam.K, cam.dist)[0][:, 0]
    np.testing.assert_allclose(opencv_pixels + 0.5, colmap_pixels, atol=1e-6)
    with pytest.raises(ValueError, match="FISHEYE has no OpenCV equivalent"):
        camera_intrinsics("FISHEYE", W, H, base)


def test_cli_reconstruct_and_pose_pairs(reconstructed, scenes, tmp_path, capsys):
    out = reconstructed[0]
    argv = ["data", "reconstruct", str(scenes[0]), "--out", str(out), "--single-camera", "--no-progress"]
    assert main(argv) == 1  # two scenes have no model
    text = capsys.readouterr().out
    assert "boxes: already done, registered 8/8 images" in text and "blank: already done, no_model" in text
    assert "1/3 scenes reconstructed" in text and "without a model: blank, single" in text
    assert main(["data", "pose-pairs", str(out / "boxes"), "--out", str(tmp_path), "--max-pairs", "5"]) == 0
    assert "5 pose pairs" in capsys.readouterr().out and len(load_pairs_txt(tmp_path)) == 5


def test_cli_usage_and_run_errors_are_one_line(reconstructed, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "reconstruct", str(tmp_path), "--feature", "sfit"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("cvlearned data reconstruct: error: argument --feature:")
    assert main(["data", "pose-pairs", str(reconstructed[0] / "blank"), "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_covisible_pairs_command_pairs_each_image_with_its_most_covisible(reconstructed, tmp_path, capsys):
    from cvlearned import io
    from cvlearned.folder_matching import covisible_pairs
    from cvlearned.reconstruction_io import load_reconstruction

    scene = reconstructed[0] / "boxes"
    rec = load_reconstruction(scene)
    shared = covisibility(rec)
    out = tmp_path / "pairs.txt"
    assert main(["pairs", "covisible", str(scene), "--out", str(out), "--num", "2"]) == 0
    pairs = io.read_pairs(out)
    assert pairs == covisible_pairs(rec.image_names, shared, 2)
    names = list(rec.image_names)
    for i, name in enumerate(names):  # the best partner of every image is among the pairs
        best = names[int(np.argmax(np.where(np.arange(len(names)) == i, -1, shared[i])))]
        assert tuple(sorted((name, best))) in pairs
    assert main(["pairs", "covisible", str(reconstructed[0] / "blank"), "--out", str(out)]) == 1
    assert "has no reconstruction" in capsys.readouterr().err
