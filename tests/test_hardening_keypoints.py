"""compute() on hostile keypoints (issue 22): NaN/inf/huge fields, out-of-image positions, odd
octaves, border keypoints after ``max_side`` downscaling.

Every feature's fuzz runs in one child process (:mod:`isolated`), so a segfault in OpenCV
fails that feature's test instead of killing the run. Run as a script, this file is that
child: it prints each case to stderr before running it (the parent shows the last one).
"""

from __future__ import annotations

import json
import math
import sys

import cv2
import numpy as np
import pytest

import cvlearned
from cvlearned.baselines.sift import in_sift_pyramid
from cvlearned.cv_compat import sift_small_window_crashes
from cvlearned.keypoints import MAX_KEYPOINT_SIZE, describable_keypoints, normalized_angle

NAN, INF = math.nan, math.inf
#: the probe's keypoints (x, y, size, angle, octave) that crashed or were described as zeros
ISSUE_CASES = [
    (80, 64, 31, NAN, 0), (80, 64, 31, INF, 0), (80, 64, 31, -INF, 0),  # ORB segfault, HardNet IndexError
    (50, 60, 10, 1e6, 0), (50, 60, 10, 1e5, 0), (50, 60, 10, -1e5, 0), (50, 60, 10, 1e30, 0),  # SIFT segfault
    (80, 64, 10, 30, -1), (80, 64, 10, 30, 127), (80, 64, 10, 30, 1000),  # SIFT cv2.error
    (1e9, 1e9, 10, 30, 0), (-1e9, 5, 10, 30, 0),  # kept with all-zero descriptors
    (80, 64, 0.0, 30, 0), (80, 64, 1e12, 30, 0),  # zero descriptors (SIFT/AKAZE, KAZE)
    (30, 30, 0.1, 0, 0), (30, 30, 6, 0, 3),  # SIFT abort on OpenCV 4.8-4.10 (small window)
]


# ---------------------------------------------------------------- the child
def _fuzz(name: str, max_examples: int) -> dict:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from fuzz_contract import HEIGHT, WIDTH, check_result, textured_image

    features = {"full": cvlearned.create(name), "downscaled": cvlearned.create(name, max_side=64)}
    gray = textured_image()
    extremes = st.sampled_from([0.0, -0.0, 1e-30, -1.0, -1e9, 1e9, 1e30, -1e30, INF, -INF, NAN])
    positions = st.one_of(st.floats(-5, WIDTH + 5), extremes, st.sampled_from([WIDTH - 1.0, HEIGHT - 1.0, 159.5]))
    sizes = st.one_of(st.floats(0.5, 60), extremes, st.sampled_from([1e-3, 1e6, 3e9, 1e12]))
    angles = st.one_of(st.floats(-720, 1080), extremes, st.sampled_from([-1.0, 359.99999, 360.0, 1e5, -1e5]))
    ints = st.one_of(st.integers(-2 ** 31, 2 ** 31 - 1), st.integers(-3, 300),
                     st.sampled_from([-1, 127, 128, 255, 1000, (1 << 8) | 1, (6 << 8) | 7]))
    fields = st.tuples(positions, positions, sizes, angles, ints, ints)
    settings_ = settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))

    def describe(feature, keypoints: list[cv2.KeyPoint]) -> tuple:
        fields = [(kp.pt, kp.size, kp.angle, kp.octave, kp.class_id) for kp in keypoints]
        print(f"{name} max_side={feature.config.max_side} compute {fields}", file=sys.stderr, flush=True)
        finite = all(math.isfinite(kp.pt[0]) and math.isfinite(kp.pt[1]) for kp in keypoints)
        try:
            result = feature.compute(gray, keypoints)
        except ValueError:
            assert not finite, "ValueError although every position is finite"
            return (), None
        assert finite, "a NaN/inf position was accepted"
        check_result(feature, result, gray.shape)
        given_positions = {kp.pt for kp in keypoints}
        assert all(kp.pt in given_positions for kp in result[0]), "a kept keypoint moved"
        return result

    for feature in features.values():
        for x, y, size, angle, octave in ISSUE_CASES:
            kept, _ = describe(feature, [cv2.KeyPoint(x, y, size, angle, 0.5, octave)])
            if not (0 <= x < WIDTH and 0 <= y < HEIGHT) or not math.isfinite(angle):
                assert not kept, "an undescribable keypoint was kept"

    @settings_
    @given(rows=st.lists(fields, max_size=8), which=st.sampled_from(sorted(features)))
    def fuzz(rows: list[tuple], which: str) -> None:
        describe(features[which], [cv2.KeyPoint(x, y, s, a, 0.5, o, c) for x, y, s, a, o, c in rows])

    @settings_
    @given(turns=st.integers(-2000, 2000), which=st.sampled_from(sorted(features)))
    def angle_modulo_360(turns: int, which: str) -> None:
        feature = features[which]
        reference = describe(feature, [cv2.KeyPoint(50, 60, 10, 30.0)])
        turned = describe(feature, [cv2.KeyPoint(50, 60, 10, 30.0 + 360.0 * turns)])
        assert [kp.angle for kp in turned[0]] == [kp.angle for kp in reference[0]]
        assert np.array_equal(turned[1], reference[1]), f"angle 30 + 360 * {turns} described differently"

    fuzz()
    angle_modulo_360()
    return {"feature": name, "examples": max_examples}


# ------------------------------------------------------------ in the parent
@pytest.mark.parametrize("name", cvlearned.list_features())
def test_fuzzed_keypoints_in_a_child_process(name):
    from isolated import run_isolated

    assert run_isolated(__file__, name, "25", timeout=600) == {"feature": name, "examples": 25}


def test_describable_keypoints_rules():
    keypoints = [
        cv2.KeyPoint(0, 0, 5, -1), cv2.KeyPoint(159, 119, 5, 390), cv2.KeyPoint(159.5, 10, 5, 0),
        cv2.KeyPoint(-0.01, 10, 5, 0), cv2.KeyPoint(10, 10, 0, 0), cv2.KeyPoint(10, 10, -2, 0),
        cv2.KeyPoint(10, 10, INF, 0), cv2.KeyPoint(10, 10, 2 * MAX_KEYPOINT_SIZE, 0), cv2.KeyPoint(10, 10, 5, NAN),
        cv2.KeyPoint(10, 10, 5, -INF), cv2.KeyPoint(10, 10, 5, -90),
    ]
    kept = describable_keypoints(keypoints, (120, 160))
    assert [(kp.pt, kp.angle) for kp in kept] == [((0, 0), -1), ((159, 119), 30), ((10, 10), 270)]
    unsized = describable_keypoints(keypoints, (120, 160, 3), unsized=True)
    assert [kp.size for kp in unsized] == [5, 5, 0, -2, 5]


@pytest.mark.parametrize("angle, expected", [(-1e-30, 0.0), (-0.5, 359.5), (359.99999, 0.0), (360.0, 0.0),
                                             (390.0, 30.0), (-360.0, 0.0), (1e6, 280.0), (-1e5, 80.0)])
def test_normalized_angle_is_float32_exact_in_0_360(angle, expected):
    assert normalized_angle(angle) == expected


def test_sift_octaves_outside_its_pyramid_are_dropped():
    """Measured on OpenCV 5.1: octave -1..floor(log2(min side)), layer <= n_octave_layers + 2."""
    def packed(octave, layer):
        return cv2.KeyPoint(1, 1, 3, 0, 0, (octave & 255) | (layer << 8))

    cases = [packed(o, layer) for o in (-2, -1, 0, 6, 7) for layer in (0, 5, 6)]
    kept = in_sift_pyramid(cases, (120, 160), n_octave_layers=3)
    expected = [(255, 0), (255, 5), (0, 0), (0, 5)] + ([] if sift_small_window_crashes() else [(6, 0), (6, 5)])
    assert [(kp.octave & 255, kp.octave >> 8) for kp in kept] == expected


def test_sift_small_windows_are_dropped_only_where_opencv_aborts():
    """OpenCV 4.8-4.10 abort below a 5 px sampling radius (measured there; opencv/opencv#26139)."""
    sizes_octaves = [(0.5, 0), (1.0, 0), (6.0, 3), (8.0, 3), (0.375, -1), (0.5, -1)]  # radius 2.7 5.3 4.0 5.3 4.0 5.3
    cases = [cv2.KeyPoint(30, 30, size, 0, 0, octave & 255) for size, octave in sizes_octaves]
    kept = in_sift_pyramid(cases, (64, 80), n_octave_layers=3)
    expected = [(1.0, 0), (8.0, 3), (0.5, -1)] if sift_small_window_crashes() else sizes_octaves
    assert [(kp.size, kp.octave if kp.octave < 128 else kp.octave - 256) for kp in kept] == expected


def test_non_finite_positions_raise_and_wrong_types_raise_type_error(photo_gray):
    feature = cvlearned.create("sift")
    with pytest.raises(ValueError, match="non-finite position"):
        feature.compute(photo_gray, [cv2.KeyPoint(10, 10, 5), cv2.KeyPoint(INF, 1, 5)])
    with pytest.raises(TypeError, match=r"keypoints\[1\]"):
        feature.compute(photo_gray, [cv2.KeyPoint(10, 10, 5), (1.0, 2.0)])


@pytest.mark.parametrize("name", cvlearned.list_features())
@pytest.mark.parametrize("shape", [(100, 5000), (5000, 100)])
def test_border_keypoints_survive_downscaling(name, shape):
    """On extreme aspect ratios ``max_side`` keeps what full resolution keeps, at the given positions."""
    h, w = shape
    gray = cv2.resize(cv2.GaussianBlur(np.random.default_rng(3).integers(0, 255, (64, 64), np.uint8), (0, 0), 1),
                      (w, h))
    corners = [(0.0, 0.0), (w - 1.0, h / 2), (w / 2, h - 1.0), (w - 1.0, h - 1.0), (w / 2, 0.0)]
    keypoints = [cv2.KeyPoint(x, y, 12.0, 30.0) for x, y in corners]
    full, _ = cvlearned.create(name, max_side=None).compute(gray, keypoints)
    small, desc = cvlearned.create(name, max_side=1024).compute(gray, keypoints)
    assert sorted(kp.pt for kp in small) == sorted(kp.pt for kp in full)
    assert desc.shape == (len(small), cvlearned.create(name).descriptorSize()) if desc is not None else not small


if __name__ == "__main__":
    print(json.dumps(_fuzz(sys.argv[1], int(sys.argv[2]))))
