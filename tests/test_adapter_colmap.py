"""cvlearned.adapters.colmap: database writing, input validation, mapping on exact geometry."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from cvlearned.synthetic.scene_geometry import Camera, intrinsics

colmap = pytest.importorskip("cvlearned.adapters.colmap")
pycolmap = pytest.importorskip("pycolmap")

W, H = 320, 240
K = intrinsics(W, H, 60.0)


def _views(n_views: int = 5, n_points: int = 400, noise_px: float = 0.2, seed: int = 0):
    """Cameras on an arc looking at a random point cloud; per view its keypoints (OpenCV
    pixels, shuffled, plus distractors) and, per pair, the true one-to-one matches."""
    rng = np.random.default_rng(seed)
    X = rng.uniform((-2.0, 4.0, -1.0), (2.0, 7.0, 1.5), (n_points, 3))
    cams = [Camera.look_at((x, -0.2 * x * x, 0.3 * x), (0.0, 5.5, 0.2), (0, 0, 1), K, W, H)
            for x in np.linspace(-1.2, 1.2, n_views)]
    keypoints, point_ids = [], []
    for cam in cams:
        px, z = cam.project(X)
        seen = np.flatnonzero((z > 0) & (px[:, 0] > 0) & (px[:, 0] < W - 1) & (px[:, 1] > 0) & (px[:, 1] < H - 1))
        seen = rng.permutation(seen)
        pts = px[seen] + rng.normal(0, noise_px, (len(seen), 2))
        distractors = rng.uniform((0, 0), (W - 1, H - 1), (30, 2))
        keypoints.append(np.vstack([pts, distractors]))
        point_ids.append(np.concatenate([seen, np.full(30, -1)]))
    matches = {}
    for i, j in itertools.combinations(range(n_views), 2):
        where_j = {p: k for k, p in enumerate(point_ids[j]) if p >= 0}
        matches[(i, j)] = np.array([(k, where_j[p]) for k, p in enumerate(point_ids[i]) if p in where_j], np.int64)
    return cams, keypoints, matches


def _true_poses(cams, pairs):
    out = {}
    for i, j in pairs:
        R = cams[j].R @ cams[i].R.T
        out[(i, j)] = (R, cams[j].t - R @ cams[i].t)
    return out


@pytest.fixture(scope="module")
def views():
    return _views()


def _names(n):
    return [f"img{k}.png" for k in range(n)]


def test_database_contents(tmp_path, views):
    cams, kps, matches = views
    db_path = tmp_path / "db.db"
    poses = _true_poses(cams, [(0, 2)])
    ids = colmap.write_database(db_path, _names(len(cams)), colmap.PinholeCamera(K, W, H), kps, matches,
                                poses=poses)
    assert len(set(ids)) == len(cams)
    with pycolmap.Database.open(str(db_path)) as db:
        assert db.num_cameras() == 1 and db.num_images() == len(cams)
        assert db.num_rigs() == 1 and db.num_frames() == len(cams)
        assert db.num_descriptors() == 0
        camera = db.read_camera(db.read_image(ids[0]).camera_id)
        assert camera.model_name == "SIMPLE_PINHOLE"  # fx == fy
        np.testing.assert_allclose(camera.params, [K[0, 0], K[0, 2] + 0.5, K[1, 2] + 0.5])
        np.testing.assert_allclose(db.read_keypoints(ids[1])[:, :2], kps[1] + 0.5, atol=1e-4)
        tvg = db.read_two_view_geometry(ids[0], ids[2])
        np.testing.assert_array_equal(tvg.inlier_matches, matches[(0, 2)])
        assert tvg.config == pycolmap.TwoViewGeometryConfiguration.CALIBRATED
        x0 = np.c_[kps[0][matches[(0, 2)][:, 0]], np.ones(len(matches[(0, 2)]))] @ np.linalg.inv(K).T
        x2 = np.c_[kps[2][matches[(0, 2)][:, 1]], np.ones(len(matches[(0, 2)]))] @ np.linalg.inv(K).T
        assert np.abs(np.einsum("ni,ij,nj->n", x2, tvg.E, x0)).max() < 1e-2  # x2^T E x0 = 0
        np.testing.assert_allclose(tvg.cam2_from_cam1.rotation.matrix(), poses[(0, 2)][0], atol=1e-9)
        assert db.read_two_view_geometry(ids[0], ids[1]).config == pycolmap.TwoViewGeometryConfiguration.UNCALIBRATED
    with pytest.raises(FileExistsError):
        colmap.write_database(db_path, _names(len(cams)), colmap.PinholeCamera(K, W, H), kps, matches)


def test_cameras_per_image(tmp_path):
    K2 = K.copy()
    K2[1, 1] *= 1.1
    cams = [colmap.PinholeCamera(K, W, H), colmap.PinholeCamera(K2, W, H), colmap.PinholeCamera(K, W, H)]
    ids = colmap.write_database(tmp_path / "db.db", _names(3), cams, [np.zeros((2, 2))] * 3, {})
    with pycolmap.Database.open(str(tmp_path / "db.db")) as db:
        assert db.num_cameras() == 2 and db.num_rigs() == 2 and db.num_frames() == 3
        camera_ids = [db.read_image(i).camera_id for i in ids]
        assert camera_ids[0] == camera_ids[2] != camera_ids[1]
        camera = db.read_camera(camera_ids[1])
        assert camera.model_name == "PINHOLE"
        np.testing.assert_allclose(camera.params, [K2[0, 0], K2[1, 1], K2[0, 2] + 0.5, K2[1, 2] + 0.5])


@pytest.mark.parametrize("with_poses", [True, False], ids=["calibrated", "uncalibrated"])
def test_reconstruct_exact_geometry(tmp_path, views, with_poses):
    cams, kps, matches = views
    poses = _true_poses(cams, matches) if with_poses else None
    # reversed keys exercise the (j, i) -> (i, j) normalisation
    flipped = {(j, i): m[:, ::-1] for (i, j), m in matches.items()}
    if poses is not None:
        poses = {(j, i): (R.T, -R.T @ t) for (i, j), (R, t) in poses.items()}
    db_path = tmp_path / "db.db"
    colmap.write_database(db_path, _names(len(cams)), [colmap.PinholeCamera(K, W, H)] * len(cams), kps,
                          flipped, poses=poses)
    options = colmap.mapping_options(num_threads=1, extract_colors=False)
    rec = colmap.reconstruct(db_path, tmp_path, tmp_path / "sparse", options)
    summary = colmap.summarize(rec, len(cams))
    assert summary.num_registered == len(cams), summary
    assert summary.num_points3D > 200, summary
    assert summary.mean_reprojection_error < 0.5, summary
    camera = next(iter(rec.cameras.values()))  # intrinsics stay fixed
    np.testing.assert_allclose(camera.params, colmap.PinholeCamera(K, W, H).colmap_params())
    centres = colmap.camera_centres(rec)
    assert sorted(centres) == _names(len(cams)) and all(c.shape == (3,) for c in centres.values())
    # relative rotations are gauge-free: compare them with the truth
    by_name = {rec.image(i).name: rec.image(i) for i in rec.reg_image_ids()}
    R0 = by_name["img0.png"].cam_from_world().rotation.matrix()
    R4 = by_name["img4.png"].cam_from_world().rotation.matrix()
    R_true = cams[4].R @ cams[0].R.T
    angle = np.degrees(np.arccos(np.clip((np.trace((R4 @ R0.T).T @ R_true) - 1) / 2, -1, 1)))
    assert angle < 0.2


def test_summarize_none():
    s = colmap.summarize(None, 4)
    assert (s.num_images, s.num_registered, s.num_points3D) == (4, 0, 0) and np.isnan(s.mean_reprojection_error)


# ----------------------------------------------------------------------------- validation


def _write(tmp_path, names=None, cameras=None, kps=None, matches=None, **kw):
    kps = [np.zeros((5, 2)), np.ones((4, 2))] if kps is None else kps
    names = ["a.png", "b.png"] if names is None else names
    cameras = colmap.PinholeCamera(K, W, H) if cameras is None else cameras
    matches = {(0, 1): np.array([[0, 0], [1, 2]])} if matches is None else matches
    return colmap.write_database(tmp_path / "v.db", names, cameras, kps, matches, **kw)


@pytest.mark.parametrize(
    "K_bad, w, h",
    [(np.eye(2), W, H), (np.diag([-1.0, 1.0, 1.0]), W, H), (K, 0, H), (K, W, True), (K, 320.0, H),
     (np.full((3, 3), np.nan), W, H)],
)
def test_camera_validation(K_bad, w, h):
    with pytest.raises(ValueError):
        colmap.PinholeCamera(K_bad, w, h)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(names=[]), ValueError),
        (dict(names=["a.png", "a.png"]), ValueError),
        (dict(cameras=[colmap.PinholeCamera(K, W, H)] * 3), ValueError),
        (dict(cameras=[K, K]), TypeError),
        (dict(kps=[np.zeros((5, 3)), np.ones((4, 2))]), ValueError),
        (dict(kps=[np.zeros((5, 2))]), ValueError),
        (dict(kps=[np.full((5, 2), np.nan), np.ones((4, 2))]), ValueError),
        (dict(matches=[((0, 1), np.zeros((1, 2), int))]), TypeError),
        (dict(matches={(0, 0): np.zeros((1, 2), int)}), ValueError),
        (dict(matches={(0, 2): np.zeros((1, 2), int)}), ValueError),
        (dict(matches={(0, -1): np.zeros((1, 2), int)}), ValueError),
        (dict(matches={0: np.zeros((1, 2), int)}), TypeError),
        (dict(matches={(0, 1.0): np.zeros((1, 2), int)}), TypeError),
        (dict(matches={(0, 1): np.array([[0, 4]])}), ValueError),  # image 1 has 4 keypoints
        (dict(matches={(0, 1): np.array([[5, 0]])}), ValueError),
        (dict(matches={(0, 1): np.array([[-1, 0]])}), ValueError),
        (dict(matches={(0, 1): np.array([[0.0, 1.0]])}), ValueError),
        (dict(matches={(0, 1): np.array([0, 1, 2])}), ValueError),
        (dict(matches={(0, 1): np.array([[0, 1], [0, 2]])}), ValueError),  # not one-to-one
        (dict(matches={(0, 1): np.array([[0, 1]]), (1, 0): np.array([[1, 0]])}), ValueError),
        (dict(poses={(0, 1): (np.eye(3), np.zeros(3))}), ValueError),
        (dict(poses={(0, 1): (2 * np.eye(3), np.ones(3))}), ValueError),
        (dict(poses={(0, 1): np.eye(3)}), TypeError),
        (dict(poses={(1, 0): (np.eye(3), np.ones(3))}), ValueError),  # no matches for (1, 0)
    ],
)
def test_write_database_validation(tmp_path, kwargs, error):
    with pytest.raises(error):
        _write(tmp_path, **kwargs)
    assert not (tmp_path / "v.db").exists()  # nothing written on bad input


def test_reconstruct_validation(tmp_path):
    with pytest.raises(FileNotFoundError):
        colmap.reconstruct(tmp_path / "missing.db", tmp_path, tmp_path / "out")
    _write(tmp_path)
    with pytest.raises(TypeError):
        colmap.reconstruct(tmp_path / "v.db", tmp_path, tmp_path / "out", options={"min_num_matches": 5})


def test_missing_pycolmap_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycolmap", None)  # makes `import pycolmap` fail
    with pytest.raises(ImportError, match=r"pip install cvlearned\[colmap\]"):
        colmap.import_pycolmap()
