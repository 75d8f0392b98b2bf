"""Percentage of correct keypoints (PCK), as used by the Universal Correspondence Network.

A predicted correspondence is correct when ``||pred - gt|| <= k`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: only the NN-matching PCK variants need it
    import torch

__all__ = ["pck", "pck_curve", "dense_nn_predict", "dense_nn_pck", "sparse_nn_pck"]

Thresholds = float | Sequence[float] | np.ndarray


def pck(pred: np.ndarray, gt: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """Fraction of predictions within each pixel threshold of the ground truth.

    Args:
        pred: (N, 2) predicted points; NaN rows (no prediction) count as incorrect.
        gt: (N, 2) ground-truth points; NaN rows (no ground truth) are left out of the
            denominator.
        thresholds: scalar or (T,) thresholds in pixels (inclusive).

    Returns:
        (T,) float64 fractions (zeros if no query has ground truth).
    """
    thr = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 2)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 2)
    if pred.shape != gt.shape:
        raise ValueError(f"pred/gt shapes differ: {pred.shape} vs {gt.shape}")
    has_gt = np.isfinite(gt).all(axis=1)
    if not has_gt.any():
        return np.zeros(len(thr))
    err = np.linalg.norm(pred[has_gt] - gt[has_gt], axis=1)
    err = np.where(np.isnan(err), np.inf, err)
    return (err[:, None] <= thr[None, :]).mean(axis=0)


def pck_curve(pred: np.ndarray, gt: np.ndarray, max_px: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """PCK at thresholds 1, 2, ..., max_px pixels; returns ((T,) thresholds, (T,) fractions)."""
    thr = np.arange(1, int(max_px) + 1, dtype=np.float64)
    return thr, pck(pred, gt, thr)


def _to_hwc(feat, channels_first: bool) -> "torch.Tensor":
    import torch

    if isinstance(feat, torch.Tensor):
        f = feat
    else:
        arr = np.asarray(feat)
        f = torch.as_tensor(arr if arr.flags.writeable else arr.copy())
    if f.ndim != 3:
        raise ValueError(f"feature maps must be 3-D, got shape {tuple(f.shape)}")
    return f.permute(1, 2, 0) if channels_first else f


def _infer_channels_first(s0: tuple[int, ...], s1: tuple[int, ...]) -> bool:
    """CHW if the leading dims agree and the trailing ones do not; HWC in the opposite case; CHW if ambiguous."""
    if s0[0] == s1[0]:
        return True
    if s0[2] == s1[2]:
        return False
    raise ValueError(f"feature maps have no common channel dimension: {s0} vs {s1}")


def dense_nn_predict(
    feat0,
    feat1,
    pts0: np.ndarray,
    *,
    stride: int = 1,
    chunk: int = 4096,
    device: str | torch.device | None = None,
    channels_first: bool | None = None,
) -> np.ndarray:
    """Nearest neighbour (Euclidean) of each query feature over all locations of image 1's map.

    Args:
        feat0, feat1: feature maps, (C, H, W) or (H, W, C) (numpy or torch); with
            ``channels_first=None`` the layout is inferred (the channel dim is the one both
            maps share; CHW when ambiguous, e.g. maps of the same size).
        pts0: (N, 2) integer pixel coordinates (x, y) of the queries in image 0.
        stride: feature-map stride s. Map location (i, j) covers pixels
            ``j*s .. j*s+s-1`` (x) and ``i*s .. i*s+s-1`` (y): queries read location
            ``(y // s, x // s)`` and a match at location (i, j) is placed at its centre
            ``(j*s + (s-1)/2, i*s + (s-1)/2)``.
        chunk: block size over both queries and locations; peak extra memory is about
            ``chunk**2`` floats. Results do not depend on it (ties go to the first location
            in row-major order).
        device: torch device (default CPU).

    Returns:
        (N, 2) float64 predicted pixel coordinates in image 1.
    """
    import torch

    from cvlearned.nearest_neighbours import chunked_nearest

    if stride < 1 or chunk < 1:
        raise ValueError("stride and chunk must be >= 1")
    if channels_first is None:
        channels_first = _infer_channels_first(tuple(feat0.shape), tuple(feat1.shape))
    dev = torch.device(device) if device is not None else torch.device("cpu")
    f0 = _to_hwc(feat0, channels_first).to(dev, torch.float32)
    f1 = _to_hwc(feat1, channels_first).to(dev, torch.float32)
    if f0.shape[2] != f1.shape[2]:
        raise ValueError("feature maps have different channel counts")
    h0, w0 = f0.shape[:2]
    h1, w1, c = f1.shape
    p = np.asarray(pts0).reshape(-1, 2).astype(np.int64)
    qi, qj = p[:, 1] // stride, p[:, 0] // stride
    if len(p) and ((qi < 0).any() or (qi >= h0).any() or (qj < 0).any() or (qj >= w0).any()):
        raise ValueError("query points fall outside feature map 0")
    queries = f0[torch.as_tensor(qi, device=dev), torch.as_tensor(qj, device=dev)]  # (N, C)
    db = f1.reshape(-1, c)  # (L, C), row-major locations
    best = chunked_nearest(queries, db, chunk)
    idx = best.cpu().numpy()
    ii, jj = idx // w1, idx % w1
    off = (stride - 1) / 2.0
    return np.stack([jj * stride + off, ii * stride + off], axis=1).astype(np.float64)


def dense_nn_pck(
    feat0,
    feat1,
    pts0: np.ndarray,
    gt_pts1: np.ndarray,
    thresholds: Thresholds,
    *,
    stride: int = 1,
    chunk: int = 4096,
    device: str | torch.device | None = None,
    channels_first: bool | None = None,
) -> np.ndarray:
    """PCK of dense nearest-neighbour matching (UCN protocol); see ``dense_nn_predict``.

    ``gt_pts1`` (N, 2) are the true image-1 pixels of ``pts0`` (NaN rows = no ground truth).
    Returns (T,) fractions.
    """
    pred = dense_nn_predict(feat0, feat1, pts0, stride=stride, chunk=chunk, device=device,
                            channels_first=channels_first)
    return pck(pred, gt_pts1, thresholds)


def sparse_nn_pck(
    desc0: np.ndarray,
    kpts0: np.ndarray,
    desc1: np.ndarray,
    kpts1: np.ndarray,
    gt_kpts1_of_kpts0: np.ndarray,
    thresholds: Thresholds,
) -> np.ndarray:
    """PCK of nearest-neighbour matching among image-1 keypoints.

    Args:
        desc0: (N0, D) descriptors of ``kpts0`` (N0, 2).
        desc1: (N1, D) descriptors of ``kpts1`` (N1, 2).
        gt_kpts1_of_kpts0: (N0, 2) true image-1 positions of ``kpts0`` (NaN = no ground truth).

    The prediction for keypoint i is ``kpts1[argmin_j ||desc0[i] - desc1[j]||]``; with no
    image-1 keypoints every query is incorrect. Returns (T,) fractions.
    """
    import torch

    kpts0 = np.asarray(kpts0, dtype=np.float64).reshape(-1, 2)
    kpts1 = np.asarray(kpts1, dtype=np.float64).reshape(-1, 2)
    d0 = np.asarray(desc0, dtype=np.float64).reshape(len(kpts0), -1)
    gt = np.asarray(gt_kpts1_of_kpts0, dtype=np.float64).reshape(-1, 2)
    if len(gt) != len(kpts0):
        raise ValueError("gt_kpts1_of_kpts0 must have one row per kpts0")
    if len(kpts1) == 0:
        return pck(np.full_like(gt, np.nan), gt, thresholds)
    d1 = np.asarray(desc1, dtype=np.float64).reshape(len(kpts1), -1)
    t1 = torch.from_numpy(d1)
    nn = np.zeros(len(d0), dtype=np.int64)
    for a in range(0, len(d0), 2048):  # bounded memory: 2048 x N1 distances at a time
        nn[a:a + 2048] = torch.cdist(torch.from_numpy(d0[a:a + 2048]), t1).argmin(dim=1).numpy()
    return pck(kpts1[nn], gt, thresholds)
