"""``--matcher`` in every tool (bench, demo, two_view, panorama): parsing, the default's
equality with mutual NN + ratio 0.8, and a learned matcher loaded by path (random weights:
these tests check wiring, never accuracy)."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
from example_loader import load_example

import cvlearned
from cvlearned.cli import main
from cvlearned.cli_args import matcher_list, matcher_spec
from cvlearned.datasets.types import PosePair
from cvlearned.evaluation.bench import BenchSettings, run_bench
from cvlearned.evaluation.extraction import extract
from cvlearned.evaluation.matching import match_descriptors
from cvlearned.evaluation.pair_eval import match_extractions
from cvlearned.matchers.base import dmatch_arrays
from cvlearned.matchers.spec import IncompatibleMatcher, matcher_for, parse_matcher
from cvlearned.synthetic import make_homography_pairs, make_scene_pairs

torch = pytest.importorskip("torch")

from cvlearned.matchers.config import LightGlueConfig  # noqa: E402
from cvlearned.matchers.lightglue import LightGlueNet  # noqa: E402

SIZE = (320, 240)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """A randomly initialised lightglue-lite state dict for 128-d descriptors."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("matcher") / "random-lg.pt"
    torch.save(LightGlueNet(LightGlueConfig(descriptor_dim=128)).state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def homography_pair():
    return make_homography_pairs(n_pairs=1, size=SIZE, seed=1)[0]


@pytest.fixture(scope="module")
def scene_pair() -> PosePair:
    return make_scene_pairs(n_pairs=1, layout="box", size=SIZE, seed=2)[0]


def _strip_times(result: dict) -> dict:
    drop = {"ms0", "ms1", "ms_match", "ms_per_image", "ms_match_per_pair"}
    return {"summary": {k: v for k, v in result["summary"].items() if k not in drop},
            "pairs": [{k: v for k, v in r.items() if k not in drop} for r in result["pairs"]]}


def test_matcher_argument_types(weights):
    assert matcher_spec(" Ratio ").label == "ratio"
    assert [c.label for c in matcher_list("mnn,ratio")] == ["mnn", "ratio"]
    learned = matcher_spec(f"lightglue:{weights}")
    assert learned.label == "lightglue:random-lg.pt" and learned.name is None and not learned.plain
    for text, message in [("rattio", "did you mean 'ratio'"), ("lightglue:/no/such.pt", "no weight file"),
                          ("mnn,,ratio", "empty matcher"), ("mnn,MNN", "listed twice")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            matcher_list(text)


def test_plain_matchers_use_the_feature_norm():
    orb = cv2.ORB_create(300, WTA_K=3)  # OpenCV's own: no registered feature uses NORM_HAMMING2
    image = make_homography_pairs(n_pairs=1, size=SIZE, seed=0)[0].image0
    _, desc = orb.detectAndCompute(image, None)
    found = matcher_for(parse_matcher("ratio"), "orb", orb).match(desc[::2], desc[1::2])
    expected, _ = match_descriptors(desc[::2], desc[1::2], norm=cv2.NORM_HAMMING2)
    assert orb.defaultNorm() == cv2.NORM_HAMMING2
    np.testing.assert_array_equal(dmatch_arrays(found)[0], expected)


def test_learned_matcher_refuses_descriptors_it_cannot_take(weights):
    choice = parse_matcher(f"lightglue:{weights}")
    with pytest.raises(IncompatibleMatcher, match="128-d float descriptors; 'orb' gives 32-byte binary"):
        matcher_for(choice, "orb", cvlearned.create("orb"))
    with pytest.raises(IncompatibleMatcher, match="'kaze' gives 64-d float"):
        matcher_for(choice, "kaze", cvlearned.create("kaze"))
    assert matcher_for(choice, "sift", cvlearned.create("sift")).features == "sift"


def test_bench_default_matcher_is_unchanged_and_rows_are_feature_times_matcher(homography_pair, weights):
    pairs = [homography_pair]
    default = run_bench(["sift", "orb"], pairs, BenchSettings(max_keypoints=200), progress=False)
    choices = tuple(parse_matcher(t) for t in ("mnn", "ratio", f"lightglue:{weights}"))
    rows = run_bench(["sift", "orb"], pairs, BenchSettings(max_keypoints=200, matchers=choices), progress=False)
    assert list(rows) == ["sift+mnn", "sift+ratio", "sift+lightglue:random-lg.pt", "orb+mnn", "orb+ratio"]
    for name in ("sift", "orb"):
        assert _strip_times(rows[f"{name}+ratio"]) == _strip_times(default[name])
        assert rows[f"{name}+mnn"]["pairs"][0]["matches"] >= rows[f"{name}+ratio"]["pairs"][0]["matches"]
    assert default["sift"]["matcher"] == "ratio"
    assert rows["sift+lightglue:random-lg.pt"]["matcher"] == "lightglue-lite-sift"
    assert rows["sift+mnn"]["summary"]["ms_match_per_pair"] > 0

    sift = cvlearned.create("sift", max_keypoints=200)
    ex0, ex1 = extract(sift, homography_pair.image0, 200), extract(sift, homography_pair.image1, 200)
    learned = matcher_for(choices[2], "sift", sift)
    direct = match_extractions(learned, ex0, ex1, homography_pair.image0, homography_pair.image1)
    assert rows["sift+lightglue:random-lg.pt"]["pairs"][0]["matches"] == len(direct)


def test_bench_command_records_matchers(tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "--features", "orb", "--matcher", "mnn,ratio", "--dataset", "synthetic-homography",
            "--max-pairs", "1", "--size", "320x240", "--max-keypoints", "200", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "| orb+mnn |" in capsys.readouterr().out
    payload = json.loads((out / "results.json").read_text())
    assert payload["header"]["matchers"] == "mnn, ratio"
    assert {r: payload["results"][r]["matcher"] for r in payload["results"]} == {"orb+mnn": "mnn", "orb+ratio": "ratio"}
    assert (out / "matches_orb_mnn.jpg").exists() and (out / "matches_orb_ratio.jpg").exists()
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--matcher", "rattio"])
    assert exc.value.code == 2 and "did you mean 'ratio'" in capsys.readouterr().err


def test_demo_with_a_learned_matcher_skips_other_features(tmp_path, capsys, weights):
    out = tmp_path / "demo.png"
    args = ["demo", "--features", "sift,orb", "--matcher", f"lightglue:{weights}", "--max-keypoints", "128",
            "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "note: skipping orb: matcher 'lightglue-lite-orb' takes 128-d float descriptors" in text
    assert "Matcher: lightglue:random-lg.pt." in text and "| sift |" in text and "| orb |" not in text
    assert out.exists()
    assert main([*args[:2], "orb", *args[3:]]) == 1
    assert "matches none of the features orb" in capsys.readouterr().err


def test_two_view_matcher_option(tmp_path, scene_pair, weights, capsys):
    two_view = load_example("two_view")
    images = (scene_pair.image0, scene_pair.image1)
    plain = two_view.run(*images, scene_pair.K0, feature="sift", matcher="mnn", max_keypoints=300)
    ratio = two_view.run(*images, scene_pair.K0, feature="sift", max_keypoints=300)
    assert plain.matcher == "mnn" and ratio.matcher == "ratio" and plain.num_matches >= ratio.num_matches
    learned = two_view.run(*images, scene_pair.K0, feature="sift", matcher=f"lightglue:{weights}", max_keypoints=300)
    assert learned.matcher == "lightglue:random-lg.pt"
    with pytest.raises(IncompatibleMatcher, match="'orb' gives 32-byte binary"):
        two_view.run(*images, scene_pair.K0, feature="orb", matcher=f"lightglue:{weights}")
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], image)
    with pytest.raises(SystemExit) as exc:
        two_view.main([*paths, "--feature", "orb", "--matcher", f"lightglue:{weights}", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--matcher: matcher 'lightglue-lite-orb'" in capsys.readouterr().err


def test_panorama_runs_the_learned_matcher_in_opencvs_stitching_matcher(homography_pair, weights, capsys):
    pytest.importorskip("onnx")
    from cvlearned.adapters.stitching import image_features

    panorama = load_example("panorama")
    sift = cvlearned.create("sift", max_keypoints=150)
    choice = parse_matcher(f"lightglue:{weights}")
    assert isinstance(panorama.features_matcher(choice, "sift", sift, 0.3), cv2.detail_LightGlueFeaturesMatcher)
    f0 = image_features(sift, homography_pair.image0, 0)
    f1 = image_features(sift, homography_pair.image1, 1)
    # filter_threshold 0: random weights are never confident; the ONNX graph runs every layer
    # on every point, as PyTorch without early stopping and pruning
    loose = cvlearned.LightGlueMatcher_create("sift", weights=weights, filter_threshold=0.0)
    info = panorama.learned_features_matcher(loose).apply(f0, f1)
    static = cvlearned.LightGlueMatcher_create("sift", weights=weights, filter_threshold=0.0, depth_confidence=-1,
                                               width_confidence=-1)
    expected = static.match(f0.keypoints, f0.descriptors, f1.keypoints, f1.descriptors, SIZE, SIZE)
    assert sorted(map(tuple, dmatch_arrays(info.matches)[0])) == sorted(map(tuple, dmatch_arrays(expected)[0]))
    assert len(expected) > 0
    assert isinstance(panorama.features_matcher("ratio", "sift", sift, 0.3), cv2.detail_BestOf2NearestMatcher)
    with pytest.raises(ValueError, match="'mnn' has no stitching counterpart"):
        panorama.features_matcher("mnn", "sift", sift, 0.3)
    with pytest.raises(SystemExit) as exc:
        panorama.main(["a.png", "b.png", "--matcher", "ration"])
    assert exc.value.code == 2 and "did you mean 'ratio'" in capsys.readouterr().err
