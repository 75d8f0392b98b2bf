"""Pairs of a reconstruction with pose and sparse ground truth (cvlearned.training.common.sfm_pairs),
on a synthetic scene whose cameras, points and observations are known exactly."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from cvlearned.reconstruction_io import CameraIntrinsics, ImagePose, Reconstruction, write_json
from cvlearned.training.common.sfm_pairs import (
    epipolar_distance,
    essential_from_pose,
    load_sfm_pairs,
    sample_sfm_pairs,
    shared_observations,
)

NAMES = ("a.png", "b.png", "c.png")
#: rotation about the y axis of each camera, degrees: pair angles a-b 10, a-c 30, b-c 20
YAW = {"a.png": 0.0, "b.png": 10.0, "c.png": 30.0}
CENTRES = {"a.png": (0.0, 0.0, 0.0), "b.png": (1.0, 0.2, 0.0), "c.png": (2.5, -0.3, 0.5)}
#: images seeing each group of points
VISIBILITY = [(range(0, 40), "abc"), (range(40, 48), "a"), (range(48, 56), "bc"), (range(56, 60), "ac")]
DUPLICATED_POINT = 3  # observed a second time, later in its track, in image a
CAMERAS = {
    1: CameraIntrinsics("OPENCV", 640, 480, np.array([[500.0, 0, 319.5], [0, 510.0, 239.5], [0, 0, 1]]),
                        np.array([-0.2, 0.05, 0.001, -0.002, 0.0])),
    2: CameraIntrinsics("PINHOLE", 800, 600, np.array([[700.0, 0, 399.5], [0, 700.0, 299.5], [0, 0, 1]]),
                        np.zeros(5)),
}
CAMERA_OF = {"a.png": 1, "b.png": 1, "c.png": 2}


def _pose(name: str) -> ImagePose:
    R = cv2.Rodrigues(np.array([0.0, np.radians(YAW[name]), 0.0]))[0]
    return ImagePose(name, CAMERA_OF[name], R, -R @ np.array(CENTRES[name]))


def _project(name: str, xyz: np.ndarray) -> np.ndarray:
    pose, cam = _pose(name), CAMERAS[CAMERA_OF[name]]
    xy, _ = cv2.projectPoints(xyz, cv2.Rodrigues(pose.R)[0], pose.t, cam.K, cam.dist)
    return xy.reshape(-1, 2)


def _scene() -> tuple[Reconstruction, dict[str, np.ndarray]]:
    """The reconstruction (tracks in shuffled image order) and each image's true projections."""
    rng = np.random.default_rng(3)
    xyz = np.column_stack([rng.uniform(-2, 2, 60), rng.uniform(-1.5, 1.5, 60), rng.uniform(6, 10, 60)])
    truth = {name: _project(name, xyz) for name in NAMES}
    images, xy, offsets = [], [], [0]
    for points, seen in VISIBILITY:
        for p in points:
            track = [NAMES.index(n) for n in rng.permutation([n for n in NAMES if n[0] in seen])]
            if p == DUPLICATED_POINT:
                track.append(0)
            images += track
            xy += [truth[NAMES[i]][p] for i in track]
            offsets.append(len(images))
    xy = np.array(xy)
    xy[offsets[DUPLICATED_POINT + 1] - 1] += 7.0  # the duplicate observation is off by 7 px
    n = len(images)
    rec = Reconstruction(cameras=CAMERAS, images={name: _pose(name) for name in NAMES}, image_names=NAMES,
                         xyz=xyz, rgb=np.zeros((60, 3), np.uint8), error=np.zeros(60),
                         track_offsets=np.array(offsets, np.int64), track_image=np.array(images, np.int32),
                         track_keypoint=np.arange(n, dtype=np.int32), track_xy=xy,
                         track_size=np.full(n, 4.0, np.float32), track_angle=np.full(n, np.nan, np.float32),
                         summary={"status": "ok"})
    return rec, truth


@pytest.fixture(scope="module")
def scene():
    return _scene()


def _write_scene(rec: Reconstruction, scene_dir: Path, image_dir: Path) -> Path:
    """``rec`` in the layout of :mod:`cvlearned.reconstruction_io`."""
    scene_dir.mkdir(parents=True)
    write_json(scene_dir / "summary.json", {"status": "ok", "image_dir": str(image_dir)})
    write_json(scene_dir / "cameras.json", {"cameras": {
        str(k): {"model": c.model, "width": c.width, "height": c.height, "K": c.K.tolist(), "dist": c.dist.tolist()}
        for k, c in rec.cameras.items()}})
    write_json(scene_dir / "images.json", {"images": {
        name: {"camera_id": p.camera_id, "R": p.R.tolist(), "t": p.t.tolist()} for name, p in rec.images.items()}})
    with h5py.File(scene_dir / "points.h5", "w") as h5:
        h5.create_dataset("image_names", data=np.array(rec.image_names, dtype=object), dtype=h5py.string_dtype())
        for key in ("xyz", "rgb", "error", "track_offsets", "track_image", "track_keypoint", "track_xy",
                    "track_size", "track_angle"):
            h5.create_dataset(key, data=getattr(rec, key))
    return scene_dir


def _expected_points(name0: str, name1: str) -> np.ndarray:
    return np.array([p for points, seen in VISIBILITY for p in points if name0[0] in seen and name1[0] in seen])


@pytest.mark.parametrize("name0,name1", [("a.png", "b.png"), ("a.png", "c.png"), ("c.png", "b.png")])
def test_shared_observations_are_the_common_points_at_their_true_positions(scene, name0, name1):
    rec, truth = scene
    xy0, xy1, point_ids = shared_observations(rec, name0, name1)
    np.testing.assert_array_equal(point_ids, _expected_points(name0, name1))
    assert xy0.dtype == xy1.dtype == np.float64 and xy0.shape == xy1.shape == (len(point_ids), 2)
    # exact: the first observation of the duplicated point, never the one 7 px off
    np.testing.assert_array_equal(xy0, truth[name0][point_ids])
    np.testing.assert_array_equal(xy1, truth[name1][point_ids])


def test_pairs_carry_the_true_relative_pose_intrinsics_and_angle(scene):
    rec, truth = scene
    pairs = sample_sfm_pairs(rec, max_pairs=10, min_covisible=10)
    assert sorted((p.name0, p.name1) for p in pairs) == [("a.png", "b.png"), ("a.png", "c.png"), ("b.png", "c.png")]
    for pair in pairs:
        pose0, pose1 = _pose(pair.name0), _pose(pair.name1)
        X0, X1 = rec.xyz @ pose0.R.T + pose0.t, rec.xyz @ pose1.R.T + pose1.t
        np.testing.assert_allclose(X0 @ pair.R.T + pair.t, X1, atol=1e-12)
        assert pair.angle_deg == pytest.approx(abs(YAW[pair.name1] - YAW[pair.name0]), abs=1e-9)
        assert pair.shared == len(pair.point_ids) == len(_expected_points(pair.name0, pair.name1))
        np.testing.assert_array_equal(pair.K0, CAMERAS[CAMERA_OF[pair.name0]].K)
        np.testing.assert_array_equal(pair.dist1, CAMERAS[CAMERA_OF[pair.name1]].dist)
        np.testing.assert_array_equal(pair.xy1, truth[pair.name1][pair.point_ids])


def test_epipolar_distance_vanishes_on_true_correspondences_only(scene):
    rec, _ = scene
    for pair in sample_sfm_pairs(rec, max_pairs=10, min_covisible=10):
        args = (pair.K0, pair.K1, pair.R, pair.t, pair.dist0, pair.dist1)
        true = epipolar_distance(pair.xy0, pair.xy1, *args)
        shuffled = epipolar_distance(pair.xy0, np.roll(pair.xy1, 5, axis=0), *args)
        assert true.shape == (pair.shared,) and true.max() < 1e-6
        assert np.median(shuffled) > 10.0
    # a-b: both cameras distorted; ignoring the distortion leaves errors of tenths of pixels
    ab = next(p for p in sample_sfm_pairs(rec, 10, 10) if (p.name0, p.name1) == ("a.png", "b.png"))
    assert epipolar_distance(ab.xy0, ab.xy1, ab.K0, ab.K1, ab.R, ab.t).max() > 0.3


def test_essential_matrix_satisfies_the_epipolar_constraint(scene):
    rec, _ = scene
    pose0, pose1 = _pose("a.png"), _pose("c.png")
    R = pose1.R @ pose0.R.T
    t = pose1.t - R @ pose0.t
    E = essential_from_pose(R, t)
    X0 = rec.xyz @ pose0.R.T + pose0.t
    X1 = X0 @ R.T + t
    assert np.abs(np.einsum("ni,ij,nj->n", X1 / X1[:, 2:], E, X0 / X0[:, 2:])).max() < 1e-12
    s = np.linalg.svd(E, compute_uv=False)
    assert s[0] == pytest.approx(np.linalg.norm(t)) and s[1] == pytest.approx(s[0]) and s[2] < 1e-12


def test_angle_range_filters_before_sampling_and_sampling_is_seeded(scene):
    rec, _ = scene
    only = sample_sfm_pairs(rec, 10, min_covisible=10, min_angle_deg=15.0, max_angle_deg=25.0)
    assert [(p.name0, p.name1) for p in only] == [("b.png", "c.png")]
    assert sample_sfm_pairs(rec, 10, min_covisible=10, min_angle_deg=31.0) == []
    assert [p.name1 for p in sample_sfm_pairs(rec, 10, min_covisible=45)] == ["c.png"]  # b-c shares 48
    first = [(p.name0, p.name1) for p in sample_sfm_pairs(rec, 2, min_covisible=10, seed=5)]
    assert len(first) == 2 and first == [(p.name0, p.name1) for p in sample_sfm_pairs(rec, 2, 10, seed=5)]


@pytest.mark.parametrize("kwargs,message", [
    ({"max_pairs": 0}, "max_pairs"),
    ({"min_covisible": 0}, "min_covisible"),
    ({"min_angle_deg": -1.0}, "min_angle_deg"),
    ({"max_angle_deg": 181.0}, "max_angle_deg"),
    ({"max_angle_deg": float("nan")}, "max_angle_deg"),
    ({"min_angle_deg": 30.0, "max_angle_deg": 20.0}, "must not exceed"),
])
def test_sampling_arguments_are_checked(scene, kwargs, message):
    arguments = {"max_pairs": 5, "min_covisible": 10, **kwargs}
    with pytest.raises(ValueError, match=message):
        sample_sfm_pairs(scene[0], **arguments)


def test_observation_and_epipolar_arguments_are_checked(scene):
    rec, _ = scene
    with pytest.raises(ValueError, match="'z.png' is not registered"):
        shared_observations(rec, "a.png", "z.png")
    with pytest.raises(ValueError, match="two different images"):
        shared_observations(rec, "a.png", "a.png")
    K, R, t = np.eye(3), np.eye(3), np.array([1.0, 0, 0])
    with pytest.raises(ValueError, match="same length"):
        epipolar_distance(np.zeros((3, 2)), np.zeros((2, 2)), K, K, R, t)
    with pytest.raises(ValueError, match=r"xy1 must be \(N, 2\)"):
        epipolar_distance(np.zeros((3, 2)), np.zeros((3, 3)), K, K, R, t)
    with pytest.raises(ValueError, match="R must be"):
        epipolar_distance(np.zeros((3, 2)), np.zeros((3, 2)), K, K, np.eye(2), t)
    with pytest.raises(ValueError, match="K0 and K1"):
        epipolar_distance(np.zeros((3, 2)), np.zeros((3, 2)), np.eye(2), K, R, t)


def test_load_sfm_pairs_reads_scenes_with_their_image_folders(scene, tmp_path):
    rec, truth = scene
    images = tmp_path / "images"
    images.mkdir()
    for name in NAMES:
        cv2.imwrite(str(images / name), np.zeros((8, 8, 3), np.uint8))
    scenes = [_write_scene(rec, tmp_path / s, images) for s in ("s0", "s1")]
    loaded = load_sfm_pairs(scenes, max_pairs_per_scene=2, min_covisible=10)
    assert len(loaded) == 4 and all(folder == images for _, folder in loaded)
    for pair, folder in loaded:
        assert (folder / pair.name0).is_file()
        np.testing.assert_array_equal(pair.xy0, truth[pair.name0][pair.point_ids])
    (images / "c.png").unlink()
    with pytest.raises(FileNotFoundError, match="s1.*c.png"):
        load_sfm_pairs(scenes[1:], max_pairs_per_scene=10, min_covisible=10)
    assert len(load_sfm_pairs(scenes[1:], 10, min_covisible=10, max_angle_deg=15.0)) == 1  # a-b only
    with pytest.raises(ValueError, match="no image pair shares 100"):
        load_sfm_pairs(scenes, 10, min_covisible=100)
    with pytest.raises(TypeError, match="sequence of scene folders"):
        load_sfm_pairs(scenes[0], 10)
