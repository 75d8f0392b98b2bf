"""Torch tensor images (kornia layout) give exactly the results of the same numpy images,
for every registered feature."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

import cvlearned
from isolated import REPO

HEIGHT, WIDTH = 96, 128


@pytest.fixture(scope="module", params=cvlearned.list_features())
def feature(request: pytest.FixtureRequest) -> cvlearned.Feature2D:
    return cvlearned.create(request.param)


@pytest.fixture(scope="module")
def gray(photo_gray: np.ndarray) -> np.ndarray:
    """The conftest photo at (HEIGHT, WIDTH): every feature finds keypoints on both halves."""
    return cv2.resize(photo_gray, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def other(gray: np.ndarray) -> np.ndarray:
    """A second, different image of the same size."""
    return np.ascontiguousarray(gray[:, ::-1])


@pytest.fixture(scope="module")
def left_half() -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[:, : WIDTH // 2] = 255
    return mask


def _unit(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) → float32 (H, W) tensor in [0, 1] that the numpy rule rounds back to ``image``."""
    return torch.from_numpy(image).float() / 255.0


def _assert_same_keypoints(a, b) -> None:
    assert len(a) == len(b)
    for ka, kb in zip(a, b):
        assert (ka.pt, ka.size, ka.angle, ka.response, ka.octave) == (kb.pt, kb.size, kb.angle, kb.response, kb.octave)


def _assert_same(result, reference) -> None:
    """Equal (keypoints, descriptors) answers: keypoint fields and descriptors bit for bit."""
    _assert_same_keypoints(result[0], reference[0])
    if reference[1] is None:
        assert result[1] is None
    else:
        assert result[1].dtype == reference[1].dtype and np.array_equal(result[1], reference[1])


def _assert_same_batch(result, reference) -> None:
    """Equal list-form answers: (keypoint tuples, descriptor tuples)."""
    assert isinstance(result, tuple) and len(result) == 2 and len(result[0]) == len(reference[0])
    for kps, desc, ref_kps, ref_desc in zip(*result, *reference):
        _assert_same((kps, desc), (ref_kps, ref_desc))


@pytest.mark.parametrize(
    "to_tensor",
    [torch.from_numpy, lambda im: _unit(im)[None], lambda im: _unit(im).double().requires_grad_()],
    ids=["uint8-HW", "float-1HW", "float64-grad-HW"],
)
def test_one_image_tensor_equals_numpy(feature, gray, to_tensor):
    reference = feature.detectAndCompute(gray, None)
    assert reference[0], "the test image must give keypoints"
    image = to_tensor(gray)
    _assert_same(feature.detectAndCompute(image, None), reference)
    _assert_same_keypoints(feature.detect(image), feature.detect(gray))
    _assert_same(feature.compute(image, reference[0]), feature.compute(gray, reference[0]))


def test_batch_tensor_equals_list_form(feature, gray, other):
    batch = torch.stack([_unit(gray), _unit(other)])[:, None]  # (2, 1, H, W)
    reference = feature.detectAndCompute([gray, other], None)
    _assert_same_batch(feature.detectAndCompute(batch, None), reference)
    detected = feature.detect(batch)
    assert isinstance(detected, tuple) and len(detected) == 2
    for kps, ref in zip(detected, feature.detect([gray, other])):
        _assert_same_keypoints(kps, ref)
    _assert_same_batch(feature.compute(batch, reference[0]), feature.compute([gray, other], reference[0]))


def test_rgb_tensor_is_converted_with_opencv_rgb2gray(feature, gray, other):
    rgb = np.dstack([gray, other, 255 - gray])  # (H, W, 3), channels differ
    reference = feature.detectAndCompute(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), None)
    chw = torch.from_numpy(rgb).permute(2, 0, 1)  # (3, H, W), kornia's RGB order
    _assert_same(feature.detectAndCompute(chw, None), reference)
    batch = (chw.float() / 255.0)[None]  # (1, 3, H, W) float
    _assert_same_batch(feature.detectAndCompute(batch, None), ((reference[0],), (reference[1],)))


def test_numpy_masks_work_with_tensor_images(feature, gray, other, left_half):
    reference = feature.detectAndCompute(gray, left_half)
    assert len(reference[0]) < len(feature.detect(gray))
    _assert_same(feature.detectAndCompute(_unit(gray)[None], left_half), reference)
    _assert_same_keypoints(feature.detect(torch.from_numpy(gray), left_half), feature.detect(gray, left_half))
    batch = torch.from_numpy(np.stack([gray, other]))[:, None]
    masks = [left_half, None]
    _assert_same_batch(feature.detectAndCompute(batch, masks), feature.detectAndCompute([gray, other], masks))
    for kps, ref in zip(feature.detect(batch, masks=masks), feature.detect([gray, other], masks=masks)):
        _assert_same_keypoints(kps, ref)
    with pytest.raises(ValueError, match="one entry per image"):
        feature.detectAndCompute(batch, [left_half])


BAD_TENSORS = [
    (lambda: torch.rand(2, 2, HEIGHT, WIDTH), ValueError, r"\(B, C, H, W\) with C = 1 \(gray\) or 3"),
    (lambda: torch.rand(1, 1, 1, HEIGHT, WIDTH), ValueError, r"got \(1, 1, 1, 96, 128\)"),
    (lambda: torch.rand(HEIGHT, WIDTH, 3), ValueError, "C = 1"),
    (lambda: torch.rand(WIDTH), ValueError, "must have shape"),
    (lambda: torch.rand(1, HEIGHT, WIDTH) * 255.0, ValueError, r"\[0, 1\].*divide by 255"),
    (lambda: torch.rand(1, HEIGHT, WIDTH) - 0.5, ValueError, r"\[0, 1\]"),
    (lambda: torch.full((HEIGHT, WIDTH), float("nan")), ValueError, "NaN"),
    (lambda: torch.zeros(HEIGHT, WIDTH, dtype=torch.int64), TypeError, "torch.int64; supported: torch.uint8"),
    (lambda: torch.zeros(HEIGHT, WIDTH, dtype=torch.bool), TypeError, "torch.bool"),
    (lambda: torch.zeros(1, 0, WIDTH), ValueError, "empty"),
]


@pytest.mark.parametrize("make,error,message", BAD_TENSORS, ids=[f"bad{i}" for i in range(len(BAD_TENSORS))])
def test_bad_tensors_raise_clear_errors(feature, make, error, message):
    image = make()
    with pytest.raises(error, match=message):
        feature.detectAndCompute(image, None)
    with pytest.raises(error, match=message):
        feature.detect(image)
    with pytest.raises(error, match=message):
        feature.compute(image, [cv2.KeyPoint(5.0, 5.0, 8.0)])


def test_float_out_of_range_in_a_batch_is_rejected(feature, gray):
    batch = torch.stack([_unit(gray), _unit(gray) * 2.0])[:, None]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        feature.detectAndCompute(batch, None)


def test_bfloat16_tensor_follows_the_float_rule(gray):
    feature = cvlearned.create("sift")
    image = _unit(gray).bfloat16()
    expected = np.round(image.float().numpy() * 255.0).astype(np.uint8)
    _assert_same(feature.detectAndCompute(image, None), feature.detectAndCompute(expected, None))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_equals_numpy(gray):
    feature = cvlearned.create("sift")
    _assert_same(feature.detectAndCompute(_unit(gray)[None].cuda(), None), feature.detectAndCompute(gray, None))


def test_classical_features_do_not_import_torch():
    code = (
        "import sys, numpy as np, cvlearned\n"
        "cvlearned.create('sift').detectAndCompute(np.zeros((32, 32), np.uint8), None)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
