"""UCN: the network, the convolutional spatial transformer, D2-Net selection and the Feature2D wrapper.

Weights are seeded random initialisations saved to temporary files (nothing ships yet).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cvlearned
from cvlearned.models import factories
from cvlearned.models.conv_spatial_transformer import ConvSpatialTransformer, params_to_matrices
from cvlearned.models.describe_and_detect import (
    detect_keypoints, grid_keypoints, hard_detections, refine_offsets, soft_detection_score,
)
from cvlearned.models.ucn import (
    PRESETS, STRIDE, UCN, UCNConfig, build_net, cell_centres, count_macs, infer_preset, pad_to_stride,
    receptive_field, sample_feature_map,
)
from cvlearned.weight_files import WeightsError, load_manifest
from empty_result import assert_empty_result


def _save(tmp_path_factory, preset: str, seed: int) -> str:
    torch.manual_seed(seed)
    path = tmp_path_factory.mktemp("w") / f"{preset}.pt"
    torch.save(build_net(preset).state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def ucn_file(tmp_path_factory) -> str:
    return _save(tmp_path_factory, "ucn-lite", 0)


@pytest.fixture(scope="module")
def nost_file(tmp_path_factory) -> str:
    return _save(tmp_path_factory, "ucn-lite-nost", 1)


def _unfold_layout(f: torch.Tensor, k: int = 3) -> torch.Tensor:
    """(B, C, h, w) → (B, C, h*k, w*k): zero-padded k x k neighbourhoods side by side."""
    b, c, h, w = f.shape
    patches = F.unfold(f, k, padding=k // 2).reshape(b, c, k, k, h, w)
    return patches.permute(0, 1, 4, 2, 5, 3).reshape(b, c, h * k, w * k)


# ------------------------------------------------------------------- network
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_forward_shapes_stride_and_unit_norm(preset):
    net = build_net(preset).eval()
    assert net.stride == STRIDE == 4 and net.descriptor_dim == PRESETS[preset].descriptor_dim == 128
    x = torch.rand(2, 1, 48, 64)
    with torch.no_grad():
        desc, raw = net(x), net.forward_raw(x)
    assert desc.shape == raw.shape == (2, 128, 12, 16) and desc.dtype == torch.float32
    assert torch.allclose(desc.norm(dim=1), torch.ones(2, 12, 16), atol=1e-5)
    assert torch.allclose(F.normalize(raw, dim=1), desc, atol=1e-6)
    with torch.no_grad():
        assert torch.equal(net(x, normalize=False), raw)


def test_forward_rejects_bad_shapes():
    net = build_net("ucn-lite").eval()
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 1, 30, 32))
    with pytest.raises(ValueError, match="gray"):
        net(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("preset", ["ucn-lite", "ucn-lite-nost"])
def test_trains_with_gradients_and_channels_last(preset):
    net = build_net(preset).train().to(memory_format=torch.channels_last)
    x = torch.rand(2, 1, 32, 40).contiguous(memory_format=torch.channels_last)
    out = net(x)
    assert out.shape == (2, 128, 8, 10)
    (out[:, :, :4] * out[:, :, 4:]).sum().backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["encoder.0.weight"].abs().sum() > 0 and grads["head.weight"].abs().sum() > 0


def test_presets_differ_only_by_the_transformer():
    with_st, without = build_net("ucn-lite").state_dict(), build_net("ucn-lite-nost").state_dict()
    extra = set(with_st) - set(without)
    assert extra and all(k.startswith("transformer.params.") for k in extra) and set(without) < set(with_st)
    assert all(with_st[k].shape == without[k].shape for k in without)
    assert PRESETS["ucn-lite"].spatial_transformer and not PRESETS["ucn-lite-nost"].spatial_transformer
    for name in PRESETS:
        assert infer_preset(build_net(name).state_dict()) == name
    assert infer_preset({"x": torch.zeros(1)}) is None


@pytest.mark.parametrize("preset", sorted(set(PRESETS) - {"ucn"}))
def test_lite_macs_at_640x480_are_below_2g(preset):
    macs = count_macs(build_net(preset), 480, 640)
    print(f"{preset}: {macs / 1e9:.3f} GMAC at 640x480")
    assert 1e9 < macs < 2e9


@pytest.mark.parametrize("preset", ["ucn", "ucn-lite", "ucn-lite-nost"])
def test_mac_count_matches_the_architecture(preset):
    p = PRESETS[preset]
    (c1, c2, c3), st, d = p.channels, p.st_channels, p.descriptor_dim
    full = 480 * 640
    half, quarter = full // 4, full // 16
    expected = 9 * (full * c1 + half * (c1 * c2 + c2 * c2) + quarter * (c2 * c3 + c3 * c3 + c3 * st)) + quarter * st * d
    if p.spatial_transformer:  # transform branch (3x3 then 1x1 to 3 numbers) + 4 MACs per resampled value
        expected += quarter * (9 * c3 * p.st_hidden + 3 * p.st_hidden) + 4 * quarter * 9 * c3
    assert count_macs(build_net(preset), 480, 640) == expected
    assert receptive_field(build_net(preset)) == 38


def test_identity_transformer_equals_the_plain_conv():
    torch.manual_seed(0)
    f = torch.randn(2, 6, 5, 7)
    st = ConvSpatialTransformer(6, 4, 3, "rotation_scale").eval()
    plain = ConvSpatialTransformer(6, 4, 3, None)
    plain.combine.load_state_dict(st.combine.state_dict())
    with torch.no_grad():
        assert torch.allclose(st(f), plain(f), atol=1e-5)
        assert torch.allclose(plain(f), F.conv2d(f, st.combine.weight, padding=1), atol=1e-6)


# ----------------------------------------------------- spatial transformer
@pytest.mark.parametrize("transform", ["rotation_scale", "affine"])
def test_identity_layout_is_the_unfold_of_the_input(transform):
    torch.manual_seed(1)
    f = torch.randn(2, 5, 4, 6)
    st = ConvSpatialTransformer(5, 8, 3, transform).eval()
    with torch.no_grad():
        matrices = st.transforms(f)
        layout = st.layout(f, matrices)
    assert torch.allclose(matrices, torch.eye(2).expand_as(matrices))
    assert layout.shape == (2, 5, 12, 18)
    assert torch.allclose(layout, _unfold_layout(f), atol=1e-6)


def test_quarter_turn_permutes_each_neighbourhood():
    torch.manual_seed(2)
    f = torch.randn(1, 3, 5, 6)
    st = ConvSpatialTransformer(3, 4, 3, "rotation_scale").eval()
    with torch.no_grad():
        st.params[-1].bias.copy_(torch.tensor([0.0, 1.0, 0.0]))  # (cos, sin) = (0, 1): 90 degrees, scale 1
        layout = st.layout(f, st.transforms(f)).reshape(1, 3, 5, 3, 6, 3)
    identity = _unfold_layout(f).reshape(1, 3, 5, 3, 6, 3)
    # entry (a, b) has offset (dx, dy) = (b-1, a-1), rotated to (-dy, dx) = identity entry (b, 2-a)
    for a in range(3):
        for b in range(3):
            assert torch.allclose(layout[:, :, :, a, :, b], identity[:, :, :, b, :, 2 - a], atol=1e-6)


def test_rotation_scale_parametrisation():
    params = torch.tensor([3.0, 4.0, math.atanh(0.5)]).reshape(1, 3, 1, 1)
    matrix = params_to_matrices(params, "rotation_scale")[0, 0, 0]
    expected = 2**0.5 * torch.tensor([[0.6, -0.8], [0.8, 0.6]])
    assert torch.allclose(matrix, expected, atol=1e-6)
    affine = params_to_matrices(torch.arange(4.0).reshape(1, 4, 1, 1), "affine")[0, 0, 0]
    assert affine.tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize("transform", ["rotation_scale", "affine"])
def test_gradients_reach_the_transform_branch(transform):
    torch.manual_seed(3)
    st = ConvSpatialTransformer(4, 6, 3, transform).train()
    f = torch.randn(2, 4, 6, 6, requires_grad=True)
    st(f).square().sum().backward()
    last = st.params[-1]
    assert last.weight.grad.abs().sum() > 0 and last.bias.grad.abs().sum() > 0
    assert f.grad.abs().sum() > 0
    with torch.no_grad():
        last.weight.normal_(0, 0.1)  # once the last layer is non-zero, the branch's first conv learns too
    st.zero_grad()
    st(f).square().sum().backward()
    assert st.params[0].weight.grad.abs().sum() > 0


def test_banded_inference_equals_the_full_layout(monkeypatch):
    from cvlearned.models import conv_spatial_transformer as cst

    torch.manual_seed(4)
    st = ConvSpatialTransformer(3, 5, 3, "rotation_scale").eval()
    with torch.no_grad():
        st.params[-1].weight.normal_(0, 0.5)  # a different transform at every location
    f = torch.randn(1, 3, 7, 5)
    with torch.no_grad():
        full = st.combine(st.layout(f, st.transforms(f)))
        monkeypatch.setattr(cst, "_BAND_LOCATIONS", 10)  # bands of 2 rows
        assert torch.allclose(st(f), full, atol=1e-6)


def test_bad_transformer_arguments():
    with pytest.raises(ValueError, match="odd"):
        ConvSpatialTransformer(4, 4, 4)
    with pytest.raises(ValueError, match="transform"):
        ConvSpatialTransformer(4, 4, 3, "projective")


# ------------------------------------------------------- map coordinates
def test_pad_to_stride_and_cell_centres():
    assert pad_to_stride(torch.ones(1, 1, 17, 8), 4).shape == (1, 1, 20, 8)
    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    padded = pad_to_stride(x, 4)
    assert padded.shape == (1, 1, 4, 8) and torch.equal(padded[..., :3, :5], x)
    # edge repeated
    assert torch.equal(padded[..., 3, :5], x[..., 2, :]) and torch.equal(padded[..., :3, 7], x[..., :, 4])
    centres = cell_centres(2, 3, 4)
    assert centres.tolist() == [[1.5, 1.5], [5.5, 1.5], [9.5, 1.5], [1.5, 5.5], [5.5, 5.5], [9.5, 5.5]]


def test_sample_feature_map_indexes_cell_centres_and_is_differentiable():
    fmap = F.normalize(torch.randn(2, 16, 5, 7), dim=1).requires_grad_(True)
    points = cell_centres(5, 7, 4).expand(2, -1, -1)
    sampled = sample_feature_map(fmap, points, 4)
    assert sampled.shape == (2, 35, 16)
    assert torch.allclose(sampled, fmap.flatten(2).transpose(1, 2), atol=1e-5)
    sampled[:, 3].sum().backward()
    assert fmap.grad[:, :, 0, 3].abs().sum() > 0 and fmap.grad[:, :, 1:].abs().sum() == 0
    with torch.no_grad():
        mid = sample_feature_map(fmap, torch.tensor([[[7.5, 1.5]]]).expand(2, 1, 2), 4)[:, 0]
        blend = F.normalize(fmap[:, :, 0, 1] + fmap[:, :, 0, 2], dim=1)
        assert torch.allclose(mid, blend, atol=1e-5)
        outside = sample_feature_map(fmap, torch.tensor([[[-3.0, -3.0]]]).expand(2, 1, 2), 4)[:, 0]
        assert torch.allclose(outside, fmap[:, :, 0, 0], atol=1e-5)  # border padding
    with pytest.raises(ValueError):
        sample_feature_map(fmap, torch.zeros(2, 3), 4)


# ------------------------------------------------------ describe and detect
def _peak_map(value: float = 1.0) -> torch.Tensor:
    raw = torch.zeros(4, 6, 8)
    raw[2, 3, 4] = value
    raw[2, 3, 5] = 0.5 * value  # right neighbour: the vertex moves right
    raw[1] = -1.0  # negative activations never count
    return raw


def test_d2_hard_detection_soft_score_and_refinement():
    raw = _peak_map()
    hard = hard_detections(raw[None])[0]
    assert hard.nonzero().tolist() == [[3, 4]]
    score = soft_detection_score(raw[None])[0]
    # alpha = e / (e + e^0.5 + 7) at the peak, beta = 1
    assert score[3, 4].item() == pytest.approx(math.e / (math.e + math.exp(0.5) + 7), rel=1e-5)
    assert score.max() <= math.e / (math.e + 8) + 1e-6
    rows, cols = torch.meshgrid(torch.arange(6), torch.arange(8), indexing="ij")
    channel = F.relu(raw).argmax(dim=0)
    offsets = refine_offsets(raw, rows.flatten(), cols.flatten(), channel.flatten()).reshape(6, 8, 2)
    assert offsets[3, 4, 0].item() == pytest.approx(0.5 * (0 - 0.5) / (0 - 2 + 0.5)) and offsets[3, 4, 1] == 0
    assert offsets.abs().max() <= 0.5 and offsets[3, 5, 0] == 0  # a shoulder (no downward parabola) stays


def test_detect_keypoints_maps_to_pixels_with_threshold_border_mask_and_limit():
    raw = _peak_map()
    points, scores = detect_keypoints(raw, 4, (32, 24), 0.0, 4, 4, None)
    assert points.shape == (1, 2) and points[0].tolist() == pytest.approx([(4 + 1 / 6) * 4 + 1.5, 3 * 4 + 1.5])
    assert len(detect_keypoints(raw, 4, (32, 24), 0.3, 4, 4, None)[0]) == 0  # above every score
    assert len(detect_keypoints(raw, 4, (32, 24), 0.0, 4, 12, None)[0]) == 0  # border
    blocked = torch.ones(24, 32, dtype=torch.bool)
    blocked[13:15, 17:20] = False
    assert len(detect_keypoints(raw, 4, (32, 24), 0.0, 4, 4, None, blocked)[0]) == 0
    raw[3, 1, 1] = 0.9
    points, scores = detect_keypoints(raw, 4, (32, 24), 0.0, 0, 0, 1)
    assert len(points) == 1 and scores[0] == scores.max()


def test_grid_keypoints_sit_on_cell_centres():
    score = torch.rand(6, 8)
    points, values = grid_keypoints(score, 4, (32, 24), 8, 4, None)
    assert set(points[:, 0].tolist()) == {9.5, 17.5, 25.5} and set(points[:, 1].tolist()) == {9.5, 17.5}
    cells = ((points - 1.5) / 4).long()
    assert torch.equal(values, score[cells[:, 1], cells[:, 0]]) and torch.all(values[:-1] >= values[1:])
    assert len(grid_keypoints(score, 4, (32, 24), 8, 4, 2)[0]) == 2
    assert grid_keypoints(score, 4, (3, 5), 8, 0, None)[0].tolist() == [[1.5, 1.5]]
    assert len(grid_keypoints(score, 4, (1, 5), 8, 0, None)[0]) == 0


# ---------------------------------------------------------- Feature2D wrapper
DETECTORS = ["sift", "grid", "d2net", "fast"]


def _make(ucn_file: str, detector: str, **params) -> UCN:
    det = cv2.FastFeatureDetector_create(20) if detector == "fast" else detector
    return UCN(weights=ucn_file, detector=det, device="cpu", **params)


@pytest.fixture(scope="module", params=DETECTORS)
def feature(request, ucn_file) -> UCN:
    return _make(ucn_file, request.param)


def _points(keypoints) -> np.ndarray:
    return np.array([kp.pt for kp in keypoints], float).reshape(-1, 2)


def test_contract_types_and_values(feature, photo_bgr):
    keypoints, desc = feature.detectAndCompute(photo_bgr, None)
    assert isinstance(keypoints, tuple) and len(keypoints) > 20
    assert all(isinstance(kp, cv2.KeyPoint) for kp in keypoints)
    assert isinstance(desc, np.ndarray) and desc.flags["C_CONTIGUOUS"] and desc.dtype == np.float32
    assert desc.shape == (len(keypoints), feature.descriptorSize()) == (len(keypoints), 128)
    assert np.isfinite(desc).all() and np.allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-5)
    h, w = photo_bgr.shape[:2]
    pts = _points(keypoints)
    assert (pts >= 0).all() and (pts[:, 0] <= w - 1).all() and (pts[:, 1] <= h - 1).all()
    assert len({kp.pt for kp in keypoints}) == len(keypoints)  # one descriptor per location
    assert all(kp.size > 0 and (kp.angle == -1 or 0 <= kp.angle < 360) for kp in keypoints)
    assert feature.getDefaultName() == "Feature2D.UCN-Lite" and not feature.empty()
    assert feature.descriptorType() == cv2.CV_32F and feature.defaultNorm() == cv2.NORM_L2


def test_contract_detect_then_compute_matches_and_is_deterministic(feature, photo_gray, photo_bgr):
    keypoints, desc = feature.detectAndCompute(photo_gray, None)
    again = feature.detectAndCompute(photo_bgr, None)
    assert _points(again[0]).tolist() == _points(keypoints).tolist() and np.array_equal(again[1], desc)
    detected = feature.detect(photo_gray)
    kept, desc2 = feature.compute(photo_gray, detected)
    assert _points(kept).tolist() == _points(keypoints).tolist() and np.allclose(desc2, desc, atol=1e-6)


def test_contract_mask_and_max_keypoints(feature, ucn_file, photo_gray):
    mask = np.zeros_like(photo_gray)
    mask[:, : photo_gray.shape[1] // 2] = 255
    keypoints, desc = feature.detectAndCompute(photo_gray, mask)
    assert len(keypoints) > 0 and desc.shape[0] == len(keypoints)
    assert (_points(keypoints)[:, 0] <= photo_gray.shape[1] // 2).all()
    name = "fast" if not isinstance(feature.config.detector, str) else feature.config.detector
    limited = _make(ucn_file, name, max_keypoints=25).detect(photo_gray)
    assert 0 < len(limited) <= 25
    if name in ("grid", "d2net"):  # the strongest 25, strongest first
        assert _points(limited).tolist() == _points(feature.detect(photo_gray)[:25]).tolist()


def test_contract_blank_tiny_and_bad_inputs(feature, photo_gray):
    blank = np.full((120, 160), 128, np.uint8)
    assert feature.detect(blank) == ()
    assert_empty_result(feature.detectAndCompute(blank, None), "ucn", feature)
    assert_empty_result(feature.compute(blank, []), "ucn", feature)
    for shape in [(1, 1), (3, 5), (7, 7), (1, 64), (64, 1), (5, 200)]:
        assert_empty_result(feature.detectAndCompute(np.full(shape, 90, np.uint8), None), "ucn", feature)
    bad = [(None, ValueError), (np.zeros((0, 0), np.uint8), ValueError), (np.zeros((16, 16), np.int32), TypeError),
           (np.full((16, 16), np.nan, np.float32), ValueError), (np.zeros((8, 8, 2), np.uint8), ValueError)]
    for image, error in bad:
        with pytest.raises(error):
            feature.detectAndCompute(image, None)
    with pytest.raises(ValueError, match="shape"):
        feature.detect(photo_gray, np.ones((10, 10), np.uint8))
    with pytest.raises(ValueError):
        feature.compute(photo_gray, [cv2.KeyPoint(float("nan"), 1.0, 5.0)])


@pytest.mark.parametrize("shape", [(61, 83), (45, 66)])
def test_sizes_not_divisible_by_4(ucn_file, photo_gray, shape):
    image = np.ascontiguousarray(photo_gray[40 : 40 + shape[0], 60 : 60 + shape[1]])
    for detector in DETECTORS:
        keypoints, desc = _make(ucn_file, detector, border=2).detectAndCompute(image, None)
        assert len(keypoints) > 0 and desc.shape == (len(keypoints), 128)
        pts = _points(keypoints)
        assert (pts[:, 0] <= shape[1] - 1).all() and (pts[:, 1] <= shape[0] - 1).all()


def test_d2net_keypoint_fields(ucn_file, photo_gray):
    feat = _make(ucn_file, "d2net")
    keypoints = feat.detect(photo_gray)
    responses = [kp.response for kp in keypoints]
    assert responses == sorted(responses, reverse=True)
    assert all(1 / 9 - 1e-6 <= r <= math.e / (math.e + 8) + 1e-6 for r in responses)
    assert all(kp.angle == -1 and kp.size == 38 and kp.octave == 0 for kp in keypoints)
    off_centre = [(kp.pt[0] - 1.5) % 4 for kp in keypoints]
    assert any(0 < v < 4 for v in off_centre)  # sub-cell refinement
    fewer = _make(ucn_file, "d2net", detection_threshold=0.15, nms_radius=8).detect(photo_gray)
    assert 0 < len(fewer) < len(keypoints) and all(kp.response > 0.15 for kp in fewer)


def test_grid_and_sift_keypoint_fields(ucn_file, photo_gray):
    grid = _make(ucn_file, "grid", grid_step=16).detect(photo_gray)
    assert all((kp.pt[0] - 1.5) % 16 == 0 and (kp.pt[1] - 1.5) % 16 == 0 for kp in grid)
    assert len(grid) == len(range(17, 320 - 4, 16)) * len(range(17, 240 - 4, 16))  # 1.5 < border 4
    sift = cv2.SIFT_create().detect(photo_gray, None)
    ours = _make(ucn_file, "sift").detect(photo_gray)
    assert len(ours) == len({kp.pt for kp in sift}) < len(sift)  # duplicates (other angles) dropped
    assert {(kp.pt, kp.size, kp.angle) for kp in ours} <= {(kp.pt, kp.size, kp.angle) for kp in sift}


def test_compute_dense_shape_convention_and_consistency(ucn_file, photo_gray):
    feat = _make(ucn_file, "grid")
    image = np.ascontiguousarray(photo_gray[:61, :83])
    dense = feat.computeDense(image)
    assert dense.shape == (16, 21, 128) and dense.dtype == np.float32 and feat.stride == 4
    assert np.allclose(np.linalg.norm(dense, axis=2), 1.0, atol=1e-5)
    keypoints = [cv2.KeyPoint(4 * j + 1.5, 4 * i + 1.5, 8.0) for i, j in [(2, 3), (10, 17), (14, 19)]]
    kept, desc = feat.compute(image, keypoints)
    assert len(kept) == 3 and np.allclose(desc, dense[[2, 10, 14], [3, 17, 19]], atol=1e-5)
    with pytest.raises(ValueError):
        feat.computeDense(None)


def test_map_and_d2net_keypoints_follow_a_shift_by_two_cells(ucn_file, photo_gray):
    """Shifting the image by 8 px shifts the map by 2 cells and d2net keypoints by 8 px (interior)."""
    feat = _make(ucn_file, "d2net", nms_radius=0, detection_threshold=0.0)
    a = np.ascontiguousarray(photo_gray[20:180, 0:240])
    b = np.ascontiguousarray(photo_gray[20:180, 8:248])  # b(x) = a(x + 8)
    dense_a, dense_b = feat.computeDense(a), feat.computeDense(b)
    assert np.allclose(dense_b[8:-8, 8:-10], dense_a[8:-8, 10:-8], atol=1e-4)
    def interior(pts):
        return pts[(pts[:, 0] > 40) & (pts[:, 0] < 190) & (pts[:, 1] > 40) & (pts[:, 1] < 120)]

    pts_a = interior(_points(feat.detect(a)))
    pts_b = interior(_points(feat.detect(b)) + [8.0, 0.0])
    assert len(pts_a) > 10 and np.allclose(np.array(sorted(pts_a.tolist())), np.array(sorted(pts_b.tolist())),
                                           atol=1e-3)


# ------------------------------------------------------------ config / files
def test_config_errors():
    with pytest.raises(TypeError, match="valid parameters.*detector"):
        cvlearned.UCN_create(no_such=1)
    with pytest.raises(ValueError, match="descriptor_dim must be 128"):
        UCNConfig(preset="ucn-lite", descriptor_dim=64)
    with pytest.raises(ValueError, match="detector must be one of"):
        UCNConfig(detector="harris")
    with pytest.raises(TypeError, match="detect"):
        UCNConfig(detector=42)
    with pytest.raises(ValueError, match="preset"):
        UCNConfig(preset="ucn-huge")
    for bad in ({"grid_step": 0}, {"nms_radius": -1}, {"border": 1.5}, {"max_keypoints": 0},
                {"detection_threshold": -0.1}):
        with pytest.raises(ValueError):
            UCNConfig(**bad)


def test_preset_inferred_from_the_file_and_wrong_files_name_it(ucn_file, nost_file, tmp_path):
    nost = UCN(weights=nost_file, device="cpu")
    assert nost.config.preset == "ucn-lite-nost" and nost.getDefaultName() == "Feature2D.UCN-Lite-NoST"
    assert UCN(weights=ucn_file, device="cpu").config.preset == "ucn-lite"
    with pytest.raises(WeightsError, match="ucn-lite-nost.pt"):
        UCN(weights=nost_file, preset="ucn-lite", device="cpu")
    state = build_net("ucn-lite").state_dict()
    state["head.weight"] = torch.zeros(64, 48, 1, 1)
    torch.save(state, tmp_path / "bad_shape.pt")
    with pytest.raises(WeightsError, match="bad_shape.pt"):
        UCN(weights=str(tmp_path / "bad_shape.pt"), device="cpu")
    with pytest.raises(ValueError, match="descriptor_dim"):
        UCN(weights=nost_file, descriptor_dim=256, device="cpu")
    with pytest.raises(WeightsError, match="not found"):
        UCN(weights=str(tmp_path / "missing.pt"), device="cpu")


def test_shipped_weights_and_registration_follow_the_manifest():
    assert cvlearned.UCN_create is factories.UCN_create
    shipped = "ucn-lite-v1.pt" in load_manifest()
    if shipped:
        assert load_manifest()["ucn-lite-v1.pt"].model == "ucn-lite"
        assert load_manifest()["ucn-lite-nost-v1.pt"].model == "ucn-lite-nost"
    assert ("ucn-lite" in cvlearned.list_features("learned")) == shipped
    if shipped:
        assert isinstance(cvlearned.create("ucn-lite"), UCN)
    else:
        with pytest.raises(WeightsError, match="ucn-lite"):
            UCN(device="cpu")


@pytest.mark.parametrize("fmt", ["yml", "json"])
def test_write_read_round_trip(ucn_file, tmp_path, fmt):
    changed = UCN(weights=ucn_file, detector="d2net", grid_step=16, max_keypoints=300, nms_radius=6,
                  detection_threshold=0.12, device="cpu")
    path = str(tmp_path / f"params.{fmt}")
    changed.write(path)
    restored = UCN(weights=ucn_file, device="cpu")
    restored.read(path)
    assert restored.getParams() == changed.getParams()


def test_custom_detector_is_stored_by_name(ucn_file, tmp_path, photo_gray):
    fast = cv2.FastFeatureDetector_create(20)
    feat = UCN(weights=ucn_file, detector=fast, device="cpu")
    path = str(tmp_path / "fast.yml")
    feat.write(path)
    assert cv2.FileStorage(path, cv2.FILE_STORAGE_READ).getNode("detector").string() == fast.getDefaultName()
    holder = UCN(weights=ucn_file, detector=cv2.FastFeatureDetector_create(20), device="cpu")
    holder.read(path)
    assert holder.getParams()["detector"] is not None and holder.detect(photo_gray)
    with pytest.raises(ValueError, match="custom detector"):
        UCN(weights=ucn_file, device="cpu").read(path)


@pytest.mark.parametrize("preset", ["ucn", "ucn-lite"])
def test_shipped_model_regression_mma3(preset):
    from regression_sets import check_shipped_model_regression

    if preset not in factories.registered_presets():
        pytest.skip(f"{preset} weights do not ship in this checkout")
    check_shipped_model_regression(preset)
