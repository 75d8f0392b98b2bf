"""Paired bootstrap of pose-AUC differences (cvlearned.evaluation.metrics.paired_auc) and the
benchmarks/pose_difference.py script that applies it to cvlearned bench results."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvlearned.evaluation.metrics import paired_auc_difference, pose_auc, pose_error, run_aucs

ROOT = Path(__file__).resolve().parents[1]


def _reference_auc(errors: np.ndarray, threshold: float) -> float:
    """The recall-curve AUC written out point by point (independent of the vectorised code)."""
    e = np.sort(np.where(np.isnan(errors), np.inf, errors))
    n, area, x_prev, y_prev = len(e), 0.0, 0.0, 0.0
    for i, err in enumerate(e, start=1):
        if err >= threshold:
            break
        area += (err - x_prev) * (y_prev + i / n) / 2.0
        x_prev, y_prev = err, i / n
    area += (threshold - x_prev) * y_prev  # flat up to the threshold
    return area / threshold


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 25), st.integers(1, 4), st.integers(0, 2**31 - 1), st.sampled_from([5.0, 10.0, 20.0]))
def test_run_aucs_equal_the_reference_per_run(pairs: int, runs: int, seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    errors = rng.exponential(8.0, (pairs, runs))
    errors[rng.random((pairs, runs)) < 0.15] = np.inf
    errors[rng.random((pairs, runs)) < 0.05] = np.nan
    expected = [_reference_auc(errors[:, k], threshold) for k in range(runs)]
    assert run_aucs(errors, threshold) == pytest.approx(expected, abs=1e-12)
    assert pose_auc(errors[:, 0], (threshold,))[threshold] == pytest.approx(expected[0], abs=1e-12)


def test_pose_auc_hand_computed() -> None:
    # errors 2 and 4 of 4 pairs (two failures), threshold 5: trapezoids 0-2 (0 -> 1/4),
    # 2-4 (1/4 -> 1/2), then flat 1/2 from 4 to 5 -> (0.25 + 0.75 + 0.5) / 5 = 0.3
    assert pose_auc([4.0, np.inf, 2.0, np.nan], (5,))[5] == pytest.approx(0.3)
    assert pose_auc([], (5, 10)) == {5: 0.0, 10: 0.0}


def test_run_aucs_batch_leading_axes() -> None:
    errors = np.random.default_rng(0).exponential(8.0, (3, 10, 2))
    assert np.allclose(run_aucs(errors, 10.0), [run_aucs(e, 10.0) for e in errors])


def test_pose_error_is_max_rot_only_or_inf() -> None:
    rot = np.array([1.0, 5.0, 2.0, np.inf, np.nan])
    trans = np.array([3.0, 1.0, np.nan, 1.0, 1.0])
    assert np.array_equal(pose_error(rot, trans), [3.0, 5.0, 2.0, np.inf, np.inf])


def test_identical_features_differ_by_exactly_zero() -> None:
    errors = np.random.default_rng(1).exponential(6.0, (30, 5))
    d = paired_auc_difference(errors, errors.copy(), resamples=300)
    assert d.difference == 0.0 and d.low == 0.0 and d.high == 0.0
    assert d.share_not_worse == 1.0 and d.auc_a == d.auc_b


def test_uniformly_smaller_errors_give_an_interval_above_zero() -> None:
    base = np.random.default_rng(2).uniform(1.0, 15.0, (40, 3))
    d = paired_auc_difference(base * 0.5, base, resamples=500)
    assert d.difference > 0 and d.low > 0 and d.share_not_worse == 1.0
    swapped = paired_auc_difference(base, base * 0.5, resamples=500)
    assert swapped.difference == pytest.approx(-d.difference) and swapped.high < 0


def test_interval_contains_the_measured_difference_and_is_seeded() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.exponential(8.0, (40, 4)), rng.exponential(8.0, (40, 6))  # run counts may differ
    d = paired_auc_difference(a, b, resamples=1000, seed=7)
    assert d.low <= d.difference <= d.high
    assert d == paired_auc_difference(a, b, resamples=1000, seed=7)
    assert d.difference == pytest.approx(run_aucs(a, 10.0).mean() - run_aucs(b, 10.0).mean())


@pytest.mark.parametrize("a, b, kwargs, message", [
    (np.ones((5, 2)), np.ones((4, 2)), {}, "same non-zero pair count"),
    (np.ones((0, 2)), np.ones((0, 2)), {}, "same non-zero pair count"),
    (np.ones((5, 2, 2)), np.ones((5, 2, 2)), {}, "pairs, runs"),
    (np.ones((5, 2)), np.ones((5, 2)), {"resamples": 0}, "resamples"),
    (np.ones((5, 2)), np.ones((5, 2)), {"confidence": 1.0}, "confidence"),
])
def test_bad_input_raises(a: np.ndarray, b: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_auc_difference(a, b, **kwargs)


def _load_script():
    spec = importlib.util.spec_from_file_location("pose_difference", ROOT / "benchmarks" / "pose_difference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench_results(errors: dict[str, np.ndarray]) -> dict:
    """A results.json as cvlearned bench writes it, with per-pair rotation errors only."""
    results = {}
    for label, err in errors.items():
        pairs = [{"pair": f"p{i}", "rot_err_deg": list(row), "trans_err_deg": [0.0] * len(row)}
                 for i, row in enumerate(err)]
        results[label] = {"params": {}, "summary": {}, "pairs": pairs}
    return {"header": {"dataset": "toy"}, "results": results}


def test_script_compares_every_feature_with_the_reference(tmp_path: Path, capsys) -> None:
    base = np.random.default_rng(4).uniform(1.0, 15.0, (20, 2))
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_bench_results({"sift": base, "better": base * 0.5, "same": base})))
    assert _load_script().main([str(path), "--resamples", "200", "--out", str(tmp_path / "t.md")]) == 0
    rows = {line.split(" | ")[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("| toy")}
    assert set(rows) == {"better", "same"}
    assert "| +0.000 | [+0.000, +0.000] | 1.00 | 20 |" in rows["same"]
    assert (tmp_path / "t.md").read_text().count("| toy |") == 2


def test_script_refuses_features_measured_on_other_pairs(tmp_path: Path) -> None:
    data = _bench_results({"sift": np.ones((3, 1)), "x": np.ones((3, 1))})
    data["results"]["x"]["pairs"][0]["pair"] = "other"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SystemExit, match="same pairs"):
        _load_script().main([str(path)])
