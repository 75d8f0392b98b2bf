"""read() of crafted parameter files: every bad file raises ValueError/TypeError and leaves
the feature exactly as it was (same getParams(), same detectAndCompute output).

The crafted files go through OpenCV's FileStorage parser and each feature's _configure, so
each feature's cases run in one child process (:mod:`isolated`): a crash fails the cases
instead of killing the test run. Run as a script, this file is that child.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import pytest

#: (case id, stored text, regex the message must contain or None) valid for every feature
COMMON_CASES = [
    ("unparsable-yaml", "max_keypoints: [1,\n b: {", "cannot parse"),
    ("list-float", "detection_threshold: [1, 2]", "single value"),
    ("map-float", "detection_threshold: {a: 1}", "single value"),
    ("list-int", "max_keypoints: [1]", "single value"),
    ("fraction-int", "max_keypoints: 2.7", "integral"),
    ("string-int", "max_keypoints: '12'", "integral"),
    ("null", "max_side: null", "single value"),
    ("inf-int", "max_keypoints: .inf", "integral"),
    ("minus-inf-int", "max_side: -.inf", "integral"),
    ("nan-float", "detection_threshold: .nan", "finite|integral"),
    ("inf-float", "detection_threshold: .inf", "finite|integral"),
    ("huge-int", "max_keypoints: 2147483648", "integral"),
    ("huger-int", "max_side: 99999999999999999999999", "integral"),
    ("negative-huge-int", "max_keypoints: -2147483649", "integral"),
    ("out-of-range", "max_keypoints: -1", "max_keypoints"),
    ("zero-side", "max_side: 0", "max_side"),
    ("none-marker-not-optional", "detection_threshold: __none__", "detection_threshold"),
    ("unknown-key", "max_keypoints: 100\nno_such_key: 1", r"unknown key.*no_such_key.*valid keys"),
    ("only-unknown-keys", "no_such_key: 1", "no .* parameters found"),
    ("other-feature", "name: Feature2D.Other\nmax_keypoints: 5", "parameters are for 'Feature2D.Other'"),
    ("name-not-string", "name: 5\nmax_keypoints: 5", "parameters are for 5"),
    ("top-level-list", "- 1\n- 2", None),
    ("unparsable-xml", "", "cannot parse"),
    ("unparsable-json", "", "cannot parse"),
    ("binary", "", "cannot parse|cannot open"),
]
#: cases whose file is not a YAML body: case id → (suffix, whole file content)
RAW_FILES = {
    "unparsable-xml": (".xml", b'<?xml version="1.0"?>\n<opencv_storage><max_keypoints>1</b></opencv_storage>'),
    "unparsable-json": (".json", b'{"max_keypoints": [1,'),
    "binary": (".yml", bytes(range(256)) * 4),
}
#: cases for the torch features (HardNet, SuperPoint, UCN)
NETWORK_CASES = [
    ("bogus-device", "device: bogus", r"unknown device 'bogus'.*cuda:N"),
    ("gpu-device", "device: gpu", "valid devices"),
    ("missing-weights", "weights: /nonexistent/w.pt", "not found"),
    ("preset-int", "preset: 3", "preset must be a string"),
]
#: cases for the features with a ``detector`` parameter (HardNet, UCN)
DETECTOR_CASES = [
    ("detector-int", "detector: 7", "detector must be stored as"),
    ("detector-list", "detector: [1]", "single value"),
]
HARDNET_CASES = DETECTOR_CASES + [
    ("learned-orientation-bad-orinet", "orientation: learned\norinet_weights: /nonexistent/o.pt", "not found"),
    ("unknown-orientation", "orientation: sideways", "orientation"),
    ("custom-detector-not-held", "detector: Feature2D.FastFeatureDetector", "custom detector"),
]
UCN_CASES = DETECTOR_CASES + [("unknown-detector", "detector: fast", "custom detector")]
FEATURES = {
    "sift": COMMON_CASES, "orb": COMMON_CASES, "brisk": COMMON_CASES, "kaze": COMMON_CASES,
    "akaze": COMMON_CASES, "daisy": COMMON_CASES,
    "hardnet-lite": COMMON_CASES + NETWORK_CASES + HARDNET_CASES,
    "superpoint-lite": COMMON_CASES + NETWORK_CASES,
    "ucn-lite": COMMON_CASES + NETWORK_CASES + UCN_CASES,
}
LEARNED = ("hardnet-lite", "superpoint-lite", "ucn-lite")


# ------------------------------------------------------------------------ child process
def _create(name: str):
    import cvlearned

    return cvlearned.create(name, device="cpu") if name in LEARNED else cvlearned.create(name)


def _image():
    import cv2
    import numpy as np

    noise = (np.random.default_rng(0).random((96, 128)) * 255).astype(np.uint8)
    return cv2.GaussianBlur(noise, (5, 5), 1.5)


def _output(feature, image) -> tuple:
    keypoints, desc = feature.detectAndCompute(image, None)
    points = [(k.pt, k.size, k.angle, k.response, k.octave) for k in keypoints]
    return points, None if desc is None else desc.tolist()


def _probe(name: str) -> dict[str, dict]:
    """Case id → {error type, is ValueError/TypeError, message, params unchanged, output unchanged}."""
    feature, image = _create(name), _image()
    params, output = feature.getParams(), _output(feature, image)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, text, _ in FEATURES[name]:
            suffix, content = RAW_FILES.get(case, (".yml", f"%YAML:1.0\n---\n{text}\n".encode()))
            path = Path(tmp) / f"{case}{suffix}"
            path.write_bytes(content)
            error = None
            try:
                feature.read(str(path))
            except Exception as exc:  # noqa: BLE001 (recorded and judged by the parent)
                error = exc
            results[case] = {
                "error": None if error is None else type(error).__name__,
                "clear": isinstance(error, (ValueError, TypeError)),
                "message": str(error),
                "params_unchanged": feature.getParams() == params,
                "output_unchanged": _output(feature, image) == output,
            }
    return results


# ------------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def probed():
    from isolated import run_isolated

    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = run_isolated(__file__, name)
        return cache[name]

    return get


@pytest.mark.parametrize(
    ("name", "case", "pattern"),
    [(name, case, pattern) for name, cases in FEATURES.items() for case, _, pattern in cases],
)
def test_bad_file_raises_and_changes_nothing(probed, name, case, pattern):
    result = probed(name)[case]
    assert result["clear"], f"{case}: {result['error']} is not a ValueError/TypeError: {result['message']}"
    if pattern is not None:
        assert re.search(pattern, result["message"]), result["message"]
    assert result["params_unchanged"], f"{case}: getParams() changed by a failed read()"
    assert result["output_unchanged"], f"{case}: detectAndCompute output changed by a failed read()"


def _stored(tmp_path: Path, text: str) -> str:
    path = tmp_path / "params.yml"
    path.write_text(f"%YAML:1.0\n---\n{text}\n", encoding="utf-8")
    return str(path)


def test_read_converts_to_the_declared_types(tmp_path):
    import cvlearned

    kaze = cvlearned.create("kaze")
    kaze.read(_stored(tmp_path, "max_keypoints: 200.0\nextended: true\nupright: 1\ndetection_threshold: 1"))
    params = kaze.getParams()
    assert params["max_keypoints"] == 200 and type(params["max_keypoints"]) is int
    assert params["extended"] is True and params["upright"] is True
    assert params["detection_threshold"] == 1.0 and type(params["detection_threshold"]) is float
    kaze.read(_stored(tmp_path, "max_keypoints: __none__\nextended: 'False'"))
    assert kaze.getParams()["max_keypoints"] is None and kaze.getParams()["extended"] is False
    with pytest.raises(ValueError, match="extended must be 0, 1, true or false, got 2"):
        kaze.read(_stored(tmp_path, "extended: 2"))


def test_read_keeps_keys_the_file_lacks(tmp_path):
    import cvlearned

    sift = cvlearned.create("sift", max_keypoints=50, sigma=1.4)
    sift.read(_stored(tmp_path, "max_keypoints: 70"))
    assert sift.getParams()["max_keypoints"] == 70 and sift.getParams()["sigma"] == 1.4


def test_read_rejects_what_is_not_a_file_or_node(tmp_path):
    import cv2

    import cvlearned

    sift = cvlearned.create("sift")
    with pytest.raises(TypeError, match="FileNode, cv2.FileStorage or path"):
        sift.read(123)
    with pytest.raises(ValueError, match="cannot open"):
        sift.read(str(tmp_path / "missing.yml"))
    storage = cv2.FileStorage(_stored(tmp_path, "max_keypoints: [1, 2]"), cv2.FILE_STORAGE_READ)
    with pytest.raises(ValueError, match="no Feature2D.SIFT parameters found"):
        sift.read(storage.getNode("max_keypoints"))  # a sequence node, not the map of parameters


def test_concurrent_detect_sees_the_old_or_the_new_state(tmp_path):
    import threading

    import cvlearned

    image = _image()
    files, references = [], []
    for i, count in enumerate((20, 60)):
        writer = cvlearned.create("sift", max_keypoints=count, detection_threshold=0.01)
        files.append(str(tmp_path / f"p{i}.yml"))
        writer.write(files[-1])
        references.append(_output(writer, image))
    feature = cvlearned.create("sift")
    feature.read(files[0])
    seen, stop = [], threading.Event()

    def detect() -> None:
        while not stop.is_set():
            seen.append(_output(feature, image))

    worker = threading.Thread(target=detect)
    worker.start()
    for i in range(60):
        feature.read(files[i % 2])
    stop.set()
    worker.join()
    assert seen and all(result in references for result in seen)


if __name__ == "__main__":
    print(json.dumps(_probe(sys.argv[1])))
