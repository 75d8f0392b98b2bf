"""Export the XFeat-family feature to the ONNX layout OpenCV 5.1's ``cv2.XFeat`` runs.

>>> from cvlearned.adapters.onnx_xfeat import export_xfeat_onnx
>>> export_xfeat_onnx(cvlearned.create("xfeat-lite"), "xfeat.onnx")        # doctest: +SKIP
>>> xfeat = cv2.XFeat.create("xfeat.onnx", -1, 0.05, (640, 480))          # doctest: +SKIP
>>> keypoints, descriptors = xfeat.detectAndCompute(image, None)          # doctest: +SKIP

What ``cv2.XFeat`` does (read from OpenCV 5.1's ``feature2d_xfeat.cpp``): it converts the
image to gray, letterboxes it into ``inputSize`` (aspect kept, centred, zero padding),
feeds ``(1, 1, H, W)`` float32 gray / 255, and reads three outputs by name:
``output_feats`` (1, 64, h, w) descriptors, ``output_keypoints`` (1, 65, H/8, W/8)
logits, ``output_heatmap`` (1, 1, h', w') reliability. It takes the softmax of the logits
as a heatmap (8x8 pixels per cell, dustbin dropped), keeps 5x5 maxima above
``scoreThreshold``, scores them heatmap x reliability, keeps the ``maxKeypoints`` best and
samples ``output_feats`` bilinearly at each, L2-normalised. Both maps are sampled at input
pixel x as map column ``x * (w - 1) / (W - 1)`` (align-corners), which is not where our
1/8 maps' cells sit (pixel 8j + 3.5): the export therefore upsamples the descriptor and
reliability maps to the input's full size (bilinear, half-pixel centres), where that
mapping is the identity, so ``cv2.XFeat`` samples exactly what the PyTorch feature samples.

The graph: image → replicate-pad to multiples of 8 → network (batch norms folded) → the
three outputs cropped to H x W (H and W are dynamic axes). With ``inputSize`` equal to the
image size (no letterbox) and the feature's ``nms_radius=2``, ``border=0``,
``refine_radius=0``, ``cv2.XFeat`` gives the PyTorch feature's keypoints and descriptors
(tests/test_xfeat_onnx.py); other input sizes resize the image first, and letterbox bars
change the instance normalisation of the input, so results differ from the PyTorch
feature on the original image. Requires ``onnx`` (``pip install cvlearned[onnx]``).
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvlearned.adapters.onnx import DEFAULT_OPSET, OPSETS, import_onnx, output_file
from cvlearned.adapters.onnx_runtime import METADATA_PREFIX

__all__ = ["OUTPUT_NAMES", "export_xfeat_onnx"]

#: the output names ``cv2.XFeat`` requires
OUTPUT_NAMES = ("output_feats", "output_keypoints", "output_heatmap")
CELL = 8


class _XFeatGraph(nn.Module):
    """(1, 1, H, W) gray in [0, 1] → (feats (1, D, H, W), logits (1, 65, Hp/8, Wp/8),
    reliability (1, 1, H, W))."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, w = image.shape[2], image.shape[3]
        hp = (h + (CELL - 1)) // CELL * CELL
        wp = (w + (CELL - 1)) // CELL * CELL
        padded = F.pad(image, (0, CELL - 1, 0, CELL - 1), mode="replicate")[:, :, :hp, :wp]
        logits, descriptors, reliability = self.net(padded)
        feats = F.interpolate(descriptors, scale_factor=float(CELL), mode="bilinear", align_corners=False)
        reliability = F.interpolate(reliability, scale_factor=float(CELL), mode="bilinear", align_corners=False)
        return feats[:, :, :h, :w], logits, reliability[:, :, :h, :w]


def export_xfeat_onnx(model: Any, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``model`` (an :class:`~cvlearned.models.xfeat.XFeat` feature or an
    :class:`~cvlearned.models.xfeat_net.XFeatNet`) to ``path`` for ``cv2.XFeat.create``.

    The model is copied, never moved. Returns ``Path(path)``; the file's metadata records
    the model name (``cvlearned.model``) and ``cvlearned.flavour`` = ``"xfeat"``.
    """
    from cvlearned.models.xfeat import XFeat, infer_preset
    from cvlearned.models.xfeat_net import XFeatNet

    if isinstance(model, XFeat):
        net, name = model.net, model.config.preset
    elif isinstance(model, XFeatNet):
        net, name = model, infer_preset(model.state_dict()) or "xfeat"
    else:
        raise TypeError(f"export_xfeat_onnx needs an XFeat feature or an XFeatNet, got {type(model).__name__}")
    if isinstance(opset, bool) or opset not in OPSETS:
        raise ValueError(f"opset must be an int in [{OPSETS.start}, {OPSETS.stop - 1}], got {opset!r}")
    out = output_file(path)
    onnx = import_onnx()
    net = copy.deepcopy(net).float().cpu().eval().to(memory_format=torch.contiguous_format)
    if any(isinstance(m, nn.BatchNorm2d) for m in net.modules()):
        net.fuse_batchnorm()
    graph = _XFeatGraph(net).eval()
    dynamic = {"image": {2: "height", 3: "width"}, "output_feats": {2: "height", 3: "width"},
               "output_keypoints": {2: "cells_y", 3: "cells_x"}, "output_heatmap": {2: "height", 3: "width"}}
    example = torch.rand(1, 1, 6 * CELL + 3, 8 * CELL + 5, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings and the TorchScript deprecation notice
            torch.onnx.export(graph, (example,), str(out), input_names=["image"], output_names=list(OUTPUT_NAMES),
                              dynamic_axes=dynamic, opset_version=opset, dynamo=False, do_constant_folding=True)
    except Exception as exc:
        raise RuntimeError(f"ONNX export of {name} failed with the TorchScript exporter "
                           f"(torch.onnx.export(..., dynamo=False), torch {torch.__version__}): {exc}") from exc
    proto = onnx.load(str(out))
    for key, value in {"model": name, "flavour": "xfeat", "descriptor_dim": str(net.descriptor_dim)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, value
    proto.producer_name = "cvlearned"
    onnx.save(proto, str(out))
    return out
