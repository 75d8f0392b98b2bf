"""ONNX export (cvlearned.adapters.onnx) and its onnxruntime / OpenCV 5 execution paths.

The network has random weights (seed 0): export equivalence does not need trained ones.
Random heads give a nearly uniform heatmap, whose near-ties (1e-8) make the keypoint
order depend on float noise, so the last layer of the detector is scaled up to spread the
scores, and the comparisons match keypoints by position (allowing a few swaps at near-ties).
"""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from cvlearned.adapters.onnx import (  # noqa: E402
    FROM_MODEL,
    DenseModel,
    dense_model,
    export_onnx,
    gray_from_rgb,
)
from cvlearned.adapters.onnx_runtime import OnnxFeature, OnnxFeature_create  # noqa: E402
from empty_result import assert_empty_result  # noqa: E402
from cvlearned.models.superpoint import SuperPoint, SuperPointConfig, build_net  # noqa: E402

MAX_KEYPOINTS = 400
HAS_DISK = hasattr(cv2, "DISK_create")
HAS_ALIKED = hasattr(cv2, "ALIKED_create")
SIZES = [(240, 320), (120, 160)]  # (H, W): one file, two sizes
DISK_SIZES = [(240, 320), (128, 160)]  # DISK needs multiples of 16


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> str:
    torch.manual_seed(0)
    net = build_net("superpoint-lite")
    with torch.no_grad():
        net.convPb.weight.mul_(20.0)
        net.convPb.bias.mul_(20.0)
    path = tmp_path_factory.mktemp("onnx") / "superpoint-lite-random.pt"
    torch.save(net.state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def feature(weights: str) -> SuperPoint:
    """Integer keypoints (refine_radius=0): the DISK flavour stores them as int64."""
    return SuperPoint(weights=weights, device="cpu", max_keypoints=MAX_KEYPOINTS, refine_radius=0)


@pytest.fixture(scope="module")
def files(feature: SuperPoint, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("onnx-files")
    return {flavour: str(export_onnx(feature, folder / f"sp-{flavour}.onnx", flavour=flavour))
            for flavour in ("disk", "aliked")}


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def photo(astronaut: np.ndarray, h: int, w: int) -> np.ndarray:
    return cv2.resize(astronaut, (w, h), interpolation=cv2.INTER_AREA)


def blob(bgr: np.ndarray) -> np.ndarray:
    """What OpenCV's DISK/ALIKED feed the network: (1, 3, H, W) float32 RGB / 255."""
    return (cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


def assert_same_features(
    ref, got, *, slack: float = 0.01, pos_tol: float = 1e-3, integer: bool = True
) -> dict[str, float]:
    """``ref`` and ``got`` are (keypoints, descriptors) of the PyTorch and the ONNX path.

    Keypoints are paired with the nearest reference keypoint within ``pos_tol``; at most
    ``slack`` of them may be unpaired (near-tied scores at the top-k cut or in an NMS
    window). Paired scores agree to 1e-5, descriptors to 1e-4; ``integer``: positions lie on
    the pixel grid (to ``pos_tol``); ``got`` is sorted strongest first.
    """
    from scipy.spatial import cKDTree

    ref_kps, ref_desc = ref
    kps, desc = got
    assert len(ref_kps) > 20, "the test image should give many keypoints"
    assert desc is not None and desc.dtype == np.float32 and desc.shape == (len(kps), ref_desc.shape[1])
    pts = np.array([k.pt for k in kps], np.float64)
    ref_pts = np.array([k.pt for k in ref_kps], np.float64)
    on_grid = np.abs(pts - np.round(pts)).max()
    assert on_grid <= pos_tol if integer else on_grid > 0.01, on_grid
    distance, nearest = cKDTree(ref_pts).query(pts)
    ib = np.flatnonzero(distance <= pos_tol)
    ia = nearest[ib]
    assert len(set(ia.tolist())) == len(ia), "two keypoints paired with one reference keypoint"
    allowed = max(1, int(slack * len(ref_pts)))
    assert len(ref_pts) - len(ia) <= allowed and len(pts) - len(ib) <= allowed, (len(ref_pts), len(pts), len(ia))
    ref_s = np.array([k.response for k in ref_kps])[ia]
    got_s = np.array([k.response for k in kps])
    d_score = float(np.abs(ref_s - got_s[ib]).max())
    d_desc = float(np.abs(ref_desc[ia] - desc[ib]).max())
    d_pos = float(distance[ib].max())
    assert d_score < 1e-5 and d_desc < 1e-4, (d_score, d_desc, d_pos)
    assert np.all(np.diff(got_s) <= 1e-6), "keypoints must come strongest first"
    return {"score": d_score, "descriptor": d_desc, "position": d_pos}


# ------------------------------------------------------------- onnxruntime
def test_gray_is_bit_exact_with_cvtcolor() -> None:
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (64, 256, 3), dtype=np.uint8)
    bgr[0, :256] = np.arange(256)[:, None]
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    gray = gray_from_rgb(torch.from_numpy(blob(bgr)))[0, 0].numpy()
    np.testing.assert_array_equal(np.round(gray * 255).astype(np.uint8), expected)
    assert np.array_equal(gray, expected.astype(np.float32) / 255.0)


@pytest.mark.parametrize("flavour", ["disk", "aliked"])
def test_file_interface(files: dict[str, str], flavour: str) -> None:
    session = ort.InferenceSession(files[flavour], providers=["CPUExecutionProvider"])
    (image,) = session.get_inputs()
    assert image.name == "image" and image.type == "tensor(float)"
    assert image.shape[:2] == [1, 3] and all(isinstance(d, str) for d in image.shape[2:])  # dynamic H, W
    outputs = {o.name: o for o in session.get_outputs()}
    assert set(outputs) == {"keypoints", "scores", "descriptors"}
    rank = {"disk": (3, 2, 3), "aliked": (2, 1, 2)}[flavour]
    assert tuple(len(outputs[n].shape) for n in ("keypoints", "scores", "descriptors")) == rank
    assert outputs["keypoints"].type == ("tensor(int64)" if flavour == "disk" else "tensor(float)")
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["cvlearned.flavour"] == flavour and meta["cvlearned.model"] == "superpoint-lite"
    assert json.loads(meta["cvlearned.params"]) == {
        "max_keypoints": MAX_KEYPOINTS, "detection_threshold": 0.015, "nms_radius": 4, "border": 4, "refine_radius": 0}


@pytest.mark.parametrize("flavour", ["disk", "aliked"])
def test_raw_outputs(files: dict[str, str], feature: SuperPoint, astronaut: np.ndarray, flavour: str) -> None:
    session = ort.InferenceSession(files[flavour], providers=["CPUExecutionProvider"])
    for h, w in SIZES:
        image = photo(astronaut, h, w)
        ref_kps, _ = feature.detectAndCompute(image, None)
        kp, sc, de = session.run(["keypoints", "scores", "descriptors"], {"image": blob(image)})
        n = len(ref_kps)
        if flavour == "disk":
            assert kp.dtype == np.int64 and kp.shape == (1, n, 2) and sc.shape == (1, n) and de.shape == (1, n, 256)
            assert (sc > 0).all()
            pixels = kp[0]
        else:
            assert kp.dtype == np.float32 and kp.shape == (n, 2) and sc.shape == (n,) and de.shape == (n, 256)
            assert np.abs(kp).max() <= 1.0
            pixels = (kp + 1) / 2 * np.array([w, h])
        assert sc.dtype == de.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(de.reshape(n, -1), axis=1), 1.0, atol=1e-5)
        ref = {tuple(np.round(k.pt).astype(int)) for k in ref_kps}
        got = {tuple(p) for p in np.round(pixels).astype(int).tolist()}
        assert len(ref ^ got) <= 2 * max(1, n // 100)


@pytest.mark.parametrize("flavour", ["disk", "aliked"])
@pytest.mark.parametrize(("h", "w"), SIZES + [(101, 157)])
def test_onnxruntime_matches_pytorch(files, feature, astronaut, flavour: str, h: int, w: int) -> None:
    onnx_feature = OnnxFeature(path=files[flavour])
    image = photo(astronaut, h, w)
    assert_same_features(feature.detectAndCompute(image, None), onnx_feature.detectAndCompute(image, None))
    kps = onnx_feature.detect(image)
    assert len(kps) == len(onnx_feature.detectAndCompute(image, None)[0])
    assert kps[0].size == feature.keypoint_size and kps[0].angle == -1.0 and kps[0].octave == 0


@pytest.mark.parametrize("radius", [1, 2])
def test_refined_keypoints_match_pytorch(feature, weights, astronaut, tmp_path, radius: int) -> None:
    """refine_radius > 0: float keypoints (aliked flavour), equal to the PyTorch feature's in
    onnxruntime and in OpenCV's own ALIKED class."""
    refined = SuperPoint(weights=weights, device="cpu", max_keypoints=MAX_KEYPOINTS, refine_radius=radius)
    path = str(export_onnx(refined, tmp_path / f"refined-{radius}.onnx"))
    onnx_feature = OnnxFeature(path=path)
    assert json.loads(onnx_feature.metadata["params"])["refine_radius"] == radius
    assert onnx_feature.metadata["integer_keypoints"] == "0"
    for h, w in [(240, 320), (101, 157)]:
        image = photo(astronaut, h, w)
        ref = refined.detectAndCompute(image, None)
        assert_same_features(ref, onnx_feature.detectAndCompute(image, None), integer=False)
        if HAS_ALIKED:
            params = cv2.ALIKED_Params()
            params.inputSize = (0, 0)
            assert_same_features(ref, cv2.ALIKED_create(path, params).detectAndCompute(image, None), integer=False)
    # the plain feature's file with refine_radius given at export is the same graph
    same = OnnxFeature(path=str(export_onnx(feature, tmp_path / "override.onnx", refine_radius=radius)))
    image = photo(astronaut, 120, 160)
    assert_same_features(refined.detectAndCompute(image, None), same.detectAndCompute(image, None), integer=False)


def test_no_limit_and_overrides(feature, weights, astronaut, tmp_path) -> None:
    unlimited = SuperPoint(weights=weights, device="cpu", max_keypoints=None, nms_radius=2, border=6, refine_radius=0)
    path = export_onnx(feature, tmp_path / "all.onnx", max_keypoints=None, nms_radius=2, border=6)
    image = photo(astronaut, 120, 160)
    ref = unlimited.detectAndCompute(image, None)
    assert len(ref[0]) > MAX_KEYPOINTS
    assert_same_features(ref, OnnxFeature(path=path).detectAndCompute(image, None))


@pytest.mark.parametrize(("h", "w"), [(5, 7), (8, 8), (9, 17), (31, 2)])
def test_tiny_images(weights, tmp_path, h: int, w: int) -> None:
    feature = SuperPoint(weights=weights, device="cpu", border=0, nms_radius=1, detection_threshold=0.0,
                         refine_radius=0)
    path = export_onnx(feature, tmp_path / "tiny.onnx", flavour="aliked", max_keypoints=50)
    image = np.random.default_rng(h * w).integers(0, 256, (h, w), dtype=np.uint8)
    ref = SuperPoint(weights=weights, device="cpu", border=0, nms_radius=1, detection_threshold=0.0,
                     max_keypoints=50, refine_radius=0).detectAndCompute(image, None)
    got = OnnxFeature(path=path).detectAndCompute(image, None)
    assert len(got[0]) == len(ref[0]) > 0
    assert {k.pt for k in got[0]} == {k.pt for k in ref[0]}
    order = {k.pt: i for i, k in enumerate(ref[0])}
    idx = [order[k.pt] for k in got[0]]
    np.testing.assert_allclose(got[1], ref[1][idx], atol=1e-4)


def test_onnx_feature_api(files, feature, astronaut, tmp_path) -> None:
    onnx_feature = OnnxFeature_create(files["disk"], max_keypoints=50)
    assert onnx_feature.flavour == "disk" and onnx_feature.metadata["model"] == "superpoint-lite"
    assert onnx_feature.descriptorSize() == 256
    assert onnx_feature.descriptorType() == cv2.CV_32F and onnx_feature.defaultNorm() == cv2.NORM_L2
    assert onnx_feature.getDefaultName() == "Feature2D.ONNX" and not onnx_feature.empty()
    image = photo(astronaut, 120, 160)
    kps, desc = onnx_feature.detectAndCompute(image, None)
    full, _ = OnnxFeature(path=files["disk"]).detectAndCompute(image, None)
    assert len(kps) == 50 and [k.pt for k in kps] == [k.pt for k in full[:50]]
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[:, :80] = 255
    masked, _ = onnx_feature.detectAndCompute(image, mask)
    assert masked and all(k.pt[0] < 80 for k in masked)
    with pytest.raises(NotImplementedError, match="cannot describe given keypoints"):
        onnx_feature.compute(image, kps)
    onnx_feature.write(str(tmp_path / "params.yml"))
    other = OnnxFeature(path=files["aliked"])
    other.read(str(tmp_path / "params.yml"))
    assert other.config == onnx_feature.config and other.flavour == "disk"


def test_export_from_bare_net_and_model_untouched(weights, tmp_path) -> None:
    net = build_net("superpoint-lite")
    net.load_state_dict(torch.load(weights))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    spec = dense_model(net)
    assert isinstance(spec, DenseModel) and spec.name == "superpoint-lite" and spec.descriptor_dim == 256
    cfg = SuperPointConfig()
    assert spec.defaults == {"max_keypoints": cfg.max_keypoints, "detection_threshold": cfg.detection_threshold,
                             "nms_radius": cfg.nms_radius, "border": cfg.border, "refine_radius": cfg.refine_radius}
    path = export_onnx(net, tmp_path / "net.onnx", max_keypoints=64, opset=13)
    assert OnnxFeature(path=path).metadata["params"] == json.dumps(
        {"max_keypoints": 64, "detection_threshold": cfg.detection_threshold, "nms_radius": 4, "border": 4,
         "refine_radius": cfg.refine_radius})
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_no_keypoints(feature, astronaut, tmp_path) -> None:
    image = photo(astronaut, 128, 160)
    for flavour in ("disk", "aliked"):
        path = str(export_onnx(feature, tmp_path / f"none-{flavour}.onnx", flavour=flavour, detection_threshold=0.99))
        onnx_feature = OnnxFeature(path=path)
        ours = onnx_feature.detectAndCompute(image, None)
        if not (HAS_DISK and HAS_ALIKED):  # no OpenCV class runs the file: the installed SIFT's rule
            assert_empty_result(ours, "superpoint", onnx_feature)
        if flavour == "disk" and HAS_DISK:  # an empty output would trip DISK's assertion
            theirs = cv2.DISK_create(path, imageSize=(160, 128)).detectAndCompute(image, None)
            assert theirs[0] == () and np.shape(theirs[1]) == np.shape(ours[1])
        if flavour == "aliked" and HAS_ALIKED:  # empty tensors once crashed OpenCV's engine (SIGFPE)
            params = cv2.ALIKED_Params()
            params.inputSize = (0, 0)
            theirs = cv2.ALIKED_create(path, params).detectAndCompute(image, None)
            assert theirs[0] == () and np.shape(theirs[1]) == np.shape(ours[1])


# ------------------------------------------------------------------ OpenCV 5
@pytest.mark.skipif(not HAS_DISK, reason="cv2.DISK_create needs OpenCV >= 5")
@pytest.mark.parametrize(("h", "w"), DISK_SIZES)
def test_opencv_disk_matches_pytorch(files, feature, astronaut, h: int, w: int) -> None:
    disk = cv2.DISK_create(files["disk"], maxKeypoints=-1, scoreThreshold=0.0, imageSize=(w, h))
    image = photo(astronaut, h, w)
    ref = feature.detectAndCompute(image, None)
    assert_same_features(ref, disk.detectAndCompute(image, None), pos_tol=0.0)
    # a gray image reaches the graph as one channel: same result as the colour image
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert_same_features(ref, disk.detectAndCompute(gray, None), pos_tol=0.0)


@pytest.mark.skipif(not HAS_ALIKED, reason="cv2.ALIKED_create needs OpenCV >= 5")
@pytest.mark.parametrize(("h", "w"), SIZES + [(101, 157)])
def test_opencv_aliked_matches_pytorch(files, feature, astronaut, h: int, w: int) -> None:
    params = cv2.ALIKED_Params()
    params.inputSize = (0, 0)  # keep the image size (the default resizes to 640x640)
    aliked = cv2.ALIKED_create(files["aliked"], params)
    image = photo(astronaut, h, w)
    ref = feature.detectAndCompute(image, None)
    assert_same_features(ref, aliked.detectAndCompute(image, None))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert_same_features(ref, aliked.detectAndCompute(gray, None))


# --------------------------------------------------------------- bad inputs
def test_export_rejects_bad_arguments(feature, tmp_path) -> None:
    target = tmp_path / "x.onnx"
    with pytest.raises(ValueError, match="flavour must be one of"):
        export_onnx(feature, target, flavour="superglue")
    with pytest.raises(TypeError, match="cannot export a str"):
        export_onnx("superpoint", target)
    with pytest.raises(ValueError, match="max_keypoints"):
        export_onnx(feature, target, max_keypoints=0)
    with pytest.raises(ValueError, match="nms_radius"):
        export_onnx(feature, target, nms_radius=-1)
    with pytest.raises(ValueError, match="detection_threshold"):
        export_onnx(feature, target, detection_threshold=1.5)
    with pytest.raises(ValueError, match="refine_radius"):
        export_onnx(feature, target, refine_radius=9)
    with pytest.raises(ValueError, match="cannot carry refine_radius=2"):
        export_onnx(feature, target, flavour="disk", refine_radius=2)
    with pytest.raises(ValueError, match="opset"):
        export_onnx(feature, target, opset=9)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_onnx(feature, tmp_path / "missing" / "x.onnx")
    assert not target.exists()
    assert export_onnx(feature, target, max_keypoints=FROM_MODEL).exists()


def test_onnx_feature_rejects_bad_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        OnnxFeature(path=tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="path is required"):
        OnnxFeature()
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not an onnx model")
    with pytest.raises(ValueError, match="cannot load"):
        OnnxFeature(path=garbage)

    class Wrong(torch.nn.Module):
        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return image.mean(dim=(2, 3)), image.amax(dim=(2, 3))

    wrong = tmp_path / "wrong.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(Wrong(), (torch.rand(1, 3, 16, 16),), str(wrong), input_names=["image"],
                          output_names=["keypoints", "other"], opset_version=17, dynamo=False)
    with pytest.raises(ValueError, match=r"lacks output\(s\) \['scores', 'descriptors'\]"):
        OnnxFeature(path=wrong)
    with pytest.raises(ValueError, match="max_keypoints"):
        OnnxFeature(path=garbage, max_keypoints=0)
