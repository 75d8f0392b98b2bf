"""cvlearned extract / pairs / match on a generated image folder: files equal to the
per-image calls, resumable, unreadable images reported."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import cvlearned
from cvlearned import io
from cvlearned.cli import main
from cvlearned.evaluation.matching import match_descriptors
from cvlearned.folder_extraction import extract_folder, extract_images, list_image_names
from cvlearned.folder_matching import (
    covisible_pairs,
    create_file_matcher,
    exhaustive_pairs,
    match_pairs,
    pending_pairs,
    sequential_pairs,
)

from feature_files import READABLE, UNREADABLE, assert_same_files, keypoint_fields, write_image_folder

pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def sift_file(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("features") / "features.h5"
    extract_folder(folder, "sift", out, workers=2)
    return out


def test_listing_is_recursive_and_sorted(folder):
    assert list_image_names(folder) == sorted([*READABLE, UNREADABLE])


@pytest.mark.parametrize("name", ["sift", "superpoint-lite"])
def test_extract_equals_detect_and_compute(name, folder, tmp_path):
    report = extract_folder(folder, name, tmp_path / "f.h5", workers=2)
    assert sorted(report.extracted) == sorted(READABLE)
    assert list(report.failed) == [UNREADABLE] and "cannot read image" in report.failed[UNREADABLE]
    feature = cvlearned.create(name)
    for image_name in READABLE:
        image = cv2.imread(str(folder / image_name))
        keypoints, descriptors = feature.detectAndCompute(image, None)
        kp, desc, size = io.read_features(tmp_path / "f.h5", image_name)
        assert keypoint_fields(kp) == keypoint_fields(keypoints), image_name
        assert np.array_equal(desc, descriptors), image_name
        assert size == (image.shape[1], image.shape[0])


def test_max_side_is_the_features(folder, tmp_path):
    extract_folder(folder, "sift", tmp_path / "f.h5", max_side=160, workers=1)
    keypoints, _ = cvlearned.create("sift", max_side=160).detectAndCompute(cv2.imread(str(folder / "a.png")), None)
    kp, _, size = io.read_features(tmp_path / "f.h5", "a.png")
    assert keypoint_fields(kp) == keypoint_fields(keypoints) and size == (320, 240)
    assert max(k.pt[0] for k in kp) > 200  # original pixels, not the downscaled image's


class _Interrupted:
    """A feature that raises KeyboardInterrupt on its ``after + 1``-th image."""

    def __init__(self, feature, after):
        self.feature, self.left = feature, after

    def __getattr__(self, attr):
        return getattr(self.feature, attr)

    def detectAndCompute(self, image, mask):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return self.feature.detectAndCompute(image, mask)


def test_interrupted_run_leaves_a_readable_file_and_resumes(folder, sift_file, tmp_path):
    out = tmp_path / "f.h5"
    names = list_image_names(folder)
    with pytest.raises(KeyboardInterrupt):
        extract_images(folder, names, _Interrupted(cvlearned.create("sift"), 2), "sift", out, flush_every=1)
    assert io.feature_names(out) == sorted(READABLE)[:2]
    report = extract_images(folder, names, cvlearned.create("sift"), "sift", out, workers=1)
    assert sorted(report.skipped) == sorted(READABLE)[:2]
    assert sorted(report.extracted) == sorted(READABLE)[2:]
    assert_same_files(out, sift_file)


def test_covisible_pairs_take_the_most_covisible_images_once():
    names = ["a", "b", "c", "d"]
    shared = np.array([[90, 50, 10, 0], [50, 80, 30, 5], [10, 30, 70, 0], [0, 5, 0, 20]])
    assert covisible_pairs(names, shared, 1) == [("a", "b"), ("b", "c"), ("b", "d")]
    assert covisible_pairs(names, shared, 2) == [("a", "b"), ("a", "c"), ("b", "c"), ("b", "d")]
    assert covisible_pairs(names, shared, 9) == [("a", "b"), ("a", "c"), ("b", "c"), ("b", "d")]  # none shared: no pair
    with pytest.raises(ValueError, match="num must be a positive int"):
        covisible_pairs(names, shared, 0)
    with pytest.raises(ValueError, match=r"shared must be \(4, 4\)"):
        covisible_pairs(names, shared[:3], 1)


def test_pairs():
    names = ["c.png", "a.png", "b.png", "d.png"]
    assert exhaustive_pairs(names) == [("a.png", "b.png"), ("a.png", "c.png"), ("a.png", "d.png"),
                                       ("b.png", "c.png"), ("b.png", "d.png"), ("c.png", "d.png")]
    assert sequential_pairs(names, 1) == [("a.png", "b.png"), ("b.png", "c.png"), ("c.png", "d.png")]
    assert pending_pairs([("a", "b"), ("b", "a"), ("a", "c")], {"a/c"}) == [("a", "b")]
    with pytest.raises(ValueError, match="itself"):
        pending_pairs([("a", "a")], set())


def test_match_equals_match_descriptors(sift_file, tmp_path):
    pairs = exhaustive_pairs(READABLE)
    report = match_pairs(sift_file, pairs, tmp_path / "m.h5", "mnn")
    assert report.matched == len(pairs) == 10 and report.skipped == 0
    for name0, name1 in pairs:
        _, d0, _ = io.read_features(sift_file, name0)
        _, d1, _ = io.read_features(sift_file, name1)
        expected, distances = match_descriptors(d0, d1, norm=cv2.NORM_L2, mutual=True, ratio=None)
        found, scores = io.read_matches(tmp_path / "m.h5", name0, name1)
        assert np.array_equal(found, expected), (name0, name1)
        assert np.allclose(scores, 1 / (1 + distances), rtol=1e-6)
    # the warped copy of a.png matches it far better than an unrelated photo does
    assert len(io.read_matches(tmp_path / "m.h5", "a.png", "c.png")[0]) > 3 * len(
        io.read_matches(tmp_path / "m.h5", "a.png", "b.jpg")[0])


def test_match_resumes_and_refuses_unknown_images(sift_file, tmp_path):
    pairs = sequential_pairs(READABLE, 2)
    first = match_pairs(sift_file, pairs[:3], tmp_path / "m.h5")
    again = match_pairs(sift_file, [(b, a) for a, b in pairs], tmp_path / "m.h5")
    assert first.matched == 3 and again.skipped == 3 and again.matched == len(pairs) - 3
    match_pairs(sift_file, pairs, tmp_path / "all.h5")
    for pair in pairs:  # the resumed file stored the later pairs the other way round
        resumed, direct = io.read_matches(tmp_path / "m.h5", *pair), io.read_matches(tmp_path / "all.h5", *pair)
        assert np.array_equal(resumed[0], direct[0]) and np.allclose(resumed[1], direct[1]), pair
    with pytest.raises(ValueError, match=r"1 image\(s\) of the pairs are not in .*: nope.png"):
        match_pairs(sift_file, [("a.png", "nope.png")], tmp_path / "m.h5")


def test_command_line_workflow(folder, sift_file, tmp_path, capsys):
    features, pairs, matches = tmp_path / "f.h5", tmp_path / "pairs.txt", tmp_path / "m.h5"
    assert main(["extract", str(folder), "--feature", "sift", "--out", str(features), "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    assert "sift: 5 images extracted" in out and "1 unreadable" in out
    assert f"unreadable: cannot read image {folder / UNREADABLE}" in err
    assert_same_files(features, sift_file)
    assert main(["extract", str(folder), "--feature", "sift", "--out", str(features)]) == 0
    assert "0 images extracted" in capsys.readouterr().out
    assert main(["pairs", "sequential", str(features), "--out", str(pairs), "--window", "1"]) == 0
    assert io.read_pairs(pairs) == sequential_pairs(READABLE, 1)
    assert main(["match", str(pairs), "--features", str(features), "--out", str(matches)]) == 0
    assert "mnn: 4 pairs matched" in capsys.readouterr().out
    assert io.pair_names(matches) == sorted(io.names_to_pair(*p) for p in sequential_pairs(READABLE, 1))


def test_command_line_errors(folder, sift_file, tmp_path, capsys):
    assert main(["extract", str(folder), "--feature", "orb", "--out", str(sift_file)]) == 1
    assert "holds results of feature 'sift', not 'orb'" in capsys.readouterr().err
    assert main(["extract", str(tmp_path / "none"), "--out", str(tmp_path / "f.h5")]) == 1
    assert "image folder" in capsys.readouterr().err
    assert main(["match", str(tmp_path / "none.txt"), "--features", str(sift_file), "--out", str(tmp_path / "m")]) == 1
    assert "none.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["match", "p.txt", "--features", "f.h5", "--out", "m.h5", "--matcher", "nope"])
    assert "unknown matcher 'nope'" in capsys.readouterr().err



def test_match_takes_a_lightglue_weight_file_of_the_right_feature(sift_file, tmp_path):
    import torch

    from cvlearned.matchers.config import make_config
    from cvlearned.matchers.lightglue import LightGlueNet

    weights = tmp_path / "untrained.pt"
    torch.save(LightGlueNet(make_config({"descriptor_dim": 128})).state_dict(), weights)
    pairs = [tuple(io.feature_names(sift_file)[:2])]
    report = match_pairs(sift_file, pairs, tmp_path / "m.h5", f"lightglue:{weights}")
    assert report.matched == 1
    assert create_file_matcher("ratio", tmp_path / "m.h5")[1] is False  # plain: any file
    with pytest.raises(ValueError, match="does not record its feature"):
        create_file_matcher(f"lightglue:{weights}", tmp_path / "m.h5")
