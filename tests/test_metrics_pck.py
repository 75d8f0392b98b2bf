import numpy as np
import pytest
import torch

from cvlearned.evaluation.metrics.pck import dense_nn_pck, dense_nn_predict, pck, pck_curve, sparse_nn_pck


def test_pck_oracle_and_offsets():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 100, (5, 2))
    np.testing.assert_array_equal(pck(gt, gt, [1, 5]), [1.0, 1.0])
    offsets = np.array([[0, 0], [0, 1], [1.2, 0.9], [0, -3], [3, 4]], float)  # norms 0, 1, 1.5, 3, 5
    np.testing.assert_allclose(pck(gt + offsets, gt, [1, 2, 3, 4, 5]), [0.4, 0.6, 0.8, 0.8, 1.0])
    assert pck(gt + offsets, gt, 1).shape == (1,)


def test_pck_nan_handling():
    gt = np.array([[0.0, 0], [1, 1], [np.nan, np.nan]])
    pred = np.array([[0.0, 0], [np.nan, np.nan], [0, 0]])
    np.testing.assert_allclose(pck(pred, gt, [1]), [0.5])  # NaN gt excluded, NaN pred wrong
    np.testing.assert_array_equal(pck(np.zeros((0, 2)), np.zeros((0, 2)), [1, 2]), [0, 0])


def test_pck_curve():
    gt = np.zeros((4, 2))
    pred = np.array([[0, 0.5], [0, 2], [0, 10], [0, 30]])
    thr, vals = pck_curve(pred, gt, max_px=20)
    np.testing.assert_array_equal(thr, np.arange(1, 21))
    assert vals[0] == 0.25 and vals[1] == 0.5 and vals[9] == 0.75 and vals[19] == 0.75


def one_hot_maps(h0, w0, h1, w1, seed=0):
    """feat1 location k = e_k; feat0 location q = e_{perm[q]} -> NN of q is location perm[q]."""
    rng = np.random.default_rng(seed)
    L = h1 * w1
    feat1 = np.eye(L, dtype=np.float32).reshape(h1, w1, L)
    perm = rng.integers(0, L, h0 * w0)
    feat0 = np.eye(L, dtype=np.float32)[perm].reshape(h0, w0, L)
    return feat0.transpose(2, 0, 1), feat1.transpose(2, 0, 1), perm


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
def test_dense_nn_one_hot_exact_and_chunk_independent(chunk):
    f0, f1, perm = one_hot_maps(5, 6, 4, 7)
    ys, xs = np.meshgrid(np.arange(5), np.arange(6), indexing="ij")
    pts0 = np.stack([xs.ravel(), ys.ravel()], axis=1)
    expected = np.stack([perm % 7, perm // 7], axis=1).astype(float)
    pred = dense_nn_predict(f0, f1, pts0, chunk=chunk)
    np.testing.assert_array_equal(pred, expected)
    np.testing.assert_array_equal(dense_nn_pck(f0, f1, pts0, expected, [0, 1], chunk=chunk), [1.0, 1.0])
    # channels-last numpy and torch inputs give the same answer
    pred_hwc = dense_nn_predict(f0.transpose(1, 2, 0), f1.transpose(1, 2, 0), pts0, chunk=chunk)
    np.testing.assert_array_equal(pred_hwc, expected)
    pred_t = dense_nn_predict(torch.from_numpy(f0), torch.from_numpy(f1), pts0, chunk=chunk, device="cpu")
    np.testing.assert_array_equal(pred_t, expected)


def test_dense_nn_stride():
    f0, f1, perm = one_hot_maps(3, 3, 3, 4)
    s = 4
    pts0 = np.array([[0, 0], [5, 9], [11, 11], [3, 4]])  # map cells (0,0), (2,1), (2,2), (1,0)
    q = (pts0[:, 1] // s) * 3 + pts0[:, 0] // s
    loc = perm[q]
    expected = np.stack([(loc % 4) * s + 1.5, (loc // 4) * s + 1.5], axis=1)
    np.testing.assert_array_equal(dense_nn_predict(f0, f1, pts0, stride=s), expected)
    np.testing.assert_allclose(dense_nn_pck(f0, f1, pts0, expected + [0.0, 2.0], [1, 2], stride=s), [0, 1])


def test_dense_nn_ties_go_to_first_location_any_chunk():
    rng = np.random.default_rng(1)
    f1 = rng.integers(-3, 4, size=(4, 6, 6)).astype(np.float32)  # (C, H, W), many exact ties
    f1[:, 5, 5] = f1[:, 0, 1]
    f0 = rng.integers(-3, 4, size=(4, 3, 3)).astype(np.float32)
    f0[:, 0, 0] = f1[:, 0, 1]
    pts0 = np.stack(np.meshgrid(np.arange(3), np.arange(3)), -1).reshape(-1, 2)
    q = f0[:, pts0[:, 1], pts0[:, 0]].T.astype(np.float64)
    db = f1.reshape(4, -1).T.astype(np.float64)
    idx = np.argmin(((q[:, None] - db[None]) ** 2).sum(-1), axis=1)  # first minimum
    expected = np.stack([idx % 6, idx // 6], axis=1)
    for chunk in (1, 2, 5, 100):
        np.testing.assert_array_equal(dense_nn_predict(f0, f1, pts0, chunk=chunk), expected)
    assert tuple(dense_nn_predict(f0, f1, [[0, 0]])[0]) == (1.0, 0.0)


def test_dense_nn_bad_query():
    f0, f1, _ = one_hot_maps(2, 2, 2, 2)
    with pytest.raises(ValueError):
        dense_nn_predict(f0, f1, [[2, 0]])


def test_sparse_nn_pck():
    desc1 = np.eye(4)
    kpts1 = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    desc0 = desc1[[3, 1, 0]] + 0.01
    kpts0 = np.array([[1, 1], [2, 2], [3, 3]], float)
    gt = np.array([[10, 10], [10, 1.5], [5, 5]], float)  # errors 0, 1.5, 7.07
    np.testing.assert_allclose(sparse_nn_pck(desc0, kpts0, desc1, kpts1, gt, [1, 2, 8]), [1 / 3, 2 / 3, 1])
    np.testing.assert_array_equal(sparse_nn_pck(desc0, kpts0, np.zeros((0, 4)), np.zeros((0, 2)), gt, [5]), [0])
