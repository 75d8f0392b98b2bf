import cv2
import numpy as np
import pytest

from cvlearned.evaluation.warps import DepthWarp, HomographyWarp, as_points

W, H = 64, 48
K = np.array([[80.0, 0, (W - 1) / 2], [0, 80.0, (H - 1) / 2], [0, 0, 1]])


def grid(step=3):
    xs, ys = np.meshgrid(np.arange(0, W, step), np.arange(0, H, step))
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)


def rot(rvec):
    return cv2.Rodrigues(np.asarray(rvec, np.float64))[0]


def test_as_points():
    kps = [cv2.KeyPoint(1.5, 2.0, 3.0), cv2.KeyPoint(4.0, 5.0, 3.0)]
    np.testing.assert_array_equal(as_points(kps), [[1.5, 2.0], [4.0, 5.0]])
    np.testing.assert_array_equal(as_points(np.array([[1, 2, 9.0]])), [[1, 2]])
    assert as_points(None).shape == (0, 2) and as_points([]).shape == (0, 2)


def test_homography_round_trip():
    Hm = np.array([[1.05, 0.02, 3.0], [-0.01, 0.97, -2.0], [1e-4, -2e-4, 1.0]])
    warp = HomographyWarp(Hm, (W, H), (W, H))
    pts = grid()
    p1, v = warp.forward(pts)
    back, vb = warp.backward(p1)
    np.testing.assert_allclose(back, pts, atol=1e-9)
    assert v.any() and vb[v].all()


def test_homography_out_of_bounds():
    warp = HomographyWarp(np.array([[1.0, 0, 10], [0, 1, 0], [0, 0, 1]]), (W, H), (W, H))
    pts = np.array([[0.0, 0.0], [W - 10.5 - 1e-9, 5.0], [W - 10.5, 5.0], [-10.5, 5.0], [-10.6, 5.0]])
    p1, v = warp.forward(pts)
    np.testing.assert_allclose(p1, pts + [10, 0])
    np.testing.assert_array_equal(v, [True, True, False, True, False])
    _, vb = warp.backward(np.array([[5.0, 5.0], [20.0, 47.4], [20.0, 47.5]]))
    np.testing.assert_array_equal(vb, [False, True, False])


def plane_H(K0, K1, R, t, n, d):
    """Homography induced by the plane n.X0 = d."""
    return K1 @ (R + np.outer(t, n) / d) @ np.linalg.inv(K0)


def test_depth_fronto_parallel_plane_matches_homography():
    z = 5.0
    t = np.array([0.4, -0.2, 0.3])
    depth0 = np.full((H, W), z, np.float32)
    depth1 = np.full((H, W), z + t[2], np.float32)
    dw = DepthWarp(depth0, depth1, K, K, np.eye(3), t)
    hw = HomographyWarp(plane_H(K, K, np.eye(3), t, np.array([0, 0, 1.0]), z), (W, H), (W, H))
    pts = grid(2) + 0.25
    for a, b in ((dw.forward, hw.forward), (dw.backward, hw.backward)):
        pd, vd = a(pts)
        ph, vh = b(pts)
        np.testing.assert_allclose(pd, ph, atol=1e-6)
        np.testing.assert_array_equal(vd, vh)
        assert 0 < vd.sum() < len(pts)


def test_depth_pure_rotation_matches_homography():
    R = rot([0.03, -0.06, 0.02])
    z = 4.0
    depth0 = np.full((H, W), z, np.float32)
    # Depth of the same plane (n.X0 = z, n = e_z) seen from camera 1: n1 = R n, z1 = z / (n1 . ray).
    n1 = R @ np.array([0, 0, 1.0])
    xs, ys = np.meshgrid(np.arange(W), np.arange(H))
    rays = np.stack([xs, ys, np.ones_like(xs)], -1).astype(np.float64) @ np.linalg.inv(K).T
    depth1 = (z / (rays @ n1)).astype(np.float64)
    dw = DepthWarp(depth0, depth1, K, K, R, np.zeros(3))
    hw = HomographyWarp(K @ R @ np.linalg.inv(K), (W, H), (W, H))
    pts = grid(2)
    pd, vd = dw.forward(pts)
    ph, vh = hw.forward(pts)
    np.testing.assert_allclose(pd, ph, atol=1e-6)
    np.testing.assert_array_equal(vd, vh)
    pd, vd = dw.backward(pts)
    ph, vh = hw.backward(pts)
    np.testing.assert_allclose(pd[vd], ph[vd], atol=1e-6)
    np.testing.assert_array_equal(vd, vh)
    back, vb = dw.backward(dw.forward(pts)[0])
    ok = dw.forward(pts)[1]
    np.testing.assert_allclose(back[ok], pts[ok], atol=1e-6)


def test_depth_occlusion_unknown_and_jumps():
    depth0 = np.full((H, W), 5.0, np.float32)
    depth1 = np.full((H, W), 5.0, np.float32)
    depth1[10:20, 10:20] = 2.0  # occluder in front of the plane in image 1
    depth0[30:, :] = np.inf  # unknown depth
    depth0[:, 40:] = 0.0  # unknown depth (zero)
    depth0[:5, 20:30] = 6.0  # discontinuity (20%) at x = 19.x/20 and 29.x/30
    dw = DepthWarp(depth0, depth1, K, K, np.eye(3), np.zeros(3))
    pts = np.array([[5.0, 5.0], [15.0, 15.0], [5.0, 35.0], [45.0, 5.0], [19.0, 2.0], [19.6, 2.0],
                    [25.0, 2.0], [25.0, 4.0], [W + 2.0, 3.0]])
    p1, v = dw.forward(pts)
    np.testing.assert_array_equal(v, [True, False, False, False, False, False, False, False, False])
    np.testing.assert_allclose(p1[:2], pts[:2], atol=1e-9)  # occluded point is still transferred
    assert np.isnan(p1[2:4]).all() and np.isnan(p1[8]).all()
    # (25, 2) lies on the 6.0 patch: its own depth disagrees with image 1 (5.0) -> occluded.
    d1 = depth1.copy()
    d1[:5, 20:30] = 6.0
    v2 = DepthWarp(depth0, d1, K, K, np.eye(3), np.zeros(3)).forward(pts)[1]
    np.testing.assert_array_equal(v2, [True, False, False, False, False, False, True, False, False])


def test_depth_distortion_identity():
    D = np.array([-0.2, 0.05, 0.001, -0.001, 0.0])
    depth = np.full((H, W), 3.0, np.float32)
    dw = DepthWarp(depth, depth, K, K, np.eye(3), np.zeros(3), D0=D, D1=D)
    pts = grid(5)
    p1, v = dw.forward(pts)
    assert v.all()
    np.testing.assert_allclose(p1, pts, atol=1e-6)


def test_depth_behind_camera_invalid():
    depth = np.full((H, W), 1.0, np.float32)
    dw = DepthWarp(depth, depth, K, K, np.eye(3), np.array([0, 0, -2.0]))
    assert not dw.forward(grid(8))[1].any()


def test_depth_requires_2d():
    with pytest.raises(ValueError):
        DepthWarp(np.ones((2, 2, 1)), np.ones((2, 2)), K, K, np.eye(3), np.zeros(3))
