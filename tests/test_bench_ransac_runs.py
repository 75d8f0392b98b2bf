"""Several RANSAC runs per pose pair (``PoseEstimation.runs``): shuffled match orders,
per-run AUCs averaged, and their spread."""

from __future__ import annotations

import numpy as np
import pytest

from cvlearned.evaluation.bench import BenchSettings, run_bench, summarize_pose_runs
from cvlearned.evaluation.metrics import summarize_pose_errors
from cvlearned.evaluation.pair_eval import PoseEstimation
from cvlearned.evaluation.report import markdown_table
from cvlearned.synthetic import make_scene_pairs


@pytest.mark.parametrize("runs", [0, -1, 1.5, True, None])
def test_runs_must_be_a_positive_integer(runs):
    with pytest.raises(ValueError, match="runs"):
        PoseEstimation(runs=runs)


def test_match_orders_keep_run_zero_and_shuffle_the_rest():
    orders = PoseEstimation(runs=4, seed=3).match_orders(50)
    assert len(orders) == 4
    np.testing.assert_array_equal(orders[0], np.arange(50))
    for order in orders[1:]:
        np.testing.assert_array_equal(np.sort(order), np.arange(50))
    assert not np.array_equal(orders[1], orders[2])
    again = PoseEstimation(runs=4, seed=3).match_orders(50)
    assert all(np.array_equal(a, b) for a, b in zip(orders, again))
    assert not np.array_equal(PoseEstimation(runs=2, seed=4).match_orders(50)[1], orders[1])


def test_auc_is_the_mean_of_the_per_run_aucs():
    rot = np.array([[1.0, 2.0], [0.5, np.inf], [3.0, 12.0]])
    trans = np.array([[4.0, 1.0], [9.0, np.inf], [2.0, 6.0]])
    summary = summarize_pose_runs(rot, trans)
    per_run = [summarize_pose_errors(rot[:, k], trans[:, k]) for k in range(2)]
    for key in ("auc@5", "auc@10", "auc@20"):
        assert summary[key] == pytest.approx(np.mean([r[key] for r in per_run]))
        assert summary[f"{key}_sd"] == pytest.approx(np.std([r[key] for r in per_run]))
    assert summary["num_failures"] == 1 and summary["runs"] == 2
    assert summary["rot_median_deg"] == pytest.approx(np.median([1.0, 2.0, 0.5, 3.0, 12.0]))


def test_one_run_has_no_spread():
    summary = summarize_pose_runs(np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]]))
    assert summary["runs"] == 1 and not any(k.endswith("_sd") for k in summary)


@pytest.fixture(scope="module")
def scene_pairs():
    return make_scene_pairs(n_pairs=2, layout="mixed", size=(320, 240), seed=7)


def test_bench_reports_every_run_and_run_zero_matches_a_single_run(scene_pairs):
    one = run_bench(["sift"], scene_pairs, BenchSettings(), progress=False)["sift"]
    three = run_bench(["sift"], scene_pairs, BenchSettings(estimation=PoseEstimation(runs=3)), progress=False)["sift"]
    for a, b in zip(one["pairs"], three["pairs"]):
        assert len(b["rot_err_deg"]) == len(b["trans_err_deg"]) == len(b["inliers"]) == 3
        assert b["rot_err_deg"][0] == a["rot_err_deg"][0] and b["trans_err_deg"][0] == a["trans_err_deg"][0]
    assert "auc@10_sd" in three["summary"] and "auc@10_sd" not in one["summary"]
    assert "AUC@10 sd" in markdown_table({"sift": three}) and "AUC@10 sd" not in markdown_table({"sift": one})
