import dataclasses

import cv2
import numpy as np
import pytest

from cvlearned.evaluation.matching import MatchingOptions, match_descriptors


def test_permutation_recovered_with_distances():
    d1 = np.eye(4, dtype=np.float32)
    perm = np.array([2, 0, 3, 1])
    d0 = d1[perm] + np.float32(0.1) * np.eye(4, dtype=np.float32)[:, ::-1]
    m, dist = match_descriptors(d0, d1)
    np.testing.assert_array_equal(m, np.stack([np.arange(4), perm], axis=1))
    np.testing.assert_allclose(dist, 0.1, rtol=1e-5)


def test_ratio_test_forward():
    d0 = np.array([[0.0, 0.0]], np.float32)
    d1 = np.array([[1.0, 0.0], [1.1, 0.0]], np.float32)  # ratio 1/1.1 = 0.909
    assert len(match_descriptors(d0, d1, ratio=0.8)[0]) == 0
    m, dist = match_descriptors(d0, d1, ratio=0.95)
    np.testing.assert_array_equal(m, [[0, 0]])
    np.testing.assert_allclose(dist, [1.0])
    assert len(match_descriptors(d0, d1, ratio=None)[0]) == 1


def test_single_candidate_kept_by_ratio():
    m, _ = match_descriptors(np.zeros((3, 2), np.float32), np.ones((1, 2), np.float32), ratio=0.5, mutual=False)
    np.testing.assert_array_equal(m, [[0, 0], [1, 0], [2, 0]])


def test_mutual_check():
    d0 = np.array([[0.0, 0.0], [0.1, 0.0]], np.float32)
    d1 = np.array([[0.2, 0.0], [10.0, 10.0]], np.float32)
    # forward: both -> 0; backward: 0 -> 1
    m, dist = match_descriptors(d0, d1, ratio=None, mutual=False)
    np.testing.assert_array_equal(m, [[0, 0], [1, 0]])
    m, dist = match_descriptors(d0, d1, ratio=None, mutual=True)
    np.testing.assert_array_equal(m, [[1, 0]])
    np.testing.assert_allclose(dist, [0.1], rtol=1e-5)


def test_max_distance():
    d0 = np.array([[0.0], [5.0]], np.float32)
    d1 = np.array([[0.5], [7.0]], np.float32)
    m, dist = match_descriptors(d0, d1, ratio=None, max_distance=1.0)
    np.testing.assert_array_equal(m, [[0, 0]])


def test_binary_hamming():
    rng = np.random.default_rng(0)
    d1 = rng.integers(0, 256, size=(6, 32), dtype=np.uint8)
    perm = rng.permutation(6)
    d0 = d1[perm].copy()
    flips = np.arange(6)
    for i, k in enumerate(flips):  # flip k bits of row i
        bits = np.unpackbits(d0[i])
        bits[:k] ^= 1
        d0[i] = np.packbits(bits)
    m, dist = match_descriptors(d0, d1, norm=cv2.NORM_HAMMING, ratio=None)
    np.testing.assert_array_equal(m, np.stack([np.arange(6), perm], axis=1))
    np.testing.assert_array_equal(dist, flips)
    with pytest.raises(ValueError):
        match_descriptors(d0.astype(np.float32), d1, norm=cv2.NORM_HAMMING)


@pytest.mark.parametrize("a,b", [(None, np.ones((3, 4))), (np.ones((3, 4)), None),
                                 (np.zeros((0, 4)), np.ones((3, 4))), (None, None)])
def test_empty_inputs(a, b):
    m, dist = match_descriptors(a, b)
    assert m.shape == (0, 2) and dist.shape == (0,)
    assert m.dtype == np.int64


def test_dimension_mismatch():
    with pytest.raises(ValueError):
        match_descriptors(np.ones((2, 3)), np.ones((2, 4)))


def test_matching_options():
    opts = MatchingOptions()
    assert opts.mutual and opts.ratio == 0.8
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.ratio = 0.5  # type: ignore[misc]
    for bad in (0.0, 1.5, -1.0):
        with pytest.raises(ValueError):
            MatchingOptions(ratio=bad)
    with pytest.raises(TypeError):
        MatchingOptions(ratio="0.8")  # type: ignore[arg-type]
    d0 = np.array([[0.0, 0.0]], np.float32)
    d1 = np.array([[1.0, 0.0], [1.1, 0.0]], np.float32)
    assert len(MatchingOptions(ratio=0.8).match(d0, d1)[0]) == 0
    assert len(MatchingOptions(ratio=None).match(d0, d1)[0]) == 1
