"""XFeat-family model: network, config, the Feature2D wrapper and its training losses."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from cvlearned.models.xfeat import XFeat, XFeatConfig, build_net, infer_preset
from cvlearned.models.xfeat_net import XFeatNet, count_macs, count_parameters, instance_normalise


def _texture(seed: int = 0, shape: tuple[int, int] = (120, 160)) -> np.ndarray:
    noise = np.random.default_rng(seed).random(shape) * 255
    blurred = cv2.GaussianBlur(noise.astype(np.uint8), (0, 0), 2)
    return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX)


def test_network_shapes_and_size() -> None:
    net = XFeatNet().eval()
    with torch.no_grad():
        logits, desc, rel = net(torch.rand(2, 1, 96, 136))
    assert logits.shape == (2, 65, 12, 17) and desc.shape == (2, 64, 12, 17) and rel.shape == (2, 1, 12, 17)
    assert torch.allclose(desc.norm(dim=1), torch.ones(2, 12, 17), atol=1e-5)
    assert float(rel.min()) >= 0.0 and float(rel.max()) <= 1.0
    assert count_parameters(net) == 657_910  # the paper's 0.66 M
    assert count_macs(net) == 1_310_976_000 == count_macs(net.fuse_batchnorm())  # at 640x480


def test_fuse_batchnorm_keeps_outputs(xfeat_random_file) -> None:
    net = build_net()
    net.load_state_dict(torch.load(xfeat_random_file, weights_only=True))
    net.eval()
    x = torch.rand(1, 1, 64, 80)
    with torch.no_grad():
        before = net(x)
        after = net.fuse_batchnorm()(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    for a, b in zip(before, after):
        assert torch.allclose(a, b, atol=1e-5)


def test_instance_normalise_equals_torch() -> None:
    x = torch.rand(3, 1, 20, 24) * 5 + 2
    assert torch.allclose(instance_normalise(x), torch.nn.InstanceNorm2d(1)(x), atol=1e-5)


def test_infer_preset(xfeat_random_file) -> None:
    assert infer_preset(torch.load(xfeat_random_file, weights_only=True)) == "xfeat-lite"
    assert infer_preset({"conv.weight": torch.zeros(1)}) is None


@pytest.mark.parametrize("params, message", [
    ({"descriptor_dim": 128}, "descriptor_dim must be 64"),
    ({"nms_radius": -1}, "nms_radius"),
    ({"detection_threshold": 1.5}, "detection_threshold"),
    ({"max_keypoints": 0}, "max_keypoints"),
    ({"preset": "xfeat-huge"}, "preset"),
])
def test_config_rejects(params, message) -> None:
    with pytest.raises(ValueError, match=message):
        XFeatConfig(**params)


def test_config_unknown_key_lists_valid() -> None:
    with pytest.raises(TypeError, match="nms_radius"):
        XFeat(weights="unused.pt", nms_radiuss=3)


def test_feature_outputs(xfeat_random_file) -> None:
    feature = XFeat(weights=xfeat_random_file, device="cpu", detection_threshold=0.01)
    assert feature.descriptorSize() == 64 and feature.descriptorType() == cv2.CV_32F
    assert feature.getDefaultName() == "Feature2D.XFeat-Lite"
    image = _texture()
    keypoints, descriptors = feature.detectAndCompute(image, None)
    assert len(keypoints) > 20 and descriptors.shape == (len(keypoints), 64)
    assert np.allclose(np.linalg.norm(descriptors, axis=1), 1.0, atol=1e-5)
    responses = [k.response for k in keypoints]
    assert responses == sorted(responses, reverse=True)
    assert all(k.size == 16.0 and k.angle == -1.0 for k in keypoints)
    # detect + compute equals detectAndCompute
    again, described = feature.compute(image, feature.detect(image))
    assert [k.pt for k in again] == [k.pt for k in keypoints]
    np.testing.assert_allclose(described, descriptors, atol=1e-6)


def test_feature_max_keypoints_and_mask(xfeat_random_file) -> None:
    image = _texture(1)
    feature = XFeat(weights=xfeat_random_file, device="cpu", detection_threshold=0.01, max_keypoints=10)
    keypoints = feature.detect(image)
    every = XFeat(weights=xfeat_random_file, device="cpu", detection_threshold=0.01).detect(image)
    assert len(keypoints) == 10 and [k.pt for k in keypoints] == [k.pt for k in every[:10]]
    mask = np.zeros(image.shape, np.uint8)
    mask[:, :80] = 255
    assert all(k.pt[0] < 80 for k in feature.detect(image, mask))


def test_keypoints_are_scored_heatmap_times_reliability(xfeat_random_file) -> None:
    """The response of a keypoint is its heatmap value times the upsampled reliability (at
    the integer peak: no sub-pixel refinement here)."""
    feature = XFeat(weights=xfeat_random_file, device="cpu", detection_threshold=0.01, refine_radius=0)
    image = _texture(2)
    heat, _, reliability = feature.dense(image)
    for k in feature.detect(image)[:20]:
        x, y = int(k.pt[0]), int(k.pt[1])
        assert k.response == pytest.approx(float(heat[y, x] * reliability[y, x]), rel=1e-5)
        assert float(heat[y, x]) > 0.01


def test_shipped_model_regression_mma3() -> None:
    """The shipped xfeat-lite keeps the MMA@3 its model card records on the bundled set,
    within 2 sd of that value over generated sets."""
    from regression_sets import check_shipped_model_regression

    check_shipped_model_regression("xfeat-lite", device="cpu")
