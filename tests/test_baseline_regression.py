"""Classical baselines on the generated benchmarks, computed in this run (never
hard-coded): a harness or renderer regression makes these fail.

Documented bounds (README "Benchmarks"): on 3 rendered 480x360 scene pairs SIFT's median
rotation deviation is < 1° and translation-direction deviation < 5° with pose AUC@10 >
0.5; on 3 generated viewpoint homography pairs SIFT's homography accuracy @5 px is 1.0
and MMA@3 > 0.7. DAISY and KAZE must also recover the scene poses (median rotation < 2°).
"""

from __future__ import annotations

import pytest

from cvlearned.evaluation.bench import BenchSettings, run_bench
from cvlearned.evaluation.report import flat_summary
from cvlearned.synthetic import make_homography_pairs, make_scene_pairs


@pytest.fixture(scope="module")
def scene_results():
    pairs = make_scene_pairs(n_pairs=3, layout="mixed", size=(480, 360), seed=11)
    return run_bench(["sift", "daisy", "kaze"], pairs, BenchSettings(), progress=False)


@pytest.fixture(scope="module")
def homography_results():
    pairs = make_homography_pairs(n_pairs=3, split="viewpoint", size=(480, 360), seed=5)
    return run_bench(["sift", "orb"], pairs, BenchSettings(), progress=False)


def test_sift_recovers_rendered_scene_poses(scene_results):
    summary = scene_results["sift"]["summary"]
    assert summary["num_failures"] == 0
    assert summary["rot_median_deg"] < 1.0
    assert summary["trans_median_deg"] < 5.0
    assert summary["auc@10"] > 0.5


@pytest.mark.parametrize("name", ["daisy", "kaze"])
def test_other_float_baselines_recover_poses(scene_results, name):
    summary = scene_results[name]["summary"]
    assert summary["num_failures"] == 0
    assert summary["rot_median_deg"] < 2.0


def test_scene_correspondence_metrics_are_sane(scene_results):
    flat = flat_summary(scene_results["sift"]["summary"])
    assert flat["mma@3"] > 0.7
    assert 0.3 < flat["repeatability"] <= 1.0
    assert 0.0 < flat["matching_score"] <= 1.0
    assert flat["pck@1"] <= flat["pck@5"] <= flat["pck@20"] <= 1.0


def test_sift_recovers_homographies(homography_results):
    flat = flat_summary(homography_results["sift"]["summary"])
    assert flat["h_acc@5"] == 1.0
    assert flat["mma@3"] > 0.7
    assert flat["mma@1"] <= flat["mma@3"] <= flat["mma@10"]


def test_binary_features_are_scored_with_hamming(homography_results):
    flat = flat_summary(homography_results["orb"]["summary"])
    assert flat["mma@5"] > 0.5 and flat["pck@10"] > 0.3
