"""SuperPoint: v1 state-dict layout, tensor ops, config, and the Feature2D wrapper."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import cvlearned
from cvlearned.models.heatmap import (
    CELL, heatmap_from_logits, nms, pad_to_cells, refine_keypoints, sample_descriptors, select_keypoints,
)
from cvlearned.models.superpoint import (
    PRESETS,
    SuperPoint,
    SuperPointConfig,
    build_net,
    count_macs,
    infer_preset,
)
from cvlearned.weight_files import WeightsError

# Key names and shapes of the published SuperPoint v1 checkpoint (public facts).
V1_LAYOUT = {
    "conv1a": (64, 1, 3, 3), "conv1b": (64, 64, 3, 3),
    "conv2a": (64, 64, 3, 3), "conv2b": (64, 64, 3, 3),
    "conv3a": (128, 64, 3, 3), "conv3b": (128, 128, 3, 3),
    "conv4a": (128, 128, 3, 3), "conv4b": (128, 128, 3, 3),
    "convPa": (256, 128, 3, 3), "convPb": (65, 256, 1, 1),
    "convDa": (256, 128, 3, 3), "convDb": (256, 256, 1, 1),
}


def _v1_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict with exactly the published v1 layout (never downloaded)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in V1_LAYOUT.items():
        state[f"{name}.weight"] = torch.randn(shape, generator=g) * (2.0 / (shape[1] * shape[2] * shape[3])) ** 0.5
        state[f"{name}.bias"] = torch.zeros(shape[0])
    return state


@pytest.fixture(scope="module")
def v1_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("w") / "superpoint_v1.pth"
    torch.save(_v1_state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def lite_file(tmp_path_factory) -> str:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "lite.pt"
    torch.save(build_net("superpoint-lite").state_dict(), path)
    return str(path)


# ------------------------------------------------------------------ architecture
def test_full_preset_has_the_published_v1_layout():
    state = build_net("superpoint").state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        **{f"{n}.weight": s for n, s in V1_LAYOUT.items()}, **{f"{n}.bias": (s[0],) for n, s in V1_LAYOUT.items()}
    }
    assert infer_preset(_v1_state_dict()) == "superpoint"
    assert infer_preset(build_net("superpoint-lite").state_dict()) == "superpoint-lite"
    assert infer_preset({"x": torch.zeros(1)}) is None


def test_lite_preset_is_sized_for_cpu():
    lite, full = build_net("superpoint-lite"), build_net("superpoint")
    assert count_macs(lite) <= 1.5e9 < count_macs(full)
    assert set(lite.state_dict()) == set(full.state_dict())  # same heads and layer names


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_forward_shapes_and_unit_descriptors(preset):
    net = build_net(preset).eval()
    with torch.no_grad():
        logits, desc = net(torch.rand(2, 1, 48, 64))
    assert logits.shape == (2, 65, 6, 8)
    assert desc.shape == (2, PRESETS[preset].descriptor_dim, 6, 8)
    assert torch.allclose(desc.norm(dim=1), torch.ones(2, 6, 8), atol=1e-5)


# -------------------------------------------------------------------- tensor ops
def test_heatmap_depth_to_space_is_row_major_inside_the_cell():
    logits = torch.full((1, 65, 2, 3), -20.0)
    logits[0, 8 * 5 + 2, 1, 2] = 20.0  # cell (1, 2), row 5, column 2 inside the cell
    heat = heatmap_from_logits(logits)
    assert heat.shape == (1, 16, 24)
    y, x = np.unravel_index(int(heat[0].argmax()), heat[0].shape)
    assert (y, x) == (1 * CELL + 5, 2 * CELL + 2)


def test_nms_keeps_only_local_maxima():
    scores = torch.zeros(1, 20, 20)
    scores[0, 5, 5], scores[0, 6, 7], scores[0, 15, 15] = 0.9, 0.5, 0.3
    kept = nms(scores, 4)[0]
    assert kept[5, 5] == 0.9 and kept[6, 7] == 0 and kept[15, 15] == pytest.approx(0.3)
    assert torch.equal(nms(scores, 0), scores)


def test_select_keypoints_threshold_border_and_limit():
    scores = torch.zeros(30, 40)
    scores[10, 12], scores[20, 30], scores[1, 1], scores[15, 15] = 0.8, 0.6, 0.9, 0.01
    pts, vals = select_keypoints(scores, 0.015, border=4, max_keypoints=None)
    assert pts.tolist() == [[12.0, 10.0], [30.0, 20.0]] and vals.tolist() == pytest.approx([0.8, 0.6])
    pts, _ = select_keypoints(scores, 0.015, border=0, max_keypoints=1)
    assert pts.tolist() == [[1.0, 1.0]]


def test_refine_keypoints_finds_a_sub_pixel_peak():
    ys, xs = torch.meshgrid(torch.arange(20.0), torch.arange(30.0), indexing="ij")
    heat = torch.exp(-((xs - 10.3) ** 2 + (ys - 7.6) ** 2) / 2.0)
    peak = torch.tensor([[10.0, 8.0]])
    assert torch.equal(refine_keypoints(heat, peak, 0), peak)
    for radius, tolerance in ((1, 0.25), (3, 0.01)):  # a small window truncates the peak
        assert refine_keypoints(heat, peak, radius).tolist()[0] == pytest.approx([10.3, 7.6], abs=tolerance)
    # a symmetric peak stays put; one at the corner stays inside the image
    symmetric = torch.exp(-((xs - 5.0) ** 2 + (ys - 5.0) ** 2))
    assert refine_keypoints(symmetric, torch.tensor([[5.0, 5.0]]), 2).tolist() == [[5.0, 5.0]]
    corner = refine_keypoints(torch.exp(-(xs**2 + ys**2)), torch.tensor([[0.0, 0.0]]), 3)
    assert (corner >= 0).all() and torch.equal(refine_keypoints(heat, torch.zeros(0, 2), 2), torch.zeros(0, 2))


def test_refine_radius_moves_keypoints_off_the_pixel_grid(lite_file, photo_gray):
    plain = cvlearned.create("superpoint-lite", device="cpu", refine_radius=0).detect(photo_gray)  # shipped weights
    refined = cvlearned.create("superpoint-lite", device="cpu").detect(photo_gray)  # default refine_radius=2
    assert len(refined) == len(plain) and all(float(kp.pt[0]).is_integer() for kp in plain)
    shift = np.abs([np.subtract(a.pt, b.pt) for a, b in zip(refined, plain)])
    assert shift.max() <= 2 and np.median(shift) > 0.05
    with pytest.raises(ValueError, match="refine_radius"):
        SuperPoint(weights=lite_file, device="cpu", refine_radius=9)


def test_descriptor_sampling_at_cell_centres_equals_indexing():
    desc = torch.nn.functional.normalize(torch.randn(16, 5, 7), dim=0)
    cells = torch.tensor([[0, 0], [3, 2], [6, 4]])
    points = cells.float() * CELL + (CELL - 1) / 2.0  # pixel centres of the cells
    sampled = sample_descriptors(desc, points)
    expected = desc[:, cells[:, 1], cells[:, 0]].t()
    assert torch.allclose(sampled, expected, atol=1e-5)
    mid = sample_descriptors(desc, torch.tensor([[CELL + 3.5 + 4.0, 3.5]]))  # halfway between two cells
    blend = torch.nn.functional.normalize(desc[:, 0, 1] + desc[:, 0, 2], dim=0)
    assert torch.allclose(mid[0], blend, atol=1e-5)


def test_pad_to_cells():
    assert pad_to_cells(torch.zeros(1, 1, 17, 8)).shape == (1, 1, 24, 8)
    assert pad_to_cells(torch.zeros(1, 1, 3, 5)).shape == (1, 1, 8, 8)


# ------------------------------------------------------------------------ config
def test_config_validation():
    with pytest.raises(ValueError, match="descriptor_dim"):
        SuperPointConfig(preset="superpoint-lite", descriptor_dim=128)
    with pytest.raises(ValueError, match="preset"):
        SuperPointConfig(preset="nope")
    with pytest.raises(ValueError, match="nms_radius"):
        SuperPointConfig(nms_radius=-1)
    with pytest.raises(ValueError, match="detection_threshold"):
        SuperPointConfig(detection_threshold=2.0)
    with pytest.raises(ValueError, match="max_keypoints"):
        SuperPointConfig(max_keypoints=0)
    with pytest.raises(TypeError, match="valid parameters"):
        cvlearned.SuperPoint_create(no_such=1)


# ----------------------------------------------------------------------- wrapper
def test_user_v1_checkpoint_loads_by_path_with_preset_inferred(v1_file, photo_gray):
    sp = cvlearned.SuperPoint_create(weights=v1_file, max_keypoints=100, device="cpu")
    assert sp.config.preset == "superpoint" and sp.getDefaultName() == "Feature2D.SuperPoint"
    kps, desc = sp.detectAndCompute(photo_gray, None)
    assert desc is None or desc.shape == (len(kps), 256)


def test_wrong_weights_name_the_file(lite_file):
    with pytest.raises(WeightsError, match="lite.pt"):
        SuperPoint(weights=lite_file, preset="superpoint", device="cpu")
    with pytest.raises(WeightsError, match="not found"):
        SuperPoint(weights="/nonexistent/sp.pt", device="cpu")


def test_keypoints_fields_and_consistency(lite_file, photo_gray):
    sp = SuperPoint(weights=lite_file, detection_threshold=0.0, max_keypoints=50, device="cpu")
    kps, desc = sp.detectAndCompute(photo_gray, None)
    assert 0 < len(kps) <= 50 and desc.shape == (len(kps), 256) and desc.dtype == np.float32
    assert all(kp.angle == -1 and kp.size == 16.0 for kp in kps)
    responses = [kp.response for kp in kps]
    assert responses == sorted(responses, reverse=True)
    assert np.allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-5)
    # detect + compute gives the same as detectAndCompute
    kps2 = sp.detect(photo_gray)
    kps3, desc3 = sp.compute(photo_gray, kps2)
    assert [k.pt for k in kps3] == [k.pt for k in kps]
    assert np.allclose(desc3, desc, atol=1e-5)


def test_mask_restricts_detections(lite_file, photo_gray):
    sp = SuperPoint(weights=lite_file, detection_threshold=0.0, device="cpu")
    mask = np.zeros_like(photo_gray)
    mask[:, : photo_gray.shape[1] // 2] = 255
    kps = sp.detect(photo_gray, mask)
    assert kps and all(kp.pt[0] < photo_gray.shape[1] // 2 for kp in kps)


def test_describes_foreign_keypoints(lite_file, photo_gray):
    sp = SuperPoint(weights=lite_file, device="cpu")
    sift_kps = cv2.SIFT_create(100).detect(photo_gray, None)
    kept, desc = sp.compute(photo_gray, sift_kps)
    assert len(kept) == len({kp.pt for kp in sift_kps}) < len(sift_kps)  # one per location
    assert desc.shape == (len(kept), 256)


# --------------------------------------------------------------- shipped weights
@pytest.mark.parametrize("preset,file,name", [
    ("superpoint-lite", "superpoint-lite-v7.pt", "Feature2D.SuperPoint-Lite"),
    ("superpoint-lite-sfm", "superpoint-lite-sfm-v1.pt", "Feature2D.SuperPoint-Lite-SfM"),
    ("superpoint", "superpoint-v1.pt", "Feature2D.SuperPoint"),
])
def test_shipped_weights_of_both_presets_are_registered_and_verified(preset, file, name):
    from cvlearned.models.factories import registered_presets
    from cvlearned.weight_files import load_manifest, weights_dir

    entry = load_manifest()[file]
    assert entry.model == preset and (weights_dir() / entry.model_card).is_file()
    assert preset in registered_presets() and preset in cvlearned.list_features("learned")
    sp = cvlearned.create(preset, device="cpu")
    assert isinstance(sp, SuperPoint) and sp.getDefaultName() == name and sp.config.preset == preset


@pytest.mark.parametrize("preset", ["superpoint-lite", "superpoint-lite-sfm", "superpoint"])
def test_shipped_model_regression_mma3(preset):
    """The shipped model keeps the MMA@3 its model card records on the bundled set
    (within its noise, or >= 80 % where the card records no noise)."""
    from regression_sets import check_shipped_model_regression

    check_shipped_model_regression(preset, device="cpu")
