"""``cvlearned bench``: every feature on the same pairs, the same matchers and estimator.

Each feature is created through the registry and run on both images of every pair; its
keypoints are matched by every benched matcher (``BenchSettings.matchers``, default
``ratio``) and each (feature, matcher) row is scored per pair (:mod:`pair_eval`). A
learned matcher only runs on the features whose descriptors it takes (others are skipped
with a note). Rows are labelled ``feature+matcher`` when several matchers are benched, by
the feature alone otherwise. The per-pair numbers are kept for the JSON report and
summarised per row here. With
``BenchSettings.keypoints`` every feature only describes (``compute``) the keypoints of
that one detector, detected once per image: a comparison of descriptors alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from cvlearned.datasets.types import HomographyPair, PosePair
from cvlearned.evaluation.extraction import Extraction, detect_strongest, extract, extract_on
from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.evaluation.metrics import homography_accuracy, pose_error, run_aucs, summarize_pose_errors
from cvlearned.evaluation.pair_eval import (
    MMA_THRESHOLDS,
    PCK_THRESHOLDS,
    PoseEstimation,
    evaluate_homography_pair,
    evaluate_pose_pair,
    match_extractions,
)
from cvlearned.matchers.base import DescriptorMatcher
from cvlearned.matchers.spec import DEFAULT_MATCHER, IncompatibleMatcher, MatcherChoice, matcher_for, parse_matcher
from cvlearned.registry import create, feature_spec


@dataclass(frozen=True)
class BenchSettings:
    """Everything that must be identical across the compared features. ``matching`` sets
    the plain matchers (``mnn`` takes its ``mutual``, ``ratio`` both fields)."""

    matching: MatchingOptions = field(default_factory=MatchingOptions)
    matchers: tuple[MatcherChoice, ...] = field(default_factory=lambda: (parse_matcher(DEFAULT_MATCHER),))
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


def row_label(feature_label: str, choice: MatcherChoice, settings: BenchSettings) -> str:
    """A result row's label: ``feature+matcher`` with several matchers, else the feature's."""
    return feature_label if len(settings.matchers) == 1 else f"{feature_label}+{choice.label}"


def bench_matchers(feature_label: str, name: str, feature: Any, settings: BenchSettings
                   ) -> dict[str, DescriptorMatcher]:
    """``{row label: matcher}`` of every benched matcher that takes the descriptors of
    ``feature`` (registered ``name``); prints a note for each one skipped."""
    matchers = {}
    for choice in settings.matchers:
        plain: dict[str, Any] = {"mutual": settings.matching.mutual}
        if choice.name == "ratio":
            plain["ratio"] = settings.matching.ratio
        try:
            matchers[row_label(feature_label, choice, settings)] = matcher_for(choice, name, feature, **plain)
        except IncompatibleMatcher as exc:
            print(f"note: no {feature_label}+{choice.label} row: {exc}")
    return matchers


def match_timed(matcher: DescriptorMatcher, pair: HomographyPair | PosePair, ex0: Extraction, ex1: Extraction
                ) -> tuple[np.ndarray, float]:
    """(K, 2) matches of ``pair``'s extractions and the matcher's wall time in milliseconds."""
    start = time.perf_counter()
    matches = match_extractions(matcher, ex0, ex1, pair.image0, pair.image1)
    return matches, (time.perf_counter() - start) * 1000.0


def evaluate_feature(
    feature: Any,
    name: str,
    matchers: Mapping[str, DescriptorMatcher],
    pairs: Sequence[HomographyPair | PosePair],
    settings: BenchSettings,
    progress: bool = True,
    on_extractions: Callable[[str, int, Extraction, Extraction, np.ndarray], None] | None = None,
    shared: SharedKeypoints | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{row label: per-pair metric dicts}`` of ``feature`` (shown as ``name``) on ``pairs``,
    extracted once per image and matched by each of ``matchers`` (``{row label: matcher}``);
    with ``shared`` the feature describes those keypoints instead of detecting its own.
    ``on_extractions(row label, pair index, ex0, ex1, (K, 2) matches)`` sees every row's pair."""

    def run(index: int, view: int, image: np.ndarray) -> Any:
        if shared is None:
            return extract(feature, image, settings.max_keypoints)
        return extract_on(feature, image, shared.get(index, view, image))

    if len(pairs):
        run(0, 0, pairs[0].image0)  # warm-up (lazy initialisation, caches)
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in matchers}
    for index in tqdm(range(len(pairs)), desc=f"{name:>12s}", disable=not progress, leave=False):
        pair = pairs[index]
        ex0 = run(index, 0, pair.image0)
        ex1 = run(index, 1, pair.image1)
        for label, matcher in matchers.items():
            matches, match_ms = match_timed(matcher, pair, ex0, ex1)
            if isinstance(pair, HomographyPair):
                metrics = evaluate_homography_pair(pair, ex0, ex1, matches, settings.homography_threshold_px)
            else:
                metrics = evaluate_pose_pair(pair, ex0, ex1, matches, settings.estimation)
            metrics.update(pair=pair.name, ms_match=match_ms)
            results[label].append(metrics)
            if on_extractions is not None:
                on_extractions(label, index, ex0, ex1, matches)
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
    if "ms_match" in per_pair[0]:
        out["ms_match_per_pair"] = float(np.median([r["ms_match"] for r in per_pair]))
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
    on_extractions: Callable[[str, int, Extraction, Extraction, np.ndarray], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{row label: {"params", "matcher", "summary", "pairs"}}`` for every feature (label =
    name for plain names) × matcher (:func:`row_label`), same pairs.

    Raises:
        ValueError: repeated labels, an unknown feature, or no feature that a matcher takes.
    """
    entries = [(f, f, {}) if isinstance(f, str) else f for f in features]
    labels = [label for label, _, _ in entries]
    if len(set(labels)) != len(labels):
        raise ValueError(f"feature labels must be unique, got {labels}")
    if not settings.matchers:
        raise ValueError("settings.matchers is empty: bench at least one matcher")
    for name in [*(name for _, name, _ in entries), *([settings.keypoints] if settings.keypoints else [])]:
        feature_spec(name)  # unknown names fail before any work
    shared = SharedKeypoints(settings.keypoints, settings.max_keypoints) if settings.keypoints else None
    results = {}
    for label, name, params in entries:
        feature = make_feature(name, settings.max_keypoints, params)
        matchers = bench_matchers(label, name, feature, settings)
        by_row = evaluate_feature(feature, label, matchers, pairs, settings, progress, on_extractions, shared)
        for row, per_pair in by_row.items():
            results[row] = {"params": feature.getParams(), "matcher": matchers[row].name,
                            "matcher_settings": repr(matchers[row]),
                            "summary": summarize(per_pair), "pairs": per_pair}
    if not results:
        raise ValueError(f"no benched matcher takes the descriptors of any of {labels} (see the notes above)")
    return results
