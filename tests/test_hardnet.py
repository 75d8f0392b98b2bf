"""HardNet: the network, the Feature2D wrapper, weight loading and a regression check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cvlearned
from cvlearned.models.hardnet import PRESETS, HardNet, HardNetConfig, HardNetNet, build_net
from cvlearned.models.factories import registered_presets
from cvlearned.weight_files import WeightsError, load_manifest, weights_dir
from regression_sets import check_shipped_model_regression


@pytest.fixture(scope="module")
def user_weights(tmp_path_factory) -> str:
    torch.manual_seed(0)
    net = build_net("hardnet-lite").eval()
    path = tmp_path_factory.mktemp("w") / "user.pt"
    torch.save(net.state_dict(), path)
    return str(path)


@pytest.mark.parametrize("preset,first_width", [("hardnet", 32), ("hardnet-lite", 16)])
def test_network_output_is_unit_norm_128(preset, first_width):
    net = build_net(preset).eval()
    assert net.features[0].out_channels == first_width
    x = torch.rand(5, 1, 32, 32) * 255
    with torch.no_grad():
        out = net(x)
    assert out.shape == (5, 128)
    assert torch.allclose(out.norm(dim=1), torch.ones(5), atol=1e-5)
    # per-patch standardisation: affine intensity changes do not change the descriptor
    with torch.no_grad():
        assert torch.allclose(net(x * 0.5 + 20), out, atol=1e-4)


def test_architecture_is_l2net():
    convs = [m for m in HardNetNet(1.0).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128, 128, 128]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 2, 1, 1]
    assert convs[-1].kernel_size == (8, 8)
    bns = [m for m in HardNetNet(1.0).modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 7 and not any(b.affine for b in bns)


def test_config_validation():
    with pytest.raises(ValueError, match="descriptor_dim"):
        HardNetConfig(descriptor_dim=64)
    with pytest.raises(ValueError, match="preset"):
        HardNetConfig(preset="nope")
    with pytest.raises(ValueError, match="orientation"):
        HardNetConfig(orientation="sideways")
    with pytest.raises(TypeError, match="valid parameters"):
        cvlearned.HardNet_create(no_such=1)


def test_user_weights_file_is_loaded(user_weights, photo_bgr):
    feat = cvlearned.HardNet_create(weights=user_weights, device="cpu")
    assert not feat.empty() and feat.to("cpu") is feat
    reference = build_net("hardnet-lite").eval()
    reference.load_state_dict(torch.load(user_weights, weights_only=True))
    for a, b in zip(feat.net.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
    keypoints, desc = feat.detectAndCompute(photo_bgr, None)
    assert len(keypoints) > 20 and desc.shape == (len(keypoints), 128)
    assert desc.dtype == np.float32 and desc.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-4)
    # compute() on the same keypoints gives the same descriptors
    kept, desc2 = feat.compute(photo_bgr, keypoints)
    assert len(kept) == len(keypoints) and np.allclose(desc, desc2, atol=1e-5)


def test_upright_orientation(user_weights, photo_gray):
    feat = cvlearned.HardNet_create(weights=user_weights, orientation="upright", max_keypoints=100)
    keypoints, desc = feat.detectAndCompute(photo_gray, None)
    assert 0 < len(keypoints) <= 100 and all(kp.angle == -1 for kp in keypoints)
    assert desc.shape == (len(keypoints), 128)


def test_wrong_key_raises_weights_error_naming_the_file(tmp_path):
    state = build_net("hardnet-lite").state_dict()
    state["unexpected.weight"] = torch.zeros(1)
    path = tmp_path / "wrong_key.pt"
    torch.save(state, path)
    with pytest.raises(WeightsError, match="wrong_key.pt"):
        cvlearned.HardNet_create(weights=str(path))
    # full-width weights do not fit the lite network
    full = tmp_path / "full.pt"
    torch.save(build_net("hardnet").state_dict(), full)
    with pytest.raises(WeightsError, match="full.pt"):
        cvlearned.HardNet_create(weights=str(full), preset="hardnet-lite")


def test_corrupt_or_missing_file_raises_weights_error(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsError, match="corrupt.pt"):
        cvlearned.HardNet_create(weights=str(corrupt))
    with pytest.raises(WeightsError, match="missing.pt"):
        cvlearned.HardNet_create(weights=str(tmp_path / "missing.pt"))


# ------------------------------------------------------------------ shipped weights
SHIPPED = [("hardnet-lite", "hardnet-lite-v1.pt", "Feature2D.HardNet-Lite", 0.5),
           ("hardnet-lite-sfm", "hardnet-lite-sfm-v1.pt", "Feature2D.HardNet-Lite-SfM", 0.5),
           ("hardnet", "hardnet-v1.pt", "Feature2D.HardNet", 1.0)]


@pytest.mark.parametrize("preset, file, default_name, width", SHIPPED)
def test_shipped_weights_are_registered_and_verified(preset, file, default_name, width):
    entry = load_manifest()[file]
    assert entry.model == preset and entry.size < 5_000_000
    assert (weights_dir() / entry.model_card).is_file()
    assert preset in registered_presets()
    assert preset in cvlearned.list_features(kind="learned")
    feat = cvlearned.create(preset)
    assert isinstance(feat, HardNet) and feat.getDefaultName() == default_name
    assert feat.config.preset == preset and PRESETS[preset].width == width


@pytest.mark.parametrize("preset", [p for p, _, _, _ in SHIPPED])
def test_shipped_model_regression_mma3(preset):
    check_shipped_model_regression(preset)


def test_fused_inference_network_matches_the_trained_one():
    from cvlearned.models.hardnet import FusedHardNet

    torch.manual_seed(1)
    net = build_net("hardnet-lite")
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
    net.eval()
    x = torch.rand(7, 1, 32, 32) * 255
    with torch.no_grad():
        assert torch.allclose(net(x), FusedHardNet(net)(x), atol=1e-5)
