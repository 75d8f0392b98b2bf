"""Crops of SfM pairs with sparse ground truth (cvlearned.training.common.sfm_crops)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvlearned.training.common.sfm_crops import SfmCropSource, crop_pair
from cvlearned.training.common.sfm_pairs import SfmPair
from cvlearned.training.ucn.ucn_pairs import sample_correspondences


def _images() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Image 1 is image 0 shifted by (+37, -21) px; 200 correspondences on a grid."""
    rng = np.random.default_rng(0)
    image0 = rng.integers(0, 256, (300, 400), dtype=np.uint8)
    shift = np.array([37.0, -21.0])
    M = np.float64([[1, 0, shift[0]], [0, 1, shift[1]]])
    image1 = cv2.warpAffine(image0, M, (400, 300))
    gx, gy = np.meshgrid(np.linspace(60, 330, 20), np.linspace(40, 250, 10))
    xy0 = np.stack([gx.ravel(), gy.ravel()], axis=1) + rng.uniform(-0.4, 0.4, (200, 2))
    return image0, image1, xy0, xy0 + shift


def test_crops_keep_exactly_the_correspondences_inside_both_windows():
    image0, image1, xy0, xy1 = _images()
    rng = np.random.default_rng(1)
    for _ in range(20):
        pair = crop_pair(rng, image0, image1, xy0, xy1, (160, 120))
        assert pair is not None and pair.image0.shape == pair.image1.shape == (120, 160)
        ys, xs = np.nonzero(np.isfinite(pair.gt).all(axis=2))
        assert len(xs) >= 1
        # the crops are windows of the images: recover their offsets from a ground-truth point
        target = pair.gt[ys, xs]
        for x, y, (x1, y1) in zip(xs, ys, target):
            assert 0 <= x1 <= 159 and 0 <= y1 <= 119
        # image 1 is a shift of image 0, so the ground truth moves every point by one common offset
        offsets = target - np.stack([xs, ys], axis=1)
        assert np.ptp(offsets, axis=0).max() <= 1.0 + 1e-6  # <= 0.5 px rounding in image 0, both ways


def test_ground_truth_points_show_the_same_content():
    image0, image1, xy0, xy1 = _images()
    xy0, xy1 = np.rint(xy0), np.rint(xy1)  # integer positions: the crops' pixels must be equal
    pair = crop_pair(np.random.default_rng(2), image0, image1, xy0, xy1, (200, 150))
    ys, xs = np.nonzero(np.isfinite(pair.gt).all(axis=2))
    x1, y1 = np.rint(pair.gt[ys, xs]).astype(int).T
    assert np.array_equal(pair.image0[ys, xs], pair.image1[y1, x1])


def test_nothing_to_crop_gives_none():
    image0, image1, xy0, xy1 = _images()
    rng = np.random.default_rng(0)
    assert crop_pair(rng, image0, image1, xy0[:0], xy1[:0], (100, 100)) is None
    assert crop_pair(rng, image0, image1, xy0, xy1, (500, 100)) is None  # wider than the images
    far = np.array([[390.0, 290.0]])
    assert crop_pair(rng, image0, image1, far, far - 380, (50, 50)) is None  # never inside image 1's crop


def _pair(name0: str, name1: str, xy0: np.ndarray, xy1: np.ndarray) -> SfmPair:
    eye = np.eye(3)
    return SfmPair(name0, name1, eye, eye, np.zeros(5), np.zeros(5), eye, np.array([1.0, 0, 0]), len(xy0), 0.0,
                   xy0, xy1, np.arange(len(xy0)))


def test_source_resizes_images_and_correspondences_together(tmp_path):
    image0, image1, xy0, xy1 = _images()
    big0 = cv2.resize(image0, (800, 600), interpolation=cv2.INTER_NEAREST)
    big1 = cv2.resize(image1, (800, 600), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / "a.png"), big0)
    cv2.imwrite(str(tmp_path / "b.png"), big1)
    source = SfmCropSource([(_pair("a.png", "b.png", 2 * (xy0 + 0.5) - 0.5, 2 * (xy1 + 0.5) - 0.5), tmp_path)],
                           (160, 120), image_side=400)
    assert len(source) == 1 and source.images[tmp_path / "a.png"][0].shape == (300, 400)
    _, _, sxy0, sxy1 = source.pairs[0]
    np.testing.assert_allclose(sxy0, xy0, atol=1e-9)
    np.testing.assert_allclose(sxy1, xy1, atol=1e-9)
    rng = np.random.default_rng(0)
    pair = source.draw(rng)
    pts0, pts1 = sample_correspondences(pair.gt, 64, rng)  # the dense trainers' sampler works on sparse gt
    assert pts0.shape == pts1.shape == (64, 2)


def test_source_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="at least one SfM pair"):
        SfmCropSource([], (64, 64))
    image0, _, xy0, xy1 = _images()
    with pytest.raises(FileNotFoundError, match="missing.png"):
        SfmCropSource([(_pair("missing.png", "b.png", xy0, xy1), tmp_path)], (64, 64))
    cv2.imwrite(str(tmp_path / "a.png"), image0)
    source = SfmCropSource([(_pair("a.png", "a.png", xy0, xy1), tmp_path)], (500, 500))
    with pytest.raises(ValueError, match="500x500"):
        source.draw(np.random.default_rng(0))
