"""Every shipped learned matcher: registered from the manifest, pinned on a generated set
within its measured noise (its model card records value and noise), and the same matches in
OpenCV 5.1's ``cv2.LightGlueMatcher`` running our ONNX export as in PyTorch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from regression_sets import bundled_matcher_samples, recorded_value

import cvlearned
from cvlearned.synthetic.homography import make_homography_pairs
from cvlearned.synthetic.photos import bundled_photo
from cvlearned.weight_files import load_manifest, shipped_file

torch = pytest.importorskip("torch")

from cvlearned.training.matcher.train_matcher import evaluate  # noqa: E402

MATCHER_RECORDS = {entry.model: entry for entry in load_manifest().values() if entry.family == "lightglue"}
SHIPPED = sorted(MATCHER_RECORDS)
PAIR_SIZE, N_KEYPOINTS = (512, 384), 512  # the training pairs' size and keypoint count


def _feature_name(matcher_name: str) -> str:
    return MATCHER_RECORDS[matcher_name].feature


def _card(matcher_name: str) -> str:
    return MATCHER_RECORDS[matcher_name].model_card


def test_every_matcher_weight_file_in_the_manifest_is_registered():
    assert SHIPPED == cvlearned.list_matchers("learned")
    for name in SHIPPED:
        entry = MATCHER_RECORDS[name]
        assert name == f"{entry.matcher_preset}-{entry.feature}" and entry.feature in cvlearned.list_features()
        assert shipped_file(name) == entry.file


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_matcher_precision_and_recall_within_measured_noise(name):
    torch.set_num_threads(1)
    matcher = cvlearned.create_matcher(name)
    measured = evaluate(matcher.net, bundled_matcher_samples(cvlearned.create(_feature_name(name))))
    card = _card(name)
    for key in ("precision", "recall"):
        recorded = recorded_value(card, f"regression_{key}_bundled")
        noise = recorded_value(card, f"regression_{key}_sd")
        assert abs(measured[f"val_{key}"] - recorded) <= 2 * noise, (name, key, measured, recorded, noise)


@pytest.mark.skipif(not hasattr(cv2, "LightGlueMatcher_create"), reason="cv2.LightGlueMatcher needs OpenCV >= 5.1")
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_matcher_in_opencv_lightglue_equals_pytorch(name, tmp_path):
    pytest.importorskip("onnx")
    from cvlearned.adapters.onnx_matcher import export_matcher_onnx

    matcher = cvlearned.create_matcher(name, depth_confidence=-1, width_confidence=-1)
    path = str(export_matcher_onnx(matcher, tmp_path / f"{name}.onnx"))
    feature = cvlearned.create(_feature_name(name), max_keypoints=N_KEYPOINTS)
    pair = make_homography_pairs(photos=[("astronaut", bundled_photo("astronaut"))], n_pairs=1,
                                 size=PAIR_SIZE, seed=1)[0]
    (k0, d0), (k1, d1) = (feature.detectAndCompute(image, None) for image in (pair.image0, pair.image1))
    ours = matcher.match(k0, d0, k1, d1, PAIR_SIZE, PAIR_SIZE)
    assert len(ours) > 100, "a trained matcher finds many matches on this pair"
    opencv = cv2.LightGlueMatcher_create(path, matcher.config.filter_threshold)
    opencv.setPairInfo(cv2.KeyPoint.convert(k0), cv2.KeyPoint.convert(k1), PAIR_SIZE, PAIR_SIZE)
    theirs = {(m.queryIdx, m.trainIdx): m.distance for m in opencv.match(d0, d1)}
    # a match whose confidence is within 1e-4 of the threshold may fall either side of it
    clear = [m for m in ours if abs(1 - m.distance - matcher.config.filter_threshold) > 1e-4]
    assert all((m.queryIdx, m.trainIdx) in theirs for m in clear)
    assert len(theirs) <= len(ours) + sum(abs(1 - d - matcher.config.filter_threshold) <= 1e-4 for d in theirs.values())
    np.testing.assert_allclose([theirs[m.queryIdx, m.trainIdx] for m in clear], [m.distance for m in clear],
                               atol=1e-4)
