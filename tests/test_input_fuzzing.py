"""Hypothesis fuzzing of image and mask inputs: every feature either answers with the
contract's types or raises a clear ValueError/TypeError — never crashes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cvlearned

DTYPES = [np.uint8, np.uint16, np.int8, np.int16, np.int32, np.float16, np.float32, np.float64, np.bool_, np.complex64]
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=48),
    st.tuples(st.integers(1, 48), st.integers(1, 48), st.sampled_from([1, 2, 3, 4, 5])),
)

def _filled(shape: tuple[int, ...], dtype: type, fill: float) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        return np.full(shape, fill).astype(dtype)


images = st.one_of(
    st.none(),
    st.just([]),
    st.text(max_size=5),
    st.builds(lambda shape, dtype, fill: _filled(shape, dtype, fill), SHAPES, st.sampled_from(DTYPES),
              st.sampled_from([0, 1, 0.5, 255, 65535, -1, np.nan, np.inf])),
    hnp.arrays(np.float32, SHAPES, elements=st.floats(0, 1, width=32)),
    hnp.arrays(np.uint8, SHAPES),
)


def _check_result(feature, result) -> None:
    keypoints, desc = result
    assert isinstance(keypoints, tuple)
    if desc is None:
        assert len(keypoints) == 0
    else:
        assert desc.shape == (len(keypoints), feature.descriptorSize())


@pytest.mark.parametrize("name", cvlearned.list_features())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images)
def test_fuzzed_images_raise_clear_errors_only(name, image):
    feature = cvlearned.create(name)
    try:
        result = feature.detectAndCompute(image, None)
    except (ValueError, TypeError):
        return
    if isinstance(image, list):  # the list form: one result per image, none here
        assert result == ((), ())
        return
    _check_result(feature, result)


@pytest.mark.parametrize("name", cvlearned.list_features())
@settings(max_examples=25, deadline=None)
@given(mask=st.one_of(st.none(), hnp.arrays(st.sampled_from([np.uint8, np.bool_, np.float32, np.int64]),
                                            hnp.array_shapes(min_dims=1, max_dims=3, max_side=70))))
def test_fuzzed_masks_raise_clear_errors_only(name, mask):
    feature = cvlearned.create(name)
    image = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (48, 64), dtype=np.uint8), (0, 0), 1.5)
    try:
        result = feature.detectAndCompute(image, mask)
    except (ValueError, TypeError):
        return
    _check_result(feature, result)


@pytest.mark.parametrize("name", cvlearned.list_features())
@settings(max_examples=25, deadline=None)
@given(points=st.lists(st.tuples(st.one_of(st.floats(-50, 120), st.just(np.nan)), st.floats(-50, 120),
                                 st.one_of(st.floats(0.1, 80), st.just(np.inf)), st.integers(-2, 40)), max_size=12))
def test_fuzzed_keypoints_raise_clear_errors_only(name, points):
    feature = cvlearned.create(name)
    image = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 255, (64, 80), dtype=np.uint8), (0, 0), 1.5)
    keypoints = [cv2.KeyPoint(x, y, s, -1, 0, 0, c) for x, y, s, c in points]
    try:
        result = feature.compute(image, keypoints)
    except (ValueError, TypeError):
        return
    _check_result(feature, result)
