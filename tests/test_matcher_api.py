"""The matcher interface: registry, plain matchers, the learned matcher's two call patterns
and its errors (random-initialised networks; no weights needed)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import cvlearned
from cvlearned.evaluation.matching import match_descriptors

torch = pytest.importorskip("torch")

from cvlearned.matchers.config import LightGlueConfig, make_config  # noqa: E402
from cvlearned.matchers.learned import LightGlueMatcher, config_from_state_dict, load_matcher  # noqa: E402
from cvlearned.matchers.lightglue import LightGlueNet  # noqa: E402

SIZE0, SIZE1 = (640, 480), (500, 700)


def _pair(n: int = 60, m: int = 70, dim: int = 128, seed: int = 0):
    """Random pixel points and descriptors where the first n // 2 of image 1 copy image 0's (+ noise)."""
    rng = np.random.default_rng(seed)
    p0 = (rng.random((n, 2)) * SIZE0).astype(np.float32)
    p1 = (rng.random((m, 2)) * SIZE1).astype(np.float32)
    d0 = rng.random((n, dim)).astype(np.float32)
    d1 = rng.random((m, dim)).astype(np.float32)
    d1[: n // 2] = d0[: n // 2] + 0.05 * rng.random((n // 2, dim)).astype(np.float32)
    return p0, d0, p1, d1


def _learned(dim: int = 128, **params) -> LightGlueMatcher:
    torch.manual_seed(0)
    return LightGlueMatcher(LightGlueNet(LightGlueConfig(descriptor_dim=dim, filter_threshold=0.0, **params)), "sift")


def _pairs(matches: list[cv2.DMatch]) -> list[tuple[int, int]]:
    return [(m.queryIdx, m.trainIdx) for m in matches]


def test_registry_lists_plain_matchers_and_rejects_unknown_names():
    assert {"mnn", "ratio"} <= set(cvlearned.list_matchers())
    assert cvlearned.list_matchers("plain") == ["mnn", "ratio"]
    with pytest.raises(ValueError, match="did you mean 'ratio'"):
        cvlearned.create_matcher("Ratoi")
    with pytest.raises(TypeError, match="must be a str"):
        cvlearned.create_matcher(3)
    with pytest.raises(TypeError, match=r"valid parameters: \['ratio', 'mutual', 'norm'\]"):
        cvlearned.create_matcher("ratio", treshold=0.7)
    with pytest.raises(ValueError, match="ratio must be in"):
        cvlearned.create_matcher("ratio", ratio=1.5)


def test_plain_matchers_equal_match_descriptors_as_sorted_dmatches():
    _, d0, _, d1 = _pair()
    for name, ratio in (("ratio", 0.8), ("mnn", None)):
        got = cvlearned.create_matcher(name).match(d0, d1)
        pairs, dist = match_descriptors(d0, d1, mutual=True, ratio=ratio)
        assert _pairs(got) == [tuple(p) for p in pairs.tolist()]
        np.testing.assert_allclose([m.distance for m in got], dist, rtol=1e-6)
        assert [m.queryIdx for m in got] == sorted(m.queryIdx for m in got)
    strict = cvlearned.create_matcher("ratio", ratio=0.5).match(d0, d1)
    assert len(strict) < len(cvlearned.create_matcher("mnn").match(d0, d1))


def test_plain_matcher_uses_hamming_for_binary_descriptors():
    rng = np.random.default_rng(1)
    b0 = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    got = cvlearned.create_matcher("mnn").match(b0, b0[::-1].copy())
    assert _pairs(got) == [(i, 39 - i) for i in range(40)]
    assert all(m.distance == 0 for m in got)


def test_match_argument_errors():
    matcher = cvlearned.create_matcher("mnn")
    _, d0, _, d1 = _pair()
    with pytest.raises(TypeError, match="takes"):
        matcher.match(d0)
    with pytest.raises(ValueError, match="descriptor sizes differ"):
        matcher.match(d0, d1[:, :64])
    with pytest.raises(ValueError, match=r"shape \(N, D\)"):
        matcher.match(d0[None], d1[None])
    assert matcher.match(None, d1) == [] and matcher.match(d0[:0], d1) == []
    assert not matcher.isMaskSupported()
    with pytest.raises(ValueError, match="does not support masks"):
        matcher.match(d0, d1, mask=np.ones((60, 70), np.uint8))


def test_learned_matcher_needs_pair_info_and_matching_inputs():
    matcher = _learned()
    p0, d0, p1, d1 = _pair()
    with pytest.raises(ValueError, match="call setPairInfo"):
        matcher.match(d0, d1)
    matcher.setPairInfo(p0, p1, SIZE0, SIZE1)
    with pytest.raises(ValueError, match="has 60 keypoints but 59 descriptors"):
        matcher.match(d0[:59], d1)
    with pytest.raises(ValueError, match="trained on 128-d 'sift' descriptors, got 64-d"):
        matcher.match(d0[:, :64], d1[:, :64])
    with pytest.raises(TypeError, match="float descriptors"):
        matcher.match(d0.astype(np.uint8), d1.astype(np.uint8))
    with pytest.raises(ValueError, match="must be finite"):
        matcher.match(np.full_like(d0, np.nan), d1)
    with pytest.raises(TypeError, match="numeric"):
        matcher.match([["a"] * 128] * 60, d1)
    with pytest.raises(ValueError, match=r"image_size1 must be \(width, height\)"):
        matcher.setPairInfo(p0, p1, SIZE0, (-1, 5))
    with pytest.raises(ValueError, match=r"keypoints0 must have shape \(N, 2\)"):
        matcher.setPairInfo(p0[:, :1], p1, SIZE0, SIZE1)
    matcher.clearPairInfo()
    with pytest.raises(ValueError, match="call setPairInfo"):
        matcher.match(d0, d1)


def test_learned_matcher_call_patterns_agree():
    matcher = _learned()
    p0, d0, p1, d1 = _pair()
    direct = matcher.match(p0, d0, p1, d1, SIZE0, SIZE1)
    assert len(direct) > 3
    assert [m.queryIdx for m in direct] == sorted(m.queryIdx for m in direct)
    assert all(0.0 <= m.distance <= 1.0 for m in direct)
    matcher.setPairInfo(p0, p1, SIZE0, SIZE1)
    assert _pairs(matcher.match(d0, d1)) == _pairs(direct)
    assert _pairs(matcher.match(d0, d1)) == _pairs(direct)  # pair info stays, as in OpenCV 5.1
    kps0 = [cv2.KeyPoint(float(x), float(y), 3.0) for x, y in p0]
    kps1 = [cv2.KeyPoint(float(x), float(y), 3.0) for x, y in p1]
    assert _pairs(matcher.match(kps0, d0, kps1, d1, SIZE0, SIZE1)) == _pairs(direct)
    matcher.setImagePairInfo(kps0, kps1, SIZE0, SIZE1)
    assert _pairs(matcher.match(d0, d1)) == _pairs(direct)
    normalised0 = p0 / np.float32(SIZE0) * 2 - 1
    normalised1 = p1 / np.float32(SIZE1) * 2 - 1
    assert _pairs(matcher.match(normalised0, d0, normalised1, d1, (0, 0), None)) == _pairs(direct)
    assert matcher.match(p0[:0], d0[:0], p1, d1, SIZE0, SIZE1) == []


def test_adaptive_inference_equals_static_when_disabled_and_stops_early_when_confident():
    net = _learned(depth_confidence=-1, width_confidence=-1).net
    p0, d0, p1, d1 = _pair()
    k0 = torch.from_numpy(p0)[None] / torch.tensor(SIZE0) * 2 - 1
    k1 = torch.from_numpy(p1)[None] / torch.tensor(SIZE1) * 2 - 1
    args = (k0, torch.from_numpy(d0)[None], k1, torch.from_numpy(d1)[None])
    with torch.no_grad():
        static = net.match_static(*args)
    adaptive_matches, adaptive_scores, layers = net.match_adaptive(*args)
    assert layers == net.depth
    assert torch.equal(static[0], adaptive_matches)
    torch.testing.assert_close(static[1], adaptive_scores)
    with torch.no_grad():
        for head in net.confidences:  # every point confident after layer 0
            head.bias.fill_(20.0)
    eager = LightGlueNet(LightGlueConfig(filter_threshold=0.0))
    eager.load_state_dict(net.state_dict())
    assert eager.match_adaptive(*args)[2] == 1


def test_scale_orientation_model_needs_keypoints():
    matcher = _learned(scale_orientation=True)
    p0, d0, p1, d1 = _pair()
    with pytest.raises(ValueError, match="pass cv2.KeyPoint"):
        matcher.match(p0, d0, p1, d1, SIZE0, SIZE1)
    kps0 = [cv2.KeyPoint(float(x), float(y), 4.0, 30.0) for x, y in p0]
    kps1 = [cv2.KeyPoint(float(x), float(y), 4.0, 60.0) for x, y in p1]
    assert len(matcher.match(kps0, d0, kps1, d1, SIZE0, SIZE1)) > 0


def test_config_validation_and_presets():
    with pytest.raises(TypeError, match="valid parameters"):
        make_config({"widht": 3})
    with pytest.raises(ValueError, match="preset must be one of"):
        LightGlueConfig(preset="huge")
    with pytest.raises(ValueError, match="depth_confidence"):
        LightGlueConfig(depth_confidence=0.0)
    full = LightGlueNet(LightGlueConfig(preset="lightglue"))
    assert full.depth == 9 and full.input_proj.out_features == 256


def test_factory_without_shipped_weights_and_with_a_weight_file(tmp_path):
    if "lightglue-lite-sift" not in cvlearned.list_matchers("learned"):
        with pytest.raises(ValueError, match="no trained weights ship for matcher 'lightglue-lite-sift'"):
            cvlearned.LightGlueMatcher_create("sift")
    source = _learned(dim=64)
    path = tmp_path / "m.pt"
    torch.save(source.net.state_dict(), path)
    assert config_from_state_dict(torch.load(path)).descriptor_dim == 64
    loaded = cvlearned.LightGlueMatcher_create("superpoint", weights=path, filter_threshold=0.0)
    assert loaded.name == "lightglue-lite-superpoint" and loaded.config.descriptor_dim == 64
    p0, d0, p1, d1 = _pair(dim=64)
    assert _pairs(loaded.match(p0, d0, p1, d1, SIZE0, SIZE1)) == _pairs(source.match(p0, d0, p1, d1, SIZE0, SIZE1))
    with pytest.raises(TypeError, match="valid parameters"):
        load_matcher("sift", path, treshold=0.1)
    with pytest.raises(TypeError, match=r"\['descriptor_dim'\]"):
        cvlearned.LightGlueMatcher_create("sift", weights=path, descriptor_dim=128)
    with pytest.raises(ValueError, match="unknown feature 'sfit'"):
        cvlearned.LightGlueMatcher_create("sfit", weights=path)
    with pytest.raises(ValueError, match="unknown matcher preset 'tiny'"):
        cvlearned.LightGlueMatcher_create("sift", "tiny")
