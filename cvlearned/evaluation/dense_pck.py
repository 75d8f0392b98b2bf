"""Dense-correspondence PCK, the Universal Correspondence Network protocol (UCN, Fig. 5).

Two set-ups, for any feature:

* **dense**: query points every 8 px of image 0 (centres of map locations, those with
  ground truth) are
  matched by nearest neighbour over *every* location of image 1's dense descriptor map.
  A feature with ``computeDense`` (UCN) gives its own map; any other feature (SIFT,
  DAISY, KAZE) is computed on grid keypoints every ``stride`` px (size
  ``keypoint_size``, angle 0), which gives a map with the same stride-``stride`` layout,
  so every feature is searched over the same locations.
* **sparse**: SIFT keypoints of both images, each feature's descriptors computed on
  them, nearest neighbour among image 1's keypoints.

PCK@k = fraction of queries whose match lies within k px of the true position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from cvlearned.evaluation.metrics.pck import dense_nn_predict, pck, sparse_nn_pck
from cvlearned.evaluation.warps import Warp, pair_warp
from cvlearned.image_input import as_gray_uint8
from cvlearned.keypoints import keypoints_to_array

__all__ = [
    "DENSE_STRIDE", "grid_query_points", "dense_map", "dense_pck_pair", "sparse_pck_pair",
    "evaluate_dense_pck",
]

#: stride of every dense map in this protocol (UCN's feature-map stride)
DENSE_STRIDE = 4
_FAR = 1e3  # descriptor value of grid locations a feature could not describe: never a nearest neighbour


def grid_query_points(width: int, height: int, step: int = 8, border: int = 8) -> np.ndarray:
    """(N, 2) int64 query pixels (x, y) every ``step`` px, ``border`` px from the edges."""
    xs = np.arange(border, width - border, step)
    ys = np.arange(border, height - border, step)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.int64)


def dense_map(feature: Any, gray: np.ndarray, stride: int = DENSE_STRIDE, keypoint_size: float = 16.0) -> np.ndarray:
    """(H/stride, W/stride, D) float32 descriptor map of ``gray`` (H, W) uint8.

    Location (i, j) describes pixel ``(j*stride + (stride-1)/2, i*stride + (stride-1)/2)``.
    ``feature.computeDense`` is used when the feature has it (its ``stride`` must equal
    ``stride``); otherwise ``feature.compute`` on those pixels as keypoints. Locations the
    feature drops (e.g. too close to the border for its support) get a far-away
    descriptor so they are never matched. Binary (Hamming) descriptors raise ValueError.
    """
    gray = as_gray_uint8(gray)
    h, w = gray.shape
    hs, ws = h // stride, w // stride
    if hasattr(feature, "computeDense"):
        if int(feature.stride) != stride:
            raise ValueError(f"{type(feature).__name__} has stride {feature.stride}, the protocol uses {stride}")
        fmap = np.asarray(feature.computeDense(gray), dtype=np.float32)
        return np.ascontiguousarray(fmap[:hs, :ws])
    off = (stride - 1) / 2.0
    keypoints = [
        cv2.KeyPoint(float(j * stride + off), float(i * stride + off), keypoint_size, 0.0)
        for i in range(hs) for j in range(ws)
    ]
    if feature.defaultNorm() != cv2.NORM_L2:
        raise ValueError(f"dense PCK compares descriptors with L2; {feature.getDefaultName()} is binary")
    kept, desc = feature.compute(gray, keypoints)
    dim = feature.descriptorSize()
    fmap = np.full((hs, ws, dim), _FAR, np.float32)
    if desc is None or len(kept) == 0:
        return fmap
    pts = keypoints_to_array(kept)
    jj = np.rint((pts[:, 0] - off) / stride).astype(np.int64)
    ii = np.rint((pts[:, 1] - off) / stride).astype(np.int64)
    fmap[ii, jj] = np.asarray(desc, dtype=np.float32).reshape(len(kept), dim)
    return fmap


def dense_pck_pair(
    map0: np.ndarray, map1: np.ndarray, warp: Warp, thresholds: np.ndarray, image_size: tuple[int, int],
    stride: int = DENSE_STRIDE, query_step: int = 8,
) -> tuple[np.ndarray, int]:
    """Dense NN PCK of one pair → ((T,) fractions, number of queries with ground truth).

    ``map0``/``map1`` from :func:`dense_map`; ``image_size`` = (w, h) of image 0.
    """
    # queries at the centres of map-0 locations (every query_step px), so no method pays
    # for the quantisation of the query itself
    grid = grid_query_points(*image_size, step=query_step)
    grid = grid[(grid[:, 1] // stride < map0.shape[0]) & (grid[:, 0] // stride < map0.shape[1])]
    queries = (grid // stride * stride).astype(np.float64) + (stride - 1) / 2.0
    gt, valid = warp.forward(queries)
    queries, gt = queries[valid], gt[valid]
    if len(queries) == 0:
        return np.zeros(len(thresholds)), 0
    pred = dense_nn_predict(map0, map1, queries, stride=stride, channels_first=False)
    return pck(pred, gt, thresholds), len(queries)


def sparse_pck_pair(
    feature: Any, gray0: np.ndarray, gray1: np.ndarray, keypoints0: Any, keypoints1: Any, warp: Warp,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, int]:
    """PCK of ``feature``'s descriptors on given keypoints (e.g. SIFT's) of both images.

    Returns ((T,) fractions, number of image-0 keypoints with ground truth).
    """
    kept0, desc0 = feature.compute(gray0, tuple(keypoints0))
    kept1, desc1 = feature.compute(gray1, tuple(keypoints1))
    pts0 = keypoints_to_array(kept0)
    gt, valid = warp.forward(pts0)
    gt[~valid] = np.nan
    if int(valid.sum()) == 0 or desc0 is None:
        return np.zeros(len(thresholds)), int(valid.sum())
    pts1 = keypoints_to_array(kept1) if desc1 is not None else np.zeros((0, 2))
    d1 = desc1 if desc1 is not None else np.zeros((0, desc0.shape[1]), np.float32)
    return sparse_nn_pck(desc0.astype(np.float32), pts0, d1.astype(np.float32), pts1, gt, thresholds), int(valid.sum())


def evaluate_dense_pck(
    features: dict[str, Any], pairs: Sequence[Any], thresholds: np.ndarray, sparse_keypoints: int = 2048,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Dense and SIFT-keypoint PCK of every feature on the same pairs.

    Returns ``{label: {"dense": (T,) list, "sparse_sift": (T,) list, "dense_queries": int,
    "sparse_queries": int, "pairs": int}}``; curves are query-weighted means over pairs.
    Pairs without ground truth (pose pairs without depth) are skipped.
    """
    from tqdm import tqdm

    from cvlearned.baselines.sift import SIFT

    sift = SIFT(max_keypoints=sparse_keypoints)
    usable = [(p, w) for p in pairs if (w := pair_warp(p)) is not None]
    grays = [(as_gray_uint8(p.image0), as_gray_uint8(p.image1)) for p, _ in usable]
    keypoints = [(sift.detect(g0), sift.detect(g1)) for g0, g1 in grays]
    results: dict[str, dict[str, Any]] = {}
    for label, feature in features.items():
        dense_sum, sparse_sum = np.zeros(len(thresholds)), np.zeros(len(thresholds))
        n_dense = n_sparse = 0
        for (pair, warp), (g0, g1), (k0, k1) in tqdm(list(zip(usable, grays, keypoints)), desc=label,
                                                   disable=not progress):
            d, n = dense_pck_pair(dense_map(feature, g0), dense_map(feature, g1), warp, thresholds,
                                  (g0.shape[1], g0.shape[0]))
            s, m = sparse_pck_pair(feature, g0, g1, k0, k1, warp, thresholds)
            dense_sum += d * n
            sparse_sum += s * m
            n_dense, n_sparse = n_dense + n, n_sparse + m
        results[label] = {
            "dense": (dense_sum / max(n_dense, 1)).tolist(),
            "sparse_sift": (sparse_sum / max(n_sparse, 1)).tolist(),
            "dense_queries": n_dense,
            "sparse_queries": n_sparse,
            "pairs": len(usable),
        }
    return results
