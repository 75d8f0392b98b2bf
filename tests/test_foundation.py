"""Registry, configs, image conversion rules, keypoint scaling, device and compat helpers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import cvlearned
from cvlearned.baselines import SIFTConfig
from cvlearned.cv_compat import cv2_attr, has_cv2_attr
from cvlearned.device import resolve_device
from cvlearned.image_input import as_gray_uint8
from cvlearned.keypoints import scale_keypoints, scale_points


def test_registry_lists_and_creates():
    assert {"sift", "daisy", "kaze", "akaze", "orb", "brisk"} <= set(cvlearned.list_features())
    assert set(cvlearned.list_features("classical")) >= {"sift", "orb"}
    assert isinstance(cvlearned.create("SIFT"), cvlearned.Feature2D)
    with pytest.raises(ValueError, match="registered features"):
        cvlearned.create("surf")
    with pytest.raises(ValueError, match="already registered"):
        cvlearned.register("sift", cvlearned.baselines.SIFT, kind="classical", summary="dup")


def test_config_is_frozen_and_validated():
    config = SIFTConfig(max_keypoints=100)
    with pytest.raises(Exception):
        config.max_keypoints = 5  # type: ignore[misc]
    for bad in [dict(max_keypoints=0), dict(max_keypoints=1.5), dict(detection_threshold=-1), dict(max_side=0)]:
        with pytest.raises(ValueError):
            SIFTConfig(**bad)
    with pytest.raises(TypeError, match="either a config"):
        cvlearned.baselines.SIFT(config, max_keypoints=3)


def test_sift_wrapper_is_bit_exact_with_opencv(photo_gray):
    ours = cvlearned.create("sift", max_keypoints=300).detectAndCompute(photo_gray, None)
    theirs = cv2.SIFT_create(300).detectAndCompute(photo_gray, None)
    assert [k.pt for k in ours[0]] == [k.pt for k in theirs[0]]
    assert np.array_equal(ours[1], theirs[1])


def test_image_conversion_rules():
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert as_gray_uint8(gray) is not None and as_gray_uint8(gray).dtype == np.uint8
    assert np.array_equal(as_gray_uint8(gray.astype(np.uint16) * 257), gray)
    assert np.array_equal(as_gray_uint8(gray / 255.0), gray)
    assert np.array_equal(as_gray_uint8(cv2.UMat(gray)), gray)
    with pytest.raises(ValueError, match="divide by 255"):
        as_gray_uint8(gray.astype(np.float32))
    with pytest.raises(ValueError, match="imread"):
        as_gray_uint8(None)
    with pytest.raises(ValueError, match="pixels"):
        as_gray_uint8(np.broadcast_to(np.uint8(0), (20000, 20000)))


def test_keypoint_scaling_follows_pixel_centre_convention():
    # pixel centre 0 of a 2x-upsampled image covers [-0.5, 1.5] → centre 0.5 at scale 2.
    assert np.allclose(scale_points(np.array([[0.0, 0.0]]), 2.0), [[0.5, 0.5]])
    kp = scale_keypoints([cv2.KeyPoint(10, 20, 8, 45, 0.5, 1, 7)], 0.5)[0]
    assert kp.pt == pytest.approx((4.75, 9.75)) and kp.size == 4 and kp.angle == 45 and kp.class_id == 7


def test_max_side_resizes_and_maps_back(photo_gray):
    full = cvlearned.create("sift", max_side=None).detect(photo_gray)
    half = cvlearned.create("sift", max_side=160).detect(photo_gray)
    pts = np.array([k.pt for k in half])
    assert pts[:, 0].max() > 200 and len(half) < len(full)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")


def test_opencv_compat_lookup():
    assert callable(cv2_attr("KAZE_create")) and callable(cv2_attr("SIFT_create"))
    assert has_cv2_attr("AKAZE_DESCRIPTOR_MLDB")
    with pytest.raises(ImportError, match="contrib"):
        cv2_attr("NoSuchThing_create")


def test_import_has_no_torch_side_effects():
    import subprocess
    import sys

    code = ("import torch; before = (torch.get_num_threads(), torch.is_grad_enabled()); import cvlearned; "
            "import logging; assert (torch.get_num_threads(), torch.is_grad_enabled()) == before; "
            "assert not logging.getLogger().handlers")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_feature_is_the_preferred_registered_one():
    from cvlearned.registry import DEFAULT_PREFERENCE

    name = cvlearned.default_feature()
    assert name in cvlearned.list_features()
    assert name == next(n for n in DEFAULT_PREFERENCE if n in cvlearned.list_features())


def test_unique_locations_keeps_the_strongest_per_position_in_order():
    from cvlearned.keypoints import unique_locations

    kps = [cv2.KeyPoint(1.0, 2.0, 4.0, 10.0, 0.125), cv2.KeyPoint(5.0, 5.0, 4.0, -1, 0.375),
           cv2.KeyPoint(1.0, 2.0, 4.0, 200.0, 0.5), cv2.KeyPoint(1.0, 2.0, 8.0, 30.0, 0.25)]
    assert [(k.pt, k.response) for k in unique_locations(kps)] == [((5.0, 5.0), 0.375), ((1.0, 2.0), 0.5)]
    by_size = unique_locations(kps, by_size=True)
    assert [(k.size, k.response) for k in by_size] == [(4.0, 0.375), (4.0, 0.5), (8.0, 0.25)]
    assert unique_locations([]) == ()


def test_sanitize_detected_keeps_the_strongest_per_position_before_the_limit():
    from cvlearned.keypoints import sanitize_detected

    kps = [cv2.KeyPoint(1.0, 2.0, 4.0, 10.0, 0.125), cv2.KeyPoint(5.0, 5.0, 0.0, 400.0, 0.375),
           cv2.KeyPoint(1.0, 2.0, 4.0, 200.0, 0.5), cv2.KeyPoint(float("nan"), 1.0, 4.0, -1, 0.9),
           cv2.KeyPoint(3.0, 3.0, 4.0, -1, 0.25)]
    out = sanitize_detected(kps, (10, 10), None, 7.0, 2, one_per_location=True)
    assert [(k.pt, k.response, k.angle) for k in out] == [((5.0, 5.0), 0.375, 40.0), ((1.0, 2.0), 0.5, 200.0)]
    assert out[0].size == 7.0  # an invalid size becomes the default
    assert len(sanitize_detected(kps, (10, 10), None, 7.0, None)) == 4  # twins kept without the flag
