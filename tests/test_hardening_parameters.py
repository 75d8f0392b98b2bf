"""Parameters at and beyond their bounds (issue 22): ``create`` raises ValueError/TypeError, or
the feature answers validly and in bounded time on a 120x160 image — never a crash, a
runaway, or another exception type at first use. Classical features try every parameter at
every value of :data:`VALUES`; all features then try hypothesis-drawn pairs.

Every feature's fuzz runs in one child process (:mod:`isolated`); run as a script, this file
is that child: it prints each case to stderr before running it (the parent shows the last).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from typing import Any

import pytest

import cvlearned
from cvlearned.config import MAX_INT_PARAM
from cvlearned.registry import feature_spec

#: a detectAndCompute on 120x160 slower than this is a runaway parameter (the probe's took minutes)
MAX_SECONDS = 20.0
#: fields that name files, objects or devices rather than ranges
NOT_RANGES = ("weights", "orinet_weights", "detector", "device", "preset")
#: the probe's parameters that crashed, ran away or raised the wrong exception type
ISSUE_CASES = {
    "kaze": [{"n_octaves": 16}, {"n_octaves": 15}],
    "sift": [{"sigma": 1e6}, {"sigma": math.inf}, {"max_keypoints": 2 ** 31}],
    "daisy": [{"radius": 1e7}, {"sigma": 1e6}],
    "orb": [{"max_keypoints": 10 ** 9}, {"max_keypoints": 2 ** 31}, {"n_levels": 32}],
    "brisk": [{"n_octaves": 16}, {"n_octaves": 8}],
    "ucn": [{"grid_step": 10 ** 30}], "ucn-lite": [{"grid_step": 10 ** 30}], "ucn-lite-nost": [{"grid_step": 10 ** 30}],
}
VALUES = [0, 1, -1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 21, 31, 32, 33, 64, 65, 100, 255, 256, 500, 501, 1000, 4096,
          10 ** 6, 10 ** 6 + 1, 10 ** 9, 2 ** 31 - 1, 2 ** 31, 10 ** 30, 0.0, 0.001, 0.5, 1.0001, 1.5, 4.0, 4.5, 10.0,
          20.0, 20.5, 100.0, 1e6, 1e7, 1e30, math.inf, -math.inf, math.nan, True, None, "", "x"]


# ---------------------------------------------------------------- the child
def _fuzz(name: str, max_examples: int) -> dict:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from fuzz_contract import HEIGHT, WIDTH, check_result, textured_image

    fields = [f.name for f in dataclasses.fields(cvlearned.create(name).config) if f.name not in NOT_RANGES]
    gray = textured_image()

    def attempt(params: dict[str, Any]) -> None:
        print(f"{name} create {params}", file=sys.stderr, flush=True)
        try:
            feature = cvlearned.create(name, **params)
            start = time.perf_counter()
            result = feature.detectAndCompute(gray, None)
        except (ValueError, TypeError):
            return
        seconds = time.perf_counter() - start
        assert seconds < MAX_SECONDS, f"{params} took {seconds:.1f} s on {WIDTH}x{HEIGHT}"
        check_result(feature, result, gray.shape)

    for params in ISSUE_CASES.get(name, []):
        attempt(params)
    if feature_spec(name).kind == "classical":  # every field at every value: 2-4 s (learned: minutes)
        for field in fields:
            for value in VALUES:
                attempt({field: value})

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(params=st.dictionaries(st.sampled_from(fields),
                                  st.one_of(st.sampled_from(VALUES), st.integers(-10, 10 ** 4), st.floats(-10, 1e4)),
                                  min_size=1, max_size=2))
    def fuzz(params: dict[str, Any]) -> None:
        attempt(params)

    fuzz()
    return {"feature": name, "examples": max_examples}


# ------------------------------------------------------------ in the parent
@pytest.mark.parametrize("name", cvlearned.list_features())
def test_fuzzed_parameters_in_a_child_process(name):
    from isolated import run_isolated

    assert run_isolated(__file__, name, "25", timeout=600) == {"feature": name, "examples": 25}


@pytest.mark.parametrize("name, params", [
    ("kaze", {"n_octaves": 16}), ("kaze", {"n_octaves": 9}), ("sift", {"sigma": 1e6}), ("sift", {"sigma": 20.5}),
    ("sift", {"sigma": math.inf}), ("sift", {"max_keypoints": 2 ** 31}), ("daisy", {"radius": 1e7}),
    ("daisy", {"radius": 501}), ("orb", {"max_keypoints": 10 ** 9}), ("orb", {"max_keypoints": 10 ** 6 + 1}),
    ("brisk", {"n_octaves": 16}), ("ucn-lite", {"grid_step": 10 ** 30}),
])
def test_issue_parameters_are_refused_at_create(name, params):
    """Refused by the range check itself, with the parameter named (not at first use)."""
    with pytest.raises(ValueError, match=next(iter(params))):
        cvlearned.create(name, **params)


@pytest.mark.parametrize("name, params", [("orb", {"n_levels": 32}), ("brisk", {"n_octaves": 8})])
def test_parameters_too_big_for_the_image_raise_value_error(name, params):
    """Pyramids deeper than the image allows: OpenCV's cv2.error becomes a ValueError naming it."""
    from fuzz_contract import textured_image

    feature = cvlearned.create(name, **params)
    with pytest.raises(ValueError, match="cannot process a 160x120 image"):
        feature.detectAndCompute(textured_image(), None)
    assert feature.detect(textured_image(1200, 1600))  # fine on a larger image


@pytest.mark.parametrize("value, ok", [(MAX_INT_PARAM, True), (MAX_INT_PARAM + 1, False), (0, False)])
def test_counts_fit_a_c_int(value, ok):
    if ok:
        assert cvlearned.create("sift", max_keypoints=value).getParams()["max_keypoints"] == value
    else:
        with pytest.raises(ValueError, match=r"max_keypoints must be None \(no limit\) or an int in \[1, 2147483647\]"):
            cvlearned.create("sift", max_keypoints=value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_refused_even_without_an_upper_bound(value):
    with pytest.raises(ValueError, match="detection_threshold must be a finite number"):
        cvlearned.create("sift", detection_threshold=value)


if __name__ == "__main__":
    print(json.dumps(_fuzz(sys.argv[1], int(sys.argv[2]))))
