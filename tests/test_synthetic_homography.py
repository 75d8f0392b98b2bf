"""Tests for cvlearned.synthetic.photos and cvlearned.synthetic.homography."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvlearned.datasets.types import HomographyPair
from cvlearned.synthetic import (
    MILD_PHOTOMETRIC,
    STRONG_PHOTOMETRIC,
    HomographyDistribution,
    PhotometricDistribution,
    apply_photometric,
    bundled_photo,
    bundled_photo_names,
    load_photo_folder,
    make_homography_pairs,
    photo_source,
    sample_homography,
    warp_image,
)

SIZE = (160, 120)


def _apply(H, pts):
    q = np.c_[pts, np.ones(len(pts))] @ H.T
    return q[:, :2] / q[:, 2:3], q[:, 2]


# ----------------------------------------------------------------------------- photos


def test_bundled_photos_are_bgr_uint8_and_copies():
    names = bundled_photo_names()
    assert len(names) >= 8 and names == sorted(names)
    for name in names:
        img = bundled_photo(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert min(img.shape[:2]) >= 200
    a = bundled_photo(names[0])
    a[:] = 0
    assert bundled_photo(names[0]).any()  # cache not modified
    with pytest.raises(KeyError):
        bundled_photo("no-such-photo")


def test_load_photo_folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, shape in [("b", (100, 300, 3)), ("a", (50, 40, 3)), ("c", (80, 80))]:
        cv2.imwrite(str(tmp_path / f"{name}.png"), rng.integers(0, 255, shape, dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    photos = load_photo_folder(tmp_path, max_side=150)
    assert [n for n, _ in photos] == ["a", "b", "c"]
    assert photos[1][1].shape == (50, 150, 3)  # longest side shrunk to 150
    assert photos[0][1].shape == (50, 40, 3)  # small images untouched
    assert photos[2][1].shape == (80, 80, 3)  # gray -> 3 channels
    assert len(load_photo_folder(tmp_path, limit=2)) == 2
    assert [n for n, _ in photo_source(str(tmp_path))] == ["a", "b", "c"]
    assert [n for n, _ in photo_source("bundled")] == bundled_photo_names()
    with pytest.raises(FileNotFoundError):
        photo_source(str(tmp_path / "missing"))


# ----------------------------------------------------------------------------- distributions


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scale=(1.4, 0.7)),
        dict(scale=(0.0, 1.0)),
        dict(max_rotation_deg=-1.0),
        dict(max_perspective=0.6),
        dict(max_translation=2.0),
        dict(center_region=1.5),
    ],
)
def test_homography_distribution_validation(kwargs):
    with pytest.raises(ValueError):
        HomographyDistribution(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(gamma=(0.0, 1.0)),
        dict(contrast=(1.5, 1.0)),
        dict(brightness=-3.0),
        dict(blur_sigma=(-1.0, 1.0)),
        dict(noise_std=(0.0, 300.0)),
        dict(jpeg_quality=(0, 50)),
        dict(color_gain=1.0),
    ],
)
def test_photometric_distribution_validation(kwargs):
    with pytest.raises(ValueError):
        PhotometricDistribution(**kwargs)


# ----------------------------------------------------------------------------- homographies


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), w=st.integers(64, 800), h=st.integers(64, 800))
def test_sample_homography_properties(seed, w, h):
    dist = HomographyDistribution()
    H = sample_homography(np.random.default_rng(seed), (w, h), dist)
    assert H.shape == (3, 3) and H.dtype == np.float64
    assert H[2, 2] == pytest.approx(1.0)
    assert abs(np.linalg.det(H)) > 1e-6
    Hinv = np.linalg.inv(H)
    assert np.allclose(Hinv @ H, np.eye(3), atol=1e-9)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    # the whole image stays in front (no horizon) ...
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    _, wz = _apply(H, corners)
    assert np.all(wz > 0)
    # ... and the central half of the image maps into view
    c = np.array([[cx - w / 4, cy - h / 4], [cx + w / 4, cy - h / 4],
                  [cx + w / 4, cy + h / 4], [cx - w / 4, cy + h / 4]])
    p, _ = _apply(H, c)
    assert np.all((p[:, 0] >= -0.5) & (p[:, 0] < w - 0.5) & (p[:, 1] >= -0.5) & (p[:, 1] < h - 0.5))
    # well conditioned in normalised coordinates
    N = np.array([[2 / max(w, h), 0, -cx * 2 / max(w, h)], [0, 2 / max(w, h), -cy * 2 / max(w, h)], [0, 0, 1]])
    assert np.linalg.cond(N @ H @ np.linalg.inv(N)) < 50


def test_sample_homography_covers_its_distribution():
    rng = np.random.default_rng(0)
    Hs = [sample_homography(rng, (640, 480)) for _ in range(200)]
    scales = [np.sqrt(abs(np.linalg.det(H[:2, :2]))) for H in Hs]
    angles = [np.degrees(np.arctan2(H[1, 0] - H[0, 1], H[0, 0] + H[1, 1])) for H in Hs]
    assert min(scales) < 0.8 and max(scales) > 1.25
    assert min(angles) < -20 and max(angles) > 20
    assert np.std([H[2, :2] for H in Hs]) > 1e-5  # genuinely projective


def test_sample_homography_extreme_distribution_falls_back():
    dist = HomographyDistribution(scale=(3.0, 4.0), max_translation=1.0, center_region=1.0)
    H = sample_homography(np.random.default_rng(1), (100, 80), dist)
    assert np.all(np.isfinite(H)) and abs(np.linalg.det(H)) > 1e-9


def test_warp_image_moves_content_to_H_x():
    """A Gaussian blob at sub-pixel x0 ends up at H @ x0 (OpenCV pixel-centre convention)."""
    w, h = SIZE
    x0 = np.array([61.3, 47.8])
    ys, xs = np.mgrid[0:h, 0:w]
    blob = np.exp(-((xs - x0[0]) ** 2 + (ys - x0[1]) ** 2) / (2 * 2.0**2))
    img = np.repeat((blob * 250).astype(np.float32)[..., None], 3, axis=2)
    H = sample_homography(np.random.default_rng(5), (w, h), HomographyDistribution(scale=(0.9, 1.1)))
    out = warp_image(img, H, (w, h))[..., 0].astype(np.float64)
    expected, _ = _apply(H, x0[None])
    win = out * (np.hypot(xs - expected[0, 0], ys - expected[0, 1]) < 10)
    centroid = np.array([(win * xs).sum(), (win * ys).sum()]) / win.sum()
    assert np.allclose(centroid, expected[0], atol=0.05)


def test_warp_image_matches_explicit_remap():
    img = bundled_photo("astronaut")[:120, :160]
    H = sample_homography(np.random.default_rng(3), SIZE)
    out = warp_image(img, H, SIZE)
    ys, xs = np.mgrid[0 : SIZE[1], 0 : SIZE[0]].astype(np.float64)
    src, _ = _apply(np.linalg.inv(H), np.c_[xs.ravel(), ys.ravel()])
    mx = src[:, 0].reshape(xs.shape).astype(np.float32)
    my = src[:, 1].reshape(xs.shape).astype(np.float32)
    ref = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 2


def test_warp_image_black_border_and_behind_horizon():
    img = np.full((60, 80, 3), 200, np.uint8)
    T = np.array([[1.0, 0, 20], [0, 1, 0], [0, 0, 1]])
    out = warp_image(img, T, (80, 60))
    assert np.all(out[:, :19] == 0) and np.all(out[:, 21:] == 200)
    # strong perspective: the horizon crosses the output; nothing may be drawn beyond it
    P = np.array([[1.0, 0, 0], [0, 1, 0], [0.02, 0, 1]])
    out = warp_image(np.full((60, 80, 3), 255, np.uint8), P, (80, 60))
    ys, xs = np.mgrid[0:60, 0:80]
    w_inv = (np.linalg.inv(P)[2] @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])).reshape(60, 80)
    assert np.all(out[w_inv <= 0] == 0)


def test_apply_photometric_identity_and_types():
    img = bundled_photo("coffee")[:64, :96]
    same = apply_photometric(np.random.default_rng(0), img, PhotometricDistribution())
    assert np.array_equal(same, img)
    for dist in (MILD_PHOTOMETRIC, STRONG_PHOTOMETRIC):
        out = apply_photometric(np.random.default_rng(0), img, dist)
        assert out.dtype == np.uint8 and out.shape == img.shape
    a = apply_photometric(np.random.default_rng(7), img, STRONG_PHOTOMETRIC)
    b = apply_photometric(np.random.default_rng(7), img, STRONG_PHOTOMETRIC)
    assert np.array_equal(a, b)


# ----------------------------------------------------------------------------- pairs


def test_make_homography_pairs_deterministic():
    a = make_homography_pairs(n_pairs=3, size=SIZE, seed=11)
    b = make_homography_pairs(n_pairs=2, size=SIZE, seed=11)
    c = make_homography_pairs(n_pairs=1, size=SIZE, seed=12)
    for p, q in zip(a, b):
        assert p.name == q.name
        assert np.array_equal(p.image0, q.image0) and np.array_equal(p.image1, q.image1)
        assert np.array_equal(p.H_0to1, q.H_0to1)
    assert not np.array_equal(a[0].H_0to1, c[0].H_0to1)


def test_viewpoint_pairs_are_consistent_with_H():
    pairs = make_homography_pairs(n_pairs=4, split="viewpoint", size=SIZE, seed=2)
    for p in pairs:
        assert isinstance(p, HomographyPair) and p.split == "viewpoint"
        assert p.image0.shape == (SIZE[1], SIZE[0], 3) and p.image0.dtype == np.uint8
        assert p.image1.shape == (SIZE[1], SIZE[0], 3) and p.image1.dtype == np.uint8
        assert not np.allclose(p.H_0to1, np.eye(3))
        pred = warp_image(p.image0, p.H_0to1, SIZE).astype(np.float64)
        inside = warp_image(np.full_like(p.image0, 255), p.H_0to1, SIZE)[..., 0] == 255
        inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert inside.mean() > 0.2
        g1 = p.image1.astype(np.float64).mean(-1)[inside]
        corr = np.corrcoef(pred.mean(-1)[inside], g1)[0, 1]
        corr_shifted = np.corrcoef(np.roll(pred, 4, axis=1).mean(-1)[inside], g1)[0, 1]
        assert corr > 0.9 and corr > corr_shifted + 0.05, (corr, corr_shifted)


def _highpass(img):
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64)
    return g - cv2.GaussianBlur(g, (0, 0), 4)


def test_illumination_pairs_have_identity_H():
    photos = [("coffee", bundled_photo("coffee")), ("brick", bundled_photo("brick"))]
    pairs = make_homography_pairs(photos, n_pairs=3, split="illumination", size=SIZE, seed=0)
    assert [p.name.split("_")[-1] for p in pairs] == ["coffee", "brick", "coffee"]
    for p in pairs:
        assert p.split == "illumination"
        assert np.array_equal(p.H_0to1, np.eye(3))
        # same content, aligned: high-pass images correlate (shading/gamma removed)
        g0, g1 = _highpass(p.image0), _highpass(p.image1)
        corr = np.corrcoef(g0.ravel(), g1.ravel())[0, 1]
        corr_shifted = np.corrcoef(g0.ravel(), np.roll(g1, 3, axis=1).ravel())[0, 1]
        assert corr > 0.6 and corr > corr_shifted + 0.2, (corr, corr_shifted)
    assert any(np.abs(p.image0.astype(int) - p.image1.astype(int)).mean() > 5 for p in pairs)


def test_make_homography_pairs_rejects_bad_split():
    with pytest.raises(ValueError):
        make_homography_pairs(n_pairs=1, split="scale")
