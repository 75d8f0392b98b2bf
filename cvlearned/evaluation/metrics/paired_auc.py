"""Paired bootstrap of a pose-AUC difference between two features measured on the same pairs.

A benchmark's AUC@10 ± sd over RANSAC runs says how much RANSAC alone moves it; whether one
feature beats another on a dataset also depends on which pairs the dataset happens to hold.
Resampling the pairs (the same resample for both features, since they saw the same pairs)
gives a confidence interval for the difference that accounts for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvlearned.evaluation.metrics.pose import run_aucs

__all__ = ["AUCDifference", "paired_auc_difference"]


@dataclass(frozen=True)
class AUCDifference:
    """AUC@``threshold`` of feature a minus feature b, with a percentile bootstrap interval.

    ``difference`` is computed on the measured pairs (mean over RANSAC runs of each run's
    AUC, as ``cvlearned bench`` reports); ``low``/``high`` bound the central ``confidence``
    share of the resampled differences; ``share_not_worse`` is the share of resamples in
    which a's AUC is at least b's.
    """

    threshold: float
    auc_a: float
    auc_b: float
    difference: float
    low: float
    high: float
    share_not_worse: float
    confidence: float
    resamples: int


def paired_auc_difference(
    errors_a: np.ndarray, errors_b: np.ndarray, threshold: float = 10.0, resamples: int = 2000,
    confidence: float = 0.95, seed: int = 0,
) -> AUCDifference:
    """Bootstrap the AUC difference a − b over pairs.

    ``errors_a``, ``errors_b``: (pairs, runs) pose errors in degrees
    (:func:`~cvlearned.evaluation.metrics.pose.pose_error`; inf = failure) of two features on
    the same pairs in the same order; the run counts may differ. Each resample draws the
    pairs with replacement, the same draw for both features.
    """
    a = np.asarray(errors_a, dtype=np.float64)
    b = np.asarray(errors_b, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0] or a.shape[0] == 0:
        raise ValueError(f"need (pairs, runs) errors of the same non-zero pair count, got {a.shape} and {b.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    auc_a, auc_b = float(run_aucs(a, threshold).mean()), float(run_aucs(b, threshold).mean())
    rng = np.random.default_rng(seed)
    n = a.shape[0]
    diffs = np.concatenate([  # batches of resamples keep memory at a few MB
        run_aucs(a[idx], threshold).mean(axis=-1) - run_aucs(b[idx], threshold).mean(axis=-1)
        for idx in np.array_split(rng.integers(0, n, (resamples, n)), max(1, resamples // 500))
    ])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return AUCDifference(threshold=float(threshold), auc_a=auc_a, auc_b=auc_b, difference=auc_a - auc_b,
                         low=float(low), high=float(high), share_not_worse=float(np.mean(diffs >= 0.0)),
                         confidence=float(confidence), resamples=int(resamples))
