"""ONNX export of the XFeat-family feature for OpenCV 5.1's cv2.XFeat."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip("onnx")

from cvlearned.adapters.onnx_xfeat import OUTPUT_NAMES, export_xfeat_onnx  # noqa: E402
from cvlearned.models.xfeat import XFeat, build_net  # noqa: E402
from cvlearned.weight_files import load_manifest  # noqa: E402

needs_cv2_xfeat = pytest.mark.skipif(not hasattr(cv2, "XFeat"), reason="this OpenCV has no cv2.XFeat (5.1+)")
SHIPPED = any(entry.model == "xfeat-lite" for entry in load_manifest().values())


def _photo_like(shape: tuple[int, int]) -> np.ndarray:
    noise = np.random.default_rng(3).random(shape) * 255
    image = cv2.normalize(cv2.GaussianBlur(noise.astype(np.uint8), (0, 0), 2.5), None, 0, 255, cv2.NORM_MINMAX)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def _by_position(keypoints, descriptors):
    pts = np.array([k.pt for k in keypoints])
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    return pts[order], np.array([k.response for k in keypoints])[order], descriptors[order]


@needs_cv2_xfeat
@pytest.mark.parametrize("weights", ["random", pytest.param("shipped", marks=pytest.mark.skipif(
    not SHIPPED, reason="xfeat-lite weights not shipped"))])
@pytest.mark.parametrize("shape", [(240, 320), (200, 264)])
def test_cv2_xfeat_runs_the_export_like_the_pytorch_feature(weights, shape, xfeat_random_file, tmp_path) -> None:
    params = {"device": "cpu", "detection_threshold": 0.01, "max_keypoints": 500, "nms_radius": 2, "border": 0,
              "refine_radius": 0}
    feature = XFeat(weights=xfeat_random_file, **params) if weights == "random" else XFeat(**params)
    path = export_xfeat_onnx(feature, tmp_path / "xfeat.onnx")
    image = _photo_like(shape)
    ours = feature.detectAndCompute(image, None)
    native = cv2.XFeat.create(str(path), 500, 0.01, (shape[1], shape[0]))
    theirs = native.detectAndCompute(image, None)
    assert len(ours[0]) > 50 and len(theirs[0]) == len(ours[0])
    pts_a, resp_a, desc_a = _by_position(*ours)
    pts_b, resp_b, desc_b = _by_position(*theirs)
    np.testing.assert_array_equal(pts_a, pts_b)
    np.testing.assert_allclose(resp_a, resp_b, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(desc_a, desc_b, atol=1e-4)


def test_export_metadata_and_outputs(xfeat_random_file, tmp_path) -> None:
    import onnx

    path = export_xfeat_onnx(XFeat(weights=xfeat_random_file, device="cpu"), tmp_path / "x.onnx")
    proto = onnx.load(str(path))
    assert [o.name for o in proto.graph.output] == list(OUTPUT_NAMES)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["cvlearned.flavour"] == "xfeat" and meta["cvlearned.model"] == "xfeat-lite"


def test_export_rejects_other_models(tmp_path) -> None:
    with pytest.raises(TypeError, match="XFeat"):
        export_xfeat_onnx(torch.nn.Conv2d(1, 1, 3), tmp_path / "x.onnx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_xfeat_onnx(build_net().eval(), tmp_path / "missing" / "x.onnx")
    with pytest.raises(ValueError, match="opset"):
        export_xfeat_onnx(build_net().eval(), tmp_path / "x.onnx", opset=9)


def test_export_leaves_the_model_untouched(xfeat_random_file, tmp_path) -> None:
    net = build_net()
    net.load_state_dict(torch.load(xfeat_random_file, weights_only=True))
    net.eval()
    export_xfeat_onnx(net, tmp_path / "x.onnx")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
