"""The list form of detectAndCompute runs network features in batches of equal-size images:
results equal image-by-image calls within float rounding (the same keypoints, positions
within 1e-3 px, responses and descriptors within 1e-5), for every size mix and with masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import cvlearned
from cvlearned.folder_extraction import extract_folder
from cvlearned import io
from cvlearned.models.network_feature import same_size_batches
from cvlearned.models.xfeat import XFeat, build_net
from cvlearned.training.common.run_state import export_weights


def _image(seed: int, shape: tuple[int, int]) -> np.ndarray:
    noise = (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 2.0), None, 0, 255, cv2.NORM_MINMAX)


@pytest.fixture(scope="module")
def xfeat_random(tmp_path_factory) -> XFeat:
    torch.manual_seed(0)
    path = export_weights(build_net(), tmp_path_factory.mktemp("w") / "xfeat.pt")
    return XFeat(weights=str(path), device="cpu", detection_threshold=0.01, max_keypoints=300)


def _features(xfeat_random):
    return {"superpoint-lite": cvlearned.create("superpoint-lite", device="cpu", max_keypoints=300),
            "xfeat-random": xfeat_random}


def test_same_size_batches_groups_in_order_and_caps_pixels() -> None:
    grays = [np.zeros(s, np.uint8) for s in [(4, 4), (2, 8), (4, 4), (4, 4), (2, 8)]]
    assert same_size_batches(grays) == [[0, 2, 3], [1, 4]]
    assert same_size_batches(grays, max_pixels=32) == [[0, 2], [3], [1, 4]]
    assert same_size_batches(grays, max_pixels=1) == [[0], [2], [3], [1], [4]]


@pytest.mark.parametrize("name", ["superpoint-lite", "xfeat-random"])
def test_list_equals_image_by_image(name, xfeat_random) -> None:
    feature = _features(xfeat_random)[name]
    images = [_image(0, (120, 160)), _image(1, (96, 136)), _image(2, (120, 160)), _image(3, (120, 160))]
    mask = np.zeros((120, 160), np.uint8)
    mask[:, 40:] = 255
    masks = [None, None, mask, None]
    batched_kps, batched_desc = feature.detectAndCompute(images, masks)
    for image, m, kps, desc in zip(images, masks, batched_kps, batched_desc):
        single_kps, single_desc = feature.detectAndCompute(image, m)
        assert len(kps) == len(single_kps) > 10
        np.testing.assert_allclose([k.pt for k in kps], [k.pt for k in single_kps], atol=1e-3)
        np.testing.assert_allclose([k.response for k in kps], [k.response for k in single_kps], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(desc, single_desc, atol=1e-5)
    assert all(k.pt[0] >= 40 for k in batched_kps[2])


def test_extract_batched_equals_image_by_image(tmp_path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"{i}.png"), _image(i, (120, 160) if i != 3 else (100, 140)))
    (folder / "broken.png").write_bytes(b"not an image")
    single, batched = tmp_path / "single.h5", tmp_path / "batched.h5"
    extract_folder(folder, "superpoint-lite", single, device="cpu")
    report = extract_folder(folder, "superpoint-lite", batched, device="cpu", batch_size=3)
    assert sorted(report.extracted) == [f"{i}.png" for i in range(5)] and list(report.failed) == ["broken.png"]
    for i in range(5):
        kps_a, desc_a, size_a = io.read_features(single, f"{i}.png")
        kps_b, desc_b, size_b = io.read_features(batched, f"{i}.png")
        assert size_a == size_b and len(kps_a) == len(kps_b)
        np.testing.assert_allclose([k.pt for k in kps_a], [k.pt for k in kps_b], atol=1e-3)
        np.testing.assert_allclose(desc_a, desc_b, atol=1e-5)


@pytest.mark.parametrize("batch_size", [0, 2.0, True])
def test_extract_rejects_bad_batch_size(tmp_path, batch_size) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), _image(0, (40, 40)))
    with pytest.raises(ValueError, match="batch_size"):
        extract_folder(tmp_path, "sift", tmp_path / "f.h5", batch_size=batch_size)
