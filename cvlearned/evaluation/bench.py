"""``cvlearned bench``: every feature on the same pairs, the same matcher and estimator.

Each feature is created through the registry, run on both images of every pair, matched
with the shared :class:`MatchingOptions` and scored per pair (:mod:`pair_eval`); the
per-pair numbers are kept for the JSON report and summarised per feature here. With
``BenchSettings.keypoints`` every feature only describes (``compute``) the keypoints of
that one detector, detected once per image: a comparison of descriptors alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.extraction import detect_strongest, extract, extract_on
from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.evaluation.metrics import homography_accuracy, pose_error, run_aucs, summarize_pose_errors
from cvlearned.evaluation.pair_eval import (
    MMA_THRESHOLDS,
    PCK_THRESHOLDS,
    PoseEstimation,
    evaluate_homography_pair,
    evaluate_pose_pair,
)
from cvlearned.registry import create, feature_spec


@dataclass(frozen=True)
class BenchSettings:
    """Everything that must be identical across the compared features."""

    matching: MatchingOptions = field(default_factory=MatchingOptions)
    estimation: PoseEstimation = field(default_factory=PoseEstimation)
    homography_threshold_px: float = 3.0
    max_keypoints: int | None = None
    keypoints: str | None = None  # a feature name: every feature describes its keypoints (None: its own)


def make_feature(name: str, max_keypoints: int | None, params: dict[str, Any] | None = None) -> Any:
    """Create ``name`` with ``params``, and with ``max_keypoints`` when the feature has that parameter."""
    params = dict(params or {})
    feature = create(name, **params)
    if max_keypoints is not None and "max_keypoints" in feature.getParams() and "max_keypoints" not in params:
        feature = create(name, **params, max_keypoints=max_keypoints)
    return feature


class SharedKeypoints:
    """The keypoints of one detector per image, detected once and reused by every feature."""

    def __init__(self, name: str, max_keypoints: int | None) -> None:
        self.detector = make_feature(name, max_keypoints)
        self.max_keypoints = max_keypoints
        self._cache: dict[tuple[int, int], tuple[Any, ...]] = {}

    def get(self, pair_index: int, view: int, image: np.ndarray) -> tuple[Any, ...]:
        key = (pair_index, view)
        if key not in self._cache:
            self._cache[key] = detect_strongest(self.detector, image, self.max_keypoints)
        return self._cache[key]


def evaluate_feature(
    feature: Any,
    name: str,
    pairs: Sequence[HomographyPair | PosePair],
    settings: BenchSettings,
    progress: bool = True,
    on_extractions: Callable[[int, Any, Any], None] | None = None,
    shared: SharedKeypoints | None = None,
) -> list[dict[str, Any]]:
    """Per-pair metric dicts of ``feature`` (shown as ``name``) on ``pairs``; with ``shared``
    the feature describes those keypoints instead of detecting its own."""

    def run(index: int, view: int, image: np.ndarray) -> Any:
        if shared is None:
            return extract(feature, image, settings.max_keypoints)
        return extract_on(feature, image, shared.get(index, view, image))

    if len(pairs):
        run(0, 0, pairs[0].image0)  # warm-up (lazy initialisation, caches)
    results = []
    for index in tqdm(range(len(pairs)), desc=f"{name:>12s}", disable=not progress, leave=False):
        pair = pairs[index]
        ex0 = run(index, 0, pair.image0)
        ex1 = run(index, 1, pair.image1)
        if isinstance(pair, HomographyPair):
            metrics = evaluate_homography_pair(pair, ex0, ex1, settings.matching, settings.homography_threshold_px)
        else:
            metrics = evaluate_pose_pair(pair, ex0, ex1, settings.matching, settings.estimation)
        metrics["pair"] = pair.name
        results.append(metrics)
        if on_extractions is not None:
            on_extractions(index, ex0, ex1)
    return results


def summarize(per_pair: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate per-pair metrics of one feature (means over pairs; median ms/image; pose
    errors over pairs and RANSAC runs, see :func:`summarize_pose_runs`)."""
    if not per_pair:
        return {"pairs": 0}
    out: dict[str, Any] = {
        "pairs": len(per_pair),
        "keypoints": float(np.mean([(r["keypoints0"] + r["keypoints1"]) / 2 for r in per_pair])),
        "matches": float(np.mean([r["matches"] for r in per_pair])),
        "ms_per_image": float(np.median([t for r in per_pair for t in (r["ms0"], r["ms1"])])),
    }
    if "rot_err_deg" in per_pair[0]:
        out.update(summarize_pose_runs(*pose_run_errors(per_pair)))
        out["inliers"] = float(np.mean([r["inliers"] for r in per_pair]))
    if "corner_err_px" in per_pair[0]:
        accuracy = homography_accuracy(np.array([r["corner_err_px"] for r in per_pair]), (1, 3, 5))
        out.update({f"h_acc@{t}": float(v) for t, v in accuracy.items()})
    if "mma" in per_pair[0]:
        mma = np.mean([r["mma"] for r in per_pair], axis=0)
        pck = np.mean([r["pck"] for r in per_pair], axis=0)
        out["mma_curve"] = dict(zip(MMA_THRESHOLDS, map(float, mma)))
        out["pck_curve"] = dict(zip(PCK_THRESHOLDS, map(float, pck)))
        out["repeatability"] = float(np.mean([r["repeatability"] for r in per_pair]))
        out["matching_score"] = float(np.mean([r["matching_score"] for r in per_pair]))
    return out


def pose_run_errors(per_pair: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair results (``rot_err_deg`` / ``trans_err_deg``: one value per RANSAC run, or a
    scalar from a single-run file) → (pairs, runs) rotation and translation errors."""
    rot = np.array([np.atleast_1d(r["rot_err_deg"]) for r in per_pair], dtype=np.float64)
    trans = np.array([np.atleast_1d(r["trans_err_deg"]) for r in per_pair], dtype=np.float64)
    return rot, trans


def summarize_pose_runs(rot: np.ndarray, trans: np.ndarray) -> dict[str, Any]:
    """Pose summary of (pairs, runs) error arrays in degrees. Each ``auc@T`` is the mean
    over runs of that run's AUC over the pairs (:func:`~cvlearned.evaluation.metrics.run_aucs`),
    and ``auc@T_sd`` the standard deviation of those AUCs (only with several runs); means,
    medians and ``num_failures`` (failed estimations) pool every pair and run."""
    out: dict[str, Any] = dict(summarize_pose_errors(rot.ravel(), trans.ravel()))
    errors = pose_error(rot, trans)
    for key in [k for k in out if k.startswith("auc@")]:
        aucs = run_aucs(errors, float(key[len("auc@"):]))
        out[key] = float(np.mean(aucs))
        if len(aucs) > 1:
            out[f"{key}_sd"] = float(np.std(aucs))
    out["runs"] = int(rot.shape[1])
    return out


#: a registered feature name, or (label, name, params) for a feature created with parameters
FeatureEntry = str | tuple[str, str, dict[str, Any]]


def run_bench(
    features: Sequence[FeatureEntry],
    pairs: Sequence[HomographyPair | PosePair],
    settings: BenchSettings,
    progress: bool = True,
    on_extractions: Callable[[str, int, Any, Any], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{label: {"params", "summary", "pairs"}}`` for every feature (label = name for plain
    names), same pairs."""
    entries = [(f, f, {}) if isinstance(f, str) else f for f in features]
    labels = [label for label, _, _ in entries]
    if len(set(labels)) != len(labels):
        raise ValueError(f"feature labels must be unique, got {labels}")
    for name in [*(name for _, name, _ in entries), *([settings.keypoints] if settings.keypoints else [])]:
        feature_spec(name)  # unknown names fail before any work
    shared = SharedKeypoints(settings.keypoints, settings.max_keypoints) if settings.keypoints else None
    results = {}
    for label, name, params in entries:
        feature = make_feature(name, settings.max_keypoints, params)
        callback = (lambda i, a, b, n=label: on_extractions(n, i, a, b)) if on_extractions else None
        per_pair = evaluate_feature(feature, label, pairs, settings, progress, callback, shared)
        results[label] = {"params": feature.getParams(), "summary": summarize(per_pair), "pairs": per_pair}
    return results
