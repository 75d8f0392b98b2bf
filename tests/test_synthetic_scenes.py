"""Tests for the exact planar-scene renderer in cvlearned.synthetic.scenes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvlearned.datasets.types import PosePair
from cvlearned.synthetic import (
    LAYOUTS,
    Camera,
    Plane,
    Scene,
    bundled_photo,
    forward_motion_sequence,
    intrinsics,
    make_scene_pairs,
    project_correspondences,
    relative_pose,
    render,
    render_depth,
    render_sequence,
    rotating_sequence,
    sample_pair_cameras,
    warp_points,
)

TEXTURES = [bundled_photo(n) for n in ("brick", "coffee", "gravel", "chelsea")]


def _K(f: float, w: int, h: int) -> np.ndarray:
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1.0]])


def _rot_angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


def _angle_between_deg(a: np.ndarray, b: np.ndarray) -> float:
    c = abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


def _fronto_scene(texture: np.ndarray, K: np.ndarray, Z: float, at: tuple[int, int], texel_px: float = 1.0) -> Scene:
    """Plane at depth Z, axis-aligned, texel (0, 0) at pixel ``at``, texel spacing ``texel_px`` pixels."""
    th, tw = texture.shape[:2]
    f, cx, cy = K[0, 0], K[0, 2], K[1, 2]
    step = texel_px * Z / f  # metres per texel
    origin = ((at[0] - cx) * Z / f, (at[1] - cy) * Z / f, Z)
    return Scene((Plane(origin, (step * (tw - 1), 0, 0), (0, step * (th - 1), 0), texture),), background=(7, 8, 9))


# ----------------------------------------------------------------------------- basics


def test_intrinsics_and_look_at_conventions():
    K = intrinsics(640, 480, 90.0)
    assert K[0, 0] == pytest.approx(320.0) and K[0, 2] == 319.5 and K[1, 2] == 239.5
    eye, target = np.array([1.0, -2.0, 1.5]), np.array([0.5, 4.0, 0.7])
    cam = Camera.look_at(eye, target, (0, 0, 1), K, 640, 480)
    assert np.allclose(cam.center, eye)
    (p,), (z,) = cam.project(target[None])
    assert np.allclose(p, (319.5, 239.5)) and z > 0
    # world up projects upwards in the image (y decreases), no roll
    (pu,), _ = cam.project((target + [0, 0, 0.1])[None])
    assert pu[1] < 239.5 and abs(pu[0] - 319.5) < 1e-6 + abs(pu[1] - 239.5) * 0.2


def test_plane_and_camera_validation():
    tex = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError):
        Plane((0, 0, 0), (1, 0, 0), (2, 0, 0), tex)
    with pytest.raises(ValueError):
        Plane((0, 0, 0), (1, 0, 0), (0, 1, 0), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        Camera(np.eye(3), 2 * np.eye(3), np.zeros(3), 10, 10)
    p = Plane((0, 0, 0), (1, 0, 0), (0, 1, 0), tex)
    assert not p.texture.flags.writeable
    assert np.allclose(p.normal, (0, 0, 1))


def test_relative_pose_composition():
    rng = np.random.default_rng(0)
    K = intrinsics(100, 80, 60)
    cams = [Camera.look_at(rng.normal(size=3), rng.normal(size=3) + [0, 5, 0], (0, 0, 1), K, 100, 80) for _ in range(3)]
    R01, t01 = relative_pose(cams[0], cams[1])
    R12, t12 = relative_pose(cams[1], cams[2])
    R02, t02 = relative_pose(cams[0], cams[2])
    assert np.allclose(R12 @ R01, R02) and np.allclose(R12 @ t01 + t12, t02)
    X = rng.normal(size=3)
    X0, X1 = cams[0].R @ X + cams[0].t, cams[1].R @ X + cams[1].t
    assert np.allclose(R01 @ X0 + t01, X1)
    R, t = relative_pose(cams[0], cams[0])
    assert np.allclose(R, np.eye(3)) and np.allclose(t, 0)


# ----------------------------------------------------------------------------- rendering


def test_fronto_parallel_plane_exact_depth_and_texture():
    rng = np.random.default_rng(0)
    w, h, Z = 161, 121, 2.5
    K = _K(100.0, w, h)
    tex = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    scene = _fronto_scene(tex, K, Z, at=(10, 20))
    cam = Camera(K, np.eye(3), np.zeros(3), w, h)
    view = render(scene, cam, supersample=1)
    assert view.image.shape == (h, w, 3) and view.image.dtype == np.uint8
    assert view.depth.shape == (h, w) and view.depth.dtype == np.float32
    assert view.plane_index.shape == (h, w) and view.plane_index.dtype == np.int16
    covered = view.plane_index == 0
    rows, cols = np.nonzero(covered)
    assert abs(rows.min() - 20) <= 1 and abs(rows.max() - 67) <= 1
    assert abs(cols.min() - 10) <= 1 and abs(cols.max() - 73) <= 1
    assert np.allclose(view.depth[covered], Z, rtol=1e-6)
    assert np.all(np.isinf(view.depth[~covered]))
    assert np.all(view.image[~covered] == (7, 8, 9))
    # one texel per pixel: the interior reproduces the texture exactly
    assert np.array_equal(view.image[21:67, 11:73], tex[1:47, 1:63])


def test_supersampled_render_is_centred_and_scaled():
    rng = np.random.default_rng(1)
    w, h, Z = 160, 120, 4.0
    K = _K(150.0, w, h)
    noise = rng.normal(128, 60, (200, 260, 3)).astype(np.float32)
    tex = np.clip(cv2.GaussianBlur(noise, (0, 0), 3) * 3 - 256, 0, 255).astype(np.uint8)
    cam = Camera(K, np.eye(3), np.zeros(3), w, h)
    # 1 texel per pixel, supersampled: same as the texture up to slight anti-aliasing blur
    view = render(_fronto_scene(tex[:100, :120], K, Z, at=(20, 10)), cam, supersample=2)
    diff = np.abs(view.image[12:108, 22:138].astype(int) - tex[2:98, 2:118].astype(int))
    assert diff.mean() < 1.5
    # 2 texels per pixel: pixel (x, y) shows texel (2(x - 20), 2(y - 10)), minified smoothly
    view = render(_fronto_scene(tex, K, Z, at=(20, 10), texel_px=0.5), cam, supersample=2)
    ref = cv2.GaussianBlur(tex, (0, 0), 1.0)[4:196:2, 4:256:2]
    diff = np.abs(view.image[12:108, 22:148].astype(int) - ref[:, :126].astype(int))
    assert diff.mean() < 2.0


def test_strong_minification_uses_mipmaps():
    """A fine checkerboard seen from far renders as its mean grey, not as aliasing."""
    checker = ((np.indices((512, 512)).sum(0) % 2) * 255).astype(np.uint8)
    tex = np.repeat(checker[..., None], 3, axis=2)
    w, h = 64, 48
    K = _K(50.0, w, h)
    view = render(_fronto_scene(tex, K, 10.0, at=(5, 5), texel_px=1 / 7.3), Camera(K, np.eye(3), np.zeros(3), w, h))
    inner = view.image[10:40, 10:40].astype(np.float64)
    assert abs(inner.mean() - 127.5) < 10 and inner.std() < 10


def test_rendered_points_lie_on_their_planes():
    rng = np.random.default_rng(3)
    scene = LAYOUTS["room"](rng, TEXTURES)
    cam0, _ = sample_pair_cameras(rng, "room", (160, 120))
    depth, index = render_depth(scene, cam0)
    assert np.all(index >= 0) and np.all(np.isfinite(depth))  # closed room
    ys, xs = np.mgrid[0:120, 0:160].astype(np.float64)
    rays = np.stack([xs, ys, np.ones_like(xs)], -1) @ np.linalg.inv(cam0.K).T
    Xw = (rays * depth[..., None].astype(np.float64) - cam0.t) @ cam0.R  # R^T (X_cam - t)
    for i, plane in enumerate(scene.planes):
        sel = index == i
        if not sel.any():
            continue
        d = (Xw[sel] - plane.origin) @ plane.normal
        assert np.abs(d).max() < 1e-5 * depth[sel].max()
        A = np.stack([plane.u_axis, plane.v_axis], 1)
        ab = np.linalg.lstsq(A, (Xw[sel] - plane.origin).T, rcond=None)[0]
        assert ab.min() > -1e-4 and ab.max() < 1 + 1e-4


def test_layouts_build_and_render():
    rng = np.random.default_rng(4)
    for kind, layout in LAYOUTS.items():
        scene = layout(rng, TEXTURES)
        assert scene.kind == kind and len(scene.planes) >= 5
        cam0, cam1 = sample_pair_cameras(rng, kind, (96, 72))
        R, _ = relative_pose(cam0, cam1)
        assert 5 - 1e-6 <= _rot_angle_deg(R) <= 25 + 1e-6
        assert 0.2 - 1e-9 <= np.linalg.norm(cam1.center - cam0.center) <= 1.0 + 1e-9
        view = render(scene, cam0)
        assert view.image.shape == (72, 96, 3)
        assert np.isfinite(view.depth).mean() > 0.5 and np.all(view.depth[np.isfinite(view.depth)] > 0.1)


# ----------------------------------------------------------------------------- correspondences


def test_pure_rotation_matches_homography():
    scene, cams = rotating_sequence(np.random.default_rng(5), 2, (160, 120), yaw_step_deg=12.0, textures=TEXTURES)
    c0, c1 = cams
    assert np.allclose(c0.center, c1.center)
    R, t = relative_pose(c0, c1)
    assert _rot_angle_deg(R) == pytest.approx(12.0, abs=1e-6) and np.allclose(t, 0, atol=1e-12)
    depth0, _ = render_depth(scene, c0)
    depth1, _ = render_depth(scene, c1)
    xy1, valid = project_correspondences(depth0, c0, c1, depth1)
    assert xy1.shape == (120, 160, 2) and xy1.dtype == np.float32 and valid.dtype == bool
    H = c1.K @ R @ np.linalg.inv(c0.K)
    ys, xs = np.mgrid[0:120, 0:160].astype(np.float64)
    q = np.stack([xs, ys, np.ones_like(xs)], -1) @ H.T
    ref = q[..., :2] / q[..., 2:]
    inside = (ref[..., 0] >= -0.5) & (ref[..., 0] < 159.5) & (ref[..., 1] >= -0.5) & (ref[..., 1] < 119.5)
    assert np.abs(xy1[valid] - ref[valid]).max() < 1e-3
    assert np.mean(valid == inside) > 0.99  # only depth-edge pixels may be rejected
    # sub-pixel transfer agrees with the homography too
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, 0], [159, 119], (500, 2))
    pts1, ok = warp_points(pts, depth0, c0, c1, depth1)
    q = np.c_[pts, np.ones(len(pts))] @ H.T
    assert ok.mean() > 0.5
    assert np.abs(pts1[ok] - q[ok, :2] / q[ok, 2:]).max() < 1e-6


def test_warp_points_matches_dense_and_flags_depth_jumps():
    rng = np.random.default_rng(8)
    scene = LAYOUTS["box"](rng, TEXTURES)
    cam0, cam1 = sample_pair_cameras(rng, "box", (160, 120))
    depth0, index0 = render_depth(scene, cam0)
    depth1, _ = render_depth(scene, cam1)
    xy1, valid = project_correspondences(depth0, cam0, cam1, depth1)
    ys, xs = np.mgrid[0:120, 0:160]
    pts = np.c_[xs.ravel(), ys.ravel()].astype(np.float64)
    pts1, ok = warp_points(pts, depth0, cam0, cam1, depth1)
    both = ok & valid.ravel()
    assert both.sum() > 0.8 * ok.sum() > 0
    assert np.abs(pts1[both] - xy1.reshape(-1, 2)[both]).max() < 1e-3
    # points between two pixels on different surfaces at different depths are never valid
    inv = 1.0 / depth0.astype(np.float64)
    jx = (index0[:, :-1] != index0[:, 1:]) & (np.abs(np.diff(inv, axis=1)) > 0.05 * inv[:, :-1])
    jy = (index0[:-1, :] != index0[1:, :]) & (np.abs(np.diff(inv, axis=0)) > 0.05 * inv[:-1, :])
    ry, rx = np.nonzero(jx)
    dy, dx = np.nonzero(jy)
    between = np.r_[np.c_[rx + 0.5, ry + 0.25], np.c_[dx + 0.25, dy + 0.5]]
    assert len(between) > 20
    _, ok_jump = warp_points(between, depth0, cam0, cam1)
    assert not ok_jump.any()


def test_occlusion_by_box_in_front_of_wall():
    w, h = 201, 151
    K = _K(200.0, w, h)
    tex = np.full((8, 8, 3), 128, np.uint8)
    wall = Plane((-6, -4, 6), (12, 0, 0), (0, 8, 0), tex)
    box = Plane((0.3, -0.3, 3), (0.6, 0, 0), (0, 0.6, 0), tex)
    scene = Scene((wall, box))
    cam0 = Camera(K, np.eye(3), np.zeros(3), w, h)
    cam1 = Camera(K, np.eye(3), np.array([-1.0, 0, 0]), w, h)  # centre at x = +1
    d0, i0 = render_depth(scene, cam0)
    d1, _ = render_depth(scene, cam1)
    xy1, valid = project_correspondences(d0, cam0, cam1, d1)
    assert not valid[75, 106]  # wall point (0.18, 0, 6): hidden behind the box from cam1
    assert valid[75, 60]  # wall point (-1.2, 0, 6): seen by both
    # analytic visibility of every wall pixel from camera 1
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    X = (xs - 100) * 6 / 200
    Y = (ys - 75) * 6 / 200
    xb, yb = 1 + (X - 1) * 0.5, Y * 0.5  # ray from (1, 0, 0) to (X, Y, 6) at z = 3
    hidden = (xb >= 0.3) & (xb <= 0.9) & (yb >= -0.3) & (yb <= 0.3) & (i0 == 0)
    x1 = 100 + 200 * (X - 1) / 6
    seen = (i0 == 0) & ~hidden & (x1 >= -0.5) & (x1 < w - 0.5)
    assert hidden.sum() > 500
    edge = cv2.dilate((hidden | (i0 == 1)).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    edge &= ~cv2.erode(hidden.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert not np.any(valid & hidden)
    assert np.all(valid[seen & ~edge])
    # the box itself is seen by both cameras
    assert valid[i0 == 1].mean() > 0.9


def test_correspondences_have_consistent_colours():
    pair = make_scene_pairs(1, "room", (200, 150), seed=1)[0]
    cam0 = Camera(pair.K0, np.eye(3), np.zeros(3), 200, 150)
    cam1 = Camera(pair.K1, pair.R, pair.t, 200, 150)
    xy1, valid = project_correspondences(pair.depth0, cam0, cam1, pair.depth1)
    valid = cv2.erode(valid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    mx = np.where(valid, xy1[..., 0], -10).astype(np.float32)
    my = np.where(valid, xy1[..., 1], -10).astype(np.float32)
    warped = cv2.remap(pair.image1, mx, my, cv2.INTER_LINEAR).astype(np.float64)
    err = np.abs(warped - pair.image0)[valid].mean()
    shifted = np.abs(np.roll(warped, 5, axis=1) - pair.image0)[valid].mean()
    assert err < 6.0 and err < 0.4 * shifted, (err, shifted)


# ----------------------------------------------------------------------------- datasets


def test_make_scene_pairs_shapes_overlap_and_determinism():
    pairs = make_scene_pairs(3, "mixed", (128, 96), seed=7, photos=[("a", TEXTURES[0]), ("b", TEXTURES[1])])
    again = make_scene_pairs(1, "mixed", (128, 96), seed=7, photos=[("a", TEXTURES[0]), ("b", TEXTURES[1])])
    assert [p.name for p in pairs] == ["room_0000", "box_0001", "street_0002"]
    for p in pairs:
        assert isinstance(p, PosePair)
        assert p.image0.shape == (96, 128, 3) and p.image0.dtype == np.uint8 and p.image1.shape == (96, 128, 3)
        assert p.depth0.shape == (96, 128) and p.depth0.dtype == np.float32 and p.depth1.dtype == np.float32
        assert np.array_equal(p.K0, p.K1) and p.K0[0, 2] == 63.5 and p.K0[1, 2] == 47.5
        assert np.allclose(p.D0, 0) and np.allclose(p.D1, 0)
        assert np.allclose(p.R @ p.R.T, np.eye(3)) and p.t.shape == (3,)
        cam0 = Camera(p.K0, np.eye(3), np.zeros(3), 128, 96)
        cam1 = Camera(p.K1, p.R, p.t, 128, 96)
        _, valid = project_correspondences(p.depth0, cam0, cam1, p.depth1)
        assert valid.mean() >= 0.3
    assert np.array_equal(pairs[0].image0, again[0].image0) and np.array_equal(pairs[0].depth1, again[0].depth1)
    assert np.array_equal(pairs[0].R, again[0].R)
    with pytest.raises(ValueError):
        make_scene_pairs(1, "castle")


def test_sequences():
    scene, cams = forward_motion_sequence(np.random.default_rng(2), 4, (96, 72), step_m=1.5, textures=TEXTURES)
    centres = np.array([c.center for c in cams])
    assert np.allclose(np.diff(centres[:, 1]), 1.5) and np.allclose(np.diff(centres[:, [0, 2]], axis=0), 0)
    for c in cams:
        assert c.R[2, 1] > 0.99  # optical axis along +y (down the street)
    views = render_sequence(scene, cams)
    assert len(views) == 4 and all(v.image.shape == (72, 96, 3) for v in views)
    assert all(np.isfinite(v.depth).mean() > 0.3 for v in views)
    _, cams = rotating_sequence(np.random.default_rng(3), 5, (96, 72), yaw_step_deg=20.0, textures=TEXTURES)
    for a, b in zip(cams, cams[1:]):
        assert np.allclose(a.center, b.center)
        R, _ = relative_pose(a, b)
        assert _rot_angle_deg(R) == pytest.approx(20.0, abs=1e-6)


def test_sift_recovers_pose_on_rendered_pair():
    """Essential-matrix pose from SIFT matches the ground truth: the renderer is geometrically exact."""
    pair = make_scene_pairs(1, "box", (640, 480), seed=0)[0]
    sift = cv2.SIFT_create()
    k0, d0 = sift.detectAndCompute(cv2.cvtColor(pair.image0, cv2.COLOR_BGR2GRAY), None)
    k1, d1 = sift.detectAndCompute(cv2.cvtColor(pair.image1, cv2.COLOR_BGR2GRAY), None)
    matches = [m for m, n in cv2.BFMatcher().knnMatch(d0, d1, k=2) if m.distance < 0.8 * n.distance]
    assert len(matches) > 100
    p0 = np.float64([k0[m.queryIdx].pt for m in matches])
    p1 = np.float64([k1[m.trainIdx].pt for m in matches])
    E, mask = cv2.findEssentialMat(p0, p1, pair.K0, cv2.RANSAC, 0.999, 0.5)
    _, R, t, _ = cv2.recoverPose(E[:3], p0, p1, pair.K0, mask=mask)
    assert _rot_angle_deg(R.T @ pair.R) < 2.0
    assert _angle_between_deg(t.ravel(), pair.t) < 10.0
