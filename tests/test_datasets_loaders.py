"""Dataset loaders on tiny generated fixtures (no /work/shared, no network)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cvlearned.datasets import (
    HomographyPair,
    PairList,
    PosePair,
    load_hpatches,
    load_kitti_pairs,
    load_megadepth1500,
    load_pairs_txt,
    load_scannet1500,
    write_pairs_txt,
)

RNG = np.random.default_rng(0)


def _img(path: Path, w: int = 32, h: int = 24, seed: int = 0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)
    return image


def _rot(axis: str, deg: float) -> np.ndarray:
    axis_vec = np.eye(3)["xyz".index(axis)]
    return cv2.Rodrigues(np.deg2rad(deg) * axis_vec)[0]


def _fmt(*arrays) -> str:
    return " ".join(repr(float(v)) for a in arrays for v in np.ravel(a))


K_A = np.array([[30.0, 0, 15.5], [0, 31.0, 11.5], [0, 0, 1]])
K_B = np.array([[28.0, 0, 16.0], [0, 29.0, 12.0], [0, 0, 1]])
R_A = _rot("y", 10) @ _rot("x", -5)
T_A = np.array([0.3, -0.1, 0.05])
D_A = np.array([0.1, -0.2, 0.001, 0.002, 0.05])
H_A = np.array([[1.1, 0.05, 2.0], [-0.03, 0.95, -1.0], [1e-4, -2e-4, 1.0]])


# ----------------------------------------------------------------------------- pairs.txt
@pytest.fixture
def pairs_root(tmp_path: Path) -> Path:
    _img(tmp_path / "images" / "a.png", seed=1)
    _img(tmp_path / "images" / "b.png", seed=2)
    _img(tmp_path / "c.png", seed=3)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R_A, T_A
    lines = [
        "# comment line",
        "",
        f"images/a.png images/b.png {_fmt(K_A, K_B, R_A, T_A, D_A, D_A * 2)}",  # 42 fields
        f"a.png c.png {_fmt(K_A, K_B, R_A, T_A)}  # 32 fields, image in root/images",
        f"c.png b.png {_fmt(H_A)}",  # homography
        f"a.png b.png {_fmt(K_A, K_B, T)}",  # 36 fields, 4x4
    ]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_pairs_txt_formats(pairs_root: Path) -> None:
    pairs = load_pairs_txt(pairs_root)
    assert isinstance(pairs, PairList) and len(pairs) == 4 and pairs.name == pairs_root.name
    p0 = pairs[0]
    assert isinstance(p0, PosePair) and p0.name == "a/b"
    assert p0.image0.shape == (24, 32, 3) and p0.image0.dtype == np.uint8
    np.testing.assert_array_equal(p0.image0, cv2.imread(str(pairs_root / "images/a.png")))
    np.testing.assert_allclose(p0.K0, K_A)
    np.testing.assert_allclose(p0.K1, K_B)
    np.testing.assert_allclose(p0.R, R_A)
    np.testing.assert_allclose(p0.t, T_A)
    np.testing.assert_allclose(p0.D0, D_A)
    np.testing.assert_allclose(p0.D1, 2 * D_A)
    p1 = pairs[1]
    np.testing.assert_array_equal(p1.D0, np.zeros(5))
    assert pairs.records[1].path0 == pairs_root / "images" / "a.png"
    assert pairs.records[1].path1 == pairs_root / "c.png"
    p2 = pairs[2]
    assert isinstance(p2, HomographyPair)
    np.testing.assert_allclose(p2.H_0to1, H_A)
    p3 = pairs[-1]
    np.testing.assert_allclose(p3.R, R_A)
    np.testing.assert_allclose(p3.t, T_A)


def test_pair_list_slicing_and_max_pairs(pairs_root: Path) -> None:
    pairs = load_pairs_txt(pairs_root)
    sub = pairs[1:3]
    assert isinstance(sub, PairList) and len(sub) == 2 and sub.name == pairs.name
    assert isinstance(sub[1], HomographyPair)
    assert len(load_pairs_txt(pairs_root, max_pairs=2)) == 2
    assert len(load_pairs_txt(pairs_root, max_pairs=0)) == 0
    with pytest.raises(IndexError):
        pairs[4]
    with pytest.raises(ValueError):
        load_pairs_txt(pairs_root, max_pairs=-1)
    assert [p.name for p in pairs[:2]] == ["a/b", "a/c"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("a.png b.png 1 2 3", "expected one of"),
        ("a.png b.png " + " ".join(["1"] * 8) + " x", r"field 11 \('x'\) is not a number"),
        (f"a.png b.png {_fmt(K_A, K_B, 2 * R_A, T_A)}", "not a rotation"),
    ],
)
def test_pairs_txt_malformed_line_reports_file_and_line(
    tmp_path: Path, bad: str, message: str
) -> None:
    good = f"a.png b.png {_fmt(H_A)}"
    (tmp_path / "pairs.txt").write_text(f"# header\n{good}\n\n{bad}\n")
    with pytest.raises(ValueError, match=message) as info:
        load_pairs_txt(tmp_path)
    assert "pairs.txt:4" in str(info.value)


def test_missing_image_raises_file_not_found_on_access(tmp_path: Path) -> None:
    _img(tmp_path / "a.png")
    (tmp_path / "pairs.txt").write_text(f"a.png missing.png {_fmt(H_A)}\n")
    pairs = load_pairs_txt(tmp_path)  # lazy: no error yet
    with pytest.raises(FileNotFoundError, match="missing.png"):
        pairs[0]
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_pairs_txt(tmp_path, "nope.txt")


def test_write_pairs_txt_round_trip(pairs_root: Path, tmp_path: Path) -> None:
    pairs = load_pairs_txt(pairs_root)
    out = write_pairs_txt(pairs_root / "copy.txt", pairs)  # by reference
    again = load_pairs_txt(pairs_root, "copy.txt")
    assert len(again) == len(pairs)
    for r0, r1 in zip(pairs.records, again.records):
        assert r0.path0.resolve() == r1.path0.resolve() and r0.path1.resolve() == r1.path1.resolve()
    for a, b in zip(pairs, again):
        for key in ("K0", "K1", "R", "t", "D0", "D1", "H_0to1"):
            if hasattr(a, key):
                np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert out.read_text().startswith("#")

    # in-memory pairs are materialised (images written next to the file)
    mem = [pairs[0], pairs[2]]
    dest = tmp_path / "exported" / "pairs.txt"
    write_pairs_txt(dest, mem)
    loaded = load_pairs_txt(dest.parent)
    np.testing.assert_array_equal(loaded[0].image1, mem[0].image1)
    np.testing.assert_array_equal(loaded[0].R, mem[0].R)
    np.testing.assert_array_equal(loaded[1].H_0to1, mem[1].H_0to1)


# ----------------------------------------------------------------------------- HPatches
def _blob(w: int, h: int, center: np.ndarray, sigma: float = 3.0) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    g = np.exp(-((xs - center[0]) ** 2 + (ys - center[1]) ** 2) / (2 * sigma**2))
    return np.repeat((g * 250).round().astype(np.uint8)[..., None], 3, axis=2)


def _centroid(image: np.ndarray) -> np.ndarray:
    g = image[..., 0].astype(np.float64)
    ys, xs = np.mgrid[: g.shape[0], : g.shape[1]]
    return np.array([(g * xs).sum(), (g * ys).sum()]) / g.sum()


def _apply(H: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = H @ np.array([p[0], p[1], 1.0])
    return q[:2] / q[2]


H_SHIFT = np.array([[1.0, 0.0, 12.25], [0.0, 1.0, -6.5], [0.0, 0.0, 1.0]])
P_BLOB = np.array([30.3, 33.7])


@pytest.fixture
def hpatches_root(tmp_path: Path) -> Path:
    root = tmp_path / "hpatches-sequences-release"
    for seq in ("i_lamp", "v_boat"):
        d = root / seq
        d.mkdir(parents=True)
        for k in range(1, 7):
            H = H_SHIFT if (seq == "v_boat" and k == 2) else np.eye(3) * (1 + 0.01 * k)
            center = _apply(H, P_BLOB) if k > 1 else P_BLOB
            cv2.imwrite(str(d / f"{k}.ppm"), _blob(80, 64, center))
            if k > 1:
                np.savetxt(d / f"H_1_{k}", H)
    return root


def test_hpatches_layout_and_splits(hpatches_root: Path) -> None:
    pairs = load_hpatches(hpatches_root)
    assert len(pairs) == 10 and pairs.name == "hpatches"
    assert [p.split for p in pairs] == ["illumination"] * 5 + ["viewpoint"] * 5
    vp = load_hpatches(hpatches_root.parent, split="viewpoint")  # parent folder accepted
    assert len(vp) == 5 and vp.records[0].name == "v_boat/1-2"
    assert len(load_hpatches(hpatches_root, split="illumination", max_pairs=3)) == 3
    pair = vp[0]
    assert pair.image0.shape == (64, 80, 3)
    np.testing.assert_allclose(pair.H_0to1, H_SHIFT)
    c0, c1 = _centroid(pair.image0), _centroid(pair.image1)
    np.testing.assert_allclose(_apply(pair.H_0to1, c0), c1, atol=0.05)
    with pytest.raises(ValueError, match="viewpoint"):
        load_hpatches(hpatches_root, split="bogus")


def test_hpatches_max_side_rescales_homography(hpatches_root: Path) -> None:
    pair = load_hpatches(hpatches_root, split="viewpoint", max_side=40)[0]
    assert pair.image0.shape == (32, 40, 3) and pair.image1.shape == (32, 40, 3)
    # the blob found in the resized images must map through the adjusted H
    c0, c1 = _centroid(pair.image0), _centroid(pair.image1)
    np.testing.assert_allclose(_apply(pair.H_0to1, c0), c1, atol=0.05)
    # analytic: pixel-centre scaling x' = s (x + 0.5) - 0.5
    s = 0.5
    p0 = s * (P_BLOB + 0.5) - 0.5
    p1 = s * (_apply(H_SHIFT, P_BLOB) + 0.5) - 0.5
    np.testing.assert_allclose(_apply(pair.H_0to1, p0), p1, atol=1e-9)


def test_hpatches_non_integer_rescale_is_consistent(tmp_path: Path) -> None:
    seq = tmp_path / "v_x"
    _img(seq / "1.ppm", 50, 37, seed=1)
    _img(seq / "2.ppm", 61, 45, seed=2)
    H = np.array([[1.2, 0.1, 3.0], [0.05, 1.1, -2.0], [1e-3, 2e-4, 1.0]])
    np.savetxt(seq / "H_1_2", H)
    pair = load_hpatches(tmp_path, max_side=20)[0]
    (h0, w0), (h1, w1) = pair.image0.shape[:2], pair.image1.shape[:2]
    assert max(h0, w0) == 20 and max(h1, w1) == 20
    for p in RNG.uniform(0, 30, (5, 2)):
        q = _apply(H, p)
        p_small = np.array([w0 / 50, h0 / 37]) * (p + 0.5) - 0.5
        q_small = np.array([w1 / 61, h1 / 45]) * (q + 0.5) - 0.5
        np.testing.assert_allclose(_apply(pair.H_0to1, p_small), q_small, atol=1e-9)


# ----------------------------------------------------------------------------- KITTI
def _pose(R: np.ndarray, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


@pytest.fixture
def kitti_root(tmp_path: Path) -> tuple[Path, list[np.ndarray], dict]:
    base = tmp_path / "kitti" / "dataset"
    seq = base / "sequences" / "03"
    for i in range(4):
        _img(seq / "image_0" / f"{i:06d}.png", seed=i)
        _img(seq / "image_1" / f"{i:06d}.png", seed=10 + i)
    f, cx, cy = 700.0, 600.5, 180.25
    P0 = np.array([[f, 0, cx, 0], [0, f, cy, 0], [0, 0, 1, 0]])
    P1 = P0.copy()
    P1[0, 3] = -0.54 * f  # right camera, 0.54 m baseline
    calib = {"P0": P0, "P1": P1, "P2": P0, "P3": P1, "Tr": np.eye(4)[:3]}
    (seq / "calib.txt").write_text("".join(f"{k}: {_fmt(v)}\n" for k, v in calib.items()))
    poses = [_pose(_rot("y", 5 * i) @ _rot("x", i), [0.2 * i, -0.1 * i, 1.5 * i]) for i in range(4)]
    (base / "poses").mkdir()
    (base / "poses" / "03.txt").write_text("".join(_fmt(T[:3]) + "\n" for T in poses))
    return tmp_path / "kitti", poses, calib


def test_kitti_relative_pose(kitti_root) -> None:
    root, poses, calib = kitti_root
    pairs = load_kitti_pairs(root, sequence=3)  # parent of dataset/ and int sequence accepted
    assert len(pairs) == 3 and pairs.name == "kitti-03"
    pair = pairs[0]
    assert pair.name == "kitti03/000000-000001" and pair.image0.shape == (24, 32, 3)
    np.testing.assert_allclose(pair.K0, calib["P0"][:, :3])
    T_1_0 = np.linalg.inv(poses[1]) @ poses[0]
    np.testing.assert_allclose(pair.R, T_1_0[:3, :3], atol=1e-12)
    np.testing.assert_allclose(pair.t, T_1_0[:3, 3], atol=1e-12)
    # a world point seen from both frames satisfies X1 = R X0 + t
    Xw = np.array([1.0, -0.5, 10.0, 1.0])
    X0 = (np.linalg.inv(poses[0]) @ Xw)[:3]
    X1 = (np.linalg.inv(poses[1]) @ Xw)[:3]
    np.testing.assert_allclose(pair.R @ X0 + pair.t, X1, atol=1e-9)

    gap = load_kitti_pairs(root, "03", frame_gap=2)
    assert [r.name for r in gap.records] == ["kitti03/000000-000002", "kitti03/000001-000003"]
    assert len(load_kitti_pairs(root, "03", step=2)) == 2
    assert len(load_kitti_pairs(root, "03", max_pairs=1)) == 1


def test_kitti_right_camera_uses_baseline(kitti_root) -> None:
    root, poses, _ = kitti_root
    pair = load_kitti_pairs(root, "03", frame_gap=2, camera=1)[0]
    b = np.array([-0.54, 0.0, 0.0])  # X_right = X_left + b
    Xw = np.array([2.0, 1.0, 12.0, 1.0])
    X0 = (np.linalg.inv(poses[0]) @ Xw)[:3] + b
    X2 = (np.linalg.inv(poses[2]) @ Xw)[:3] + b
    np.testing.assert_allclose(pair.R @ X0 + pair.t, X2, atol=1e-9)


def test_kitti_errors(kitti_root, tmp_path: Path) -> None:
    root, _, _ = kitti_root
    with pytest.raises(FileNotFoundError, match="calib.txt"):
        load_kitti_pairs(root, "04")
    seq4 = root / "dataset" / "sequences" / "04"
    seq4.mkdir()
    calib03 = root / "dataset" / "sequences" / "03" / "calib.txt"
    (seq4 / "calib.txt").write_text(calib03.read_text())
    with pytest.raises(FileNotFoundError, match="00-10"):
        load_kitti_pairs(root, "04")
    with pytest.raises(ValueError):
        load_kitti_pairs(root, "03", frame_gap=0)
    bad = root / "dataset" / "poses" / "03.txt"
    bad.write_text(bad.read_text() + "1 2 3\n")
    with pytest.raises(ValueError, match=r"03.txt:5"):
        load_kitti_pairs(root, "03")


# ----------------------------------------------------------------------------- ScanNet / MegaDepth
def _project(K: np.ndarray, X: np.ndarray) -> np.ndarray:
    x = K @ X
    return x[:2] / x[2]


def _bright_pixel(image: np.ndarray) -> np.ndarray:
    y, x = np.unravel_index(np.argmax(image[..., 0]), image.shape[:2])
    return np.array([x, y], dtype=np.float64)


def _write_marked(path: Path, w: int, h: int, uv) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((h, w, 3), np.uint8)
    image[int(uv[1]), int(uv[0])] = 255
    cv2.imwrite(str(path), image)


def test_scannet_superglue_format_and_resize(tmp_path: Path) -> None:
    root = tmp_path / "scannet1500"
    _img(root / "scene0707_00/color/15.jpg", 64, 48, seed=1)
    _img(root / "scene0707_00/color/30.jpg", 64, 48, seed=2)
    T = _pose(R_A, T_A)
    line = f"scene0707_00/color/15.jpg scene0707_00/color/30.jpg 0 0 {_fmt(K_A, K_B, T)}"
    (root / "scannet_test_pairs_with_gt.txt").write_text(line + "\n")
    pairs = load_scannet1500(tmp_path)  # finds scannet1500/ and the SuperGlue file name
    assert pairs.name == "scannet1500" and len(pairs) == 1
    pair = pairs[0]
    np.testing.assert_allclose(pair.R, R_A)
    np.testing.assert_allclose(pair.t, T_A)
    np.testing.assert_allclose(pair.K0, K_A)

    small = load_scannet1500(root, "scannet_test_pairs_with_gt.txt", resize=(32, 24))[0]
    assert small.image0.shape == (24, 32, 3)
    sx = sy = 0.5
    expected = np.array(
        [
            [K_A[0, 0] * sx, 0, sx * (K_A[0, 2] + 0.5) - 0.5],
            [0, K_A[1, 1] * sy, sy * (K_A[1, 2] + 0.5) - 0.5],
            [0, 0, 1],
        ]
    )
    np.testing.assert_allclose(small.K0, expected)
    np.testing.assert_allclose(small.R, R_A)
    # a 3D point projects consistently: scaled original projection == projection with new K
    X = np.array([0.2, -0.1, 2.0])
    np.testing.assert_allclose(_project(small.K0, X), sx * (_project(K_A, X) + 0.5) - 0.5)


@pytest.mark.parametrize("rot0, rot1", [(1, 0), (2, 0), (3, 0), (0, 1), (0, 3)])
def test_superglue_rotation_keeps_geometry_consistent(tmp_path: Path, rot0: int, rot1: int) -> None:
    w, h = 40, 30
    K0 = np.array([[35.0, 0, 19.2], [0, 36.0, 14.7], [0, 0, 1]])
    K1 = np.array([[33.0, 0, 20.1], [0, 34.0, 15.3], [0, 0, 1]])
    depth = 3.0
    # choose a 3D point that lands exactly on an integer pixel of the rotated view
    if rot1 == 0:
        uv0 = np.array([7.0, 21.0])
        X0 = depth * np.linalg.solve(K0, [*uv0, 1.0])
        X1 = R_A @ X0 + T_A
        uv1 = _project(K1, X1)
        _write_marked(tmp_path / "a.png", w, h, uv0)
        _img(tmp_path / "b.png", w, h)
    else:
        uv1 = np.array([9.0, 6.0])
        X1 = depth * np.linalg.solve(K1, [*uv1, 1.0])
        X0 = R_A.T @ (X1 - T_A)
        uv0 = _project(K0, X0)
        _img(tmp_path / "a.png", w, h)
        _write_marked(tmp_path / "b.png", w, h, uv1)
    T = _pose(R_A, T_A)
    (tmp_path / "pairs.txt").write_text(f"a.png b.png {rot0} {rot1} {_fmt(K0, K1, T)}\n")
    pair = load_megadepth1500(tmp_path, "pairs.txt")[0]
    assert pair.image0.shape[:2] == ((w, h) if rot0 % 2 else (h, w))
    np.testing.assert_array_equal(pair.image0, np.rot90(cv2.imread(str(tmp_path / "a.png")), rot0))
    if rot1 == 0:
        # lift the marked pixel of the rotated image 0 with the new K0, move it to camera 1
        p0 = _bright_pixel(pair.image0)
        X0r = np.linalg.solve(pair.K0, [*p0, 1.0]) * X0[2]
        np.testing.assert_allclose(_project(pair.K1, pair.R @ X0r + pair.t), uv1, atol=1e-9)
        np.testing.assert_allclose(X0r[2], X0[2])
    else:
        p1 = _bright_pixel(pair.image1)
        X0r = np.linalg.solve(pair.K0, [*uv0, 1.0]) * X0[2]
        np.testing.assert_allclose(_project(pair.K1, pair.R @ X0r + pair.t), p1, atol=1e-9)
    assert np.allclose(pair.R @ pair.R.T, np.eye(3)) and np.isclose(np.linalg.det(pair.R), 1.0)
    # intrinsics stay upper-triangular with positive focal lengths
    assert pair.K0[1, 0] == 0 and pair.K0[0, 0] > 0 and pair.K0[1, 1] > 0


def test_megadepth_glue_factory_format(tmp_path: Path) -> None:
    root = tmp_path / "megadepth1500"
    _img(root / "images" / "0015" / "a.jpg", seed=1)
    _img(root / "images" / "0015" / "b.jpg", seed=2)
    lines = [
        f"0015/a.jpg 0015/b.jpg {_fmt(K_A, K_B, R_A, T_A)}",
        f"0015/b.jpg 0015/a.jpg {_fmt(K_B, K_A, _pose(R_A.T, -R_A.T @ T_A))}",
    ]
    (root / "pairs_calibrated.txt").write_text("\n".join(lines) + "\n")
    pairs = load_megadepth1500(tmp_path)
    assert pairs.name == "megadepth1500" and len(pairs) == 2
    assert pairs.records[0].path0 == root / "images" / "0015" / "a.jpg"
    a, b = pairs
    np.testing.assert_allclose(a.R, R_A)
    np.testing.assert_allclose(b.R @ a.R, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(b.R @ a.t + b.t, 0, atol=1e-12)
    assert len(load_megadepth1500(root, max_pairs=1)) == 1
    with pytest.raises(FileNotFoundError, match="pairs_calibrated.txt"):
        load_megadepth1500(tmp_path / "elsewhere")
