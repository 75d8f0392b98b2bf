"""Export learned detector+descriptors to ONNX files that OpenCV 5's ``cv2.DISK_create`` and
``cv2.ALIKED_create`` load and run, and that :class:`cvlearned.models.onnx_runtime.OnnxFeature`
runs with onnxruntime.

The whole pipeline is inside the graph, so the file is self-contained:

    image (1, 3, H, W) float32 RGB / 255
      → gray (bit-exact ``cv2.cvtColor(..., COLOR_BGR2GRAY)`` of the uint8 image)
      → replicate-pad bottom/right to multiples of the network stride
      → network → heatmap, crop to (H, W) → NMS (max-pool equality)
      → threshold, border → top-k (``max_keypoints`` fixed at export)
      → bilinear descriptor sampling, L2-normalised

H and W are dynamic axes: one file serves every image size.

Flavours (output names and layouts OpenCV 5.0 reads; checked by experiment):

    "disk"    keypoints (1, N, 2) int64 pixel (x, y); scores (1, N) float32 (> 0);
              descriptors (1, N, D) float32
    "aliked"  keypoints (N, 2) float32 in [-1, 1]; descriptors (N, D) float32; scores (N,)

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)``, opset 17 by default.

Other dense models can be exported by registering a :class:`DenseModel` builder with
:func:`register_dense_model`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FLAVOURS",
    "DEFAULT_OPSET",
    "DEFAULT_MAX_KEYPOINTS",
    "DenseModel",
    "register_dense_model",
    "dense_model",
    "export_onnx",
    "gray_from_rgb",
]

FLAVOURS = ("disk", "aliked")
DEFAULT_OPSET = 17
#: used when neither ``max_keypoints=`` nor the feature's configuration gives one
DEFAULT_MAX_KEYPOINTS = 2048
#: fixed-point weights of OpenCV's RGB→gray for 8-bit images (sum 2**15); bit-exact
GRAY_WEIGHTS = (9798, 19235, 3735)  # R, G, B
GRAY_SHIFT = 15


@dataclass(frozen=True)
class DenseModel:
    """A dense detector+descriptor network ready to be wrapped in the export graph.

    Attributes:
        net: ``(1, 1, Hp, Wp)`` gray in [0, 1] (Hp, Wp multiples of ``stride``) →
            ``(heatmap (1, Hp, Wp), descriptor map (1, D, Hp/stride, Wp/stride))``.
        stride: padding multiple and descriptor cell size in pixels.
        descriptor_dim: D.
        descriptor_offset: pixel position of the centre of descriptor cell 0 (along x and y).
        defaults: detection parameters of the model (``max_keypoints``, ``detection_threshold``,
            ``nms_radius``, ``border``) used when the export call does not give them.
        name: for error messages and the ONNX producer string.
    """

    net: nn.Module
    stride: int
    descriptor_dim: int
    descriptor_offset: float
    defaults: dict[str, Any]
    name: str


_BUILDERS: list[tuple[Callable[[Any], bool], Callable[[Any], DenseModel]]] = []


def register_dense_model(accepts: Callable[[Any], bool], build: Callable[[Any], DenseModel]) -> None:
    """Teach :func:`export_onnx` a new model type: ``build(obj)`` is used when ``accepts(obj)``."""
    _BUILDERS.append((accepts, build))


def dense_model(model: Any) -> DenseModel:
    """The :class:`DenseModel` of a feature or network (raises TypeError if none fits)."""
    if isinstance(model, DenseModel):
        return model
    for accepts, build in reversed(_BUILDERS):
        if accepts(model):
            return build(model)
    raise TypeError(
        f"cannot export {type(model).__name__}: pass a SuperPoint feature, a SuperPointNet, "
        "or a DenseModel (or register a builder with register_dense_model)"
    )


# ----------------------------------------------------------------- SuperPoint
class _SuperPointDense(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from cvlearned.models.superpoint import heatmap_from_logits

        logits, desc = self.net(gray)
        return heatmap_from_logits(logits), desc


def _is_superpoint(model: Any) -> bool:
    from cvlearned.models.superpoint import SuperPoint, SuperPointNet

    return isinstance(model, (SuperPoint, SuperPointNet))


def _build_superpoint(model: Any) -> DenseModel:
    from cvlearned.models.superpoint import CELL, SuperPoint, SuperPointConfig

    if isinstance(model, SuperPoint):
        cfg = model.config
        net = model.net
    else:
        cfg = SuperPointConfig()
        net = model
    defaults = {
        "max_keypoints": cfg.max_keypoints,
        "detection_threshold": cfg.detection_threshold,
        "nms_radius": cfg.nms_radius,
        "border": cfg.border,
    }
    return DenseModel(
        net=_SuperPointDense(net),
        stride=CELL,
        descriptor_dim=int(net.descriptor_dim),
        descriptor_offset=(CELL - 1) / 2.0,
        defaults=defaults,
        name="superpoint",
    )


register_dense_model(_is_superpoint, _build_superpoint)


# ------------------------------------------------------------- graph pieces
def gray_from_rgb(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) RGB in [0, 1] → (1, 1, H, W) gray in [0, 1], equal to OpenCV's 8-bit
    ``cvtColor`` (fixed point, round half up) of the uint8 image the input was made from."""
    px = torch.clamp(torch.round(image * 255.0), 0.0, 255.0)
    r, g, b = px[:, 0:1], px[:, 1:2], px[:, 2:3]
    wr, wg, wb = GRAY_WEIGHTS
    acc = r * float(wr) + g * float(wg) + b * float(wb) + float(1 << (GRAY_SHIFT - 1))
    return torch.floor(acc / float(1 << GRAY_SHIFT)) / 255.0


class _ExportGraph(nn.Module):
    def __init__(self, model: DenseModel, flavour: str, max_keypoints: int, threshold: float,
                 nms_radius: int, border: int) -> None:
        super().__init__()
        self.dense = model.net
        self.stride = model.stride
        self.offset = model.descriptor_offset
        self.flavour = flavour
        self.max_keypoints = max_keypoints
        self.threshold = threshold
        self.nms_radius = nms_radius
        self.border = border

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from cvlearned.models.superpoint import nms

        s = self.stride
        h, w = image.shape[2], image.shape[3]
        gray = gray_from_rgb(image)
        # replicate-pad to multiples of the stride: pad by stride-1, crop to the ceiling multiple
        hp = (h + (s - 1)) // s * s
        wp = (w + (s - 1)) // s * s
        gray = F.pad(gray, (0, s - 1, 0, s - 1), mode="replicate")[:, :, :hp, :wp]
        heat, desc = self.dense(gray)
        heat = heat[:, :h, :w]
        scores = nms(heat, self.nms_radius)[0]  # (H, W)

        # threshold and border
        valid = scores > self.threshold
        if self.border > 0:
            ys = torch.arange(h, device=image.device)
            xs = torch.arange(w, device=image.device)
            b = self.border
            inner_y = (ys >= b) & (ys < h - b)
            inner_x = (xs >= b) & (xs < w - b)
            valid = valid & inner_y[:, None] & inner_x[None, :]
        flat = torch.where(valid, scores, torch.full_like(scores, -1.0)).reshape(-1)
        # top-k; padding with k entries of -1 makes k ≤ length for every image size
        k = self.max_keypoints
        flat = torch.cat([flat, torch.full((k,), -1.0, dtype=flat.dtype, device=flat.device)])
        values, index = torch.topk(flat, k, largest=True, sorted=True)
        keep = values > self.threshold
        values = values[keep]
        index = index[keep]
        x = index % w
        y = torch.div(index, w, rounding_mode="floor")

        # bilinear descriptor sampling at the cell centres, clamped to the border cells
        d = desc[0]  # (D, Hc, Wc)
        hc, wc = d.shape[1], d.shape[2]
        d = d.reshape(d.shape[0], -1)
        cx = torch.clamp((x.to(torch.float32) - self.offset) / s, min=0.0)
        cy = torch.clamp((y.to(torch.float32) - self.offset) / s, min=0.0)
        cx = torch.minimum(cx, (wc - 1) * torch.ones_like(cx))
        cy = torch.minimum(cy, (hc - 1) * torch.ones_like(cy))
        x0 = torch.floor(cx)
        y0 = torch.floor(cy)
        fx = cx - x0
        fy = cy - y0
        x0i = x0.to(torch.int64)
        y0i = y0.to(torch.int64)
        x1i = torch.minimum(x0i + 1, (wc - 1) * torch.ones_like(x0i))
        y1i = torch.minimum(y0i + 1, (hc - 1) * torch.ones_like(y0i))
        sampled = (
            d[:, y0i * wc + x0i] * ((1 - fx) * (1 - fy))
            + d[:, y0i * wc + x1i] * (fx * (1 - fy))
            + d[:, y1i * wc + x0i] * ((1 - fx) * fy)
            + d[:, y1i * wc + x1i] * (fx * fy)
        )
        descriptors = F.normalize(sampled.t(), p=2.0, dim=1)

        if self.flavour == "disk":
            keypoints = torch.stack([x, y], dim=1)
            return keypoints[None], values[None], descriptors[None]
        # aliked: [-1, 1] with -1 / +1 at the centres of the first / last pixel
        wf = (w - 1) * torch.ones((), dtype=torch.float32)
        hf = (h - 1) * torch.ones((), dtype=torch.float32)
        nx = x.to(torch.float32) / torch.clamp(wf, min=1.0) * 2.0 - 1.0
        ny = y.to(torch.float32) / torch.clamp(hf, min=1.0) * 2.0 - 1.0
        return torch.stack([nx, ny], dim=1), descriptors, values


def _output_names(flavour: str) -> list[str]:
    if flavour == "disk":
        return ["keypoints", "scores", "descriptors"]
    return ["keypoints", "descriptors", "scores"]


def export_onnx(
    model: Any,
    path: str | os.PathLike,
    *,
    flavour: str = "disk",
    max_keypoints: int | None = None,
    detection_threshold: float | None = None,
    nms_radius: int | None = None,
    border: int | None = None,
    opset: int = DEFAULT_OPSET,
    example_size: tuple[int, int] = (240, 320),
) -> Path:
    """Export ``model`` (a SuperPoint feature or network, or a :class:`DenseModel`) to ``path``.

    Parameters not given come from the feature's configuration (SuperPoint defaults for a
    bare network); ``max_keypoints`` falls back to :data:`DEFAULT_MAX_KEYPOINTS` when the
    configuration has no limit. ``example_size`` (H, W) is the tracing input's size only.
    Returns the path written.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {list(FLAVOURS)}, got {flavour!r}")
    spec = dense_model(model)
    params = dict(spec.defaults)
    for key, value in (("max_keypoints", max_keypoints), ("detection_threshold", detection_threshold),
                       ("nms_radius", nms_radius), ("border", border)):
        if value is not None:
            params[key] = value
    k = params.get("max_keypoints") or DEFAULT_MAX_KEYPOINTS
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ValueError(f"max_keypoints must be a positive int, got {k!r}")
    threshold = float(params["detection_threshold"])
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"detection_threshold must be in [0, 1), got {threshold!r}")
    for key in ("nms_radius", "border"):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
            raise ValueError(f"{key} must be an int in [0, 64], got {value!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or not 11 <= opset <= 20:
        raise ValueError(f"opset must be an int in [11, 20], got {opset!r}")

    graph = _ExportGraph(spec, flavour, k, threshold, params["nms_radius"], params["border"])
    graph = graph.cpu().eval()
    out = Path(path)
    if out.parent and not out.parent.exists():
        raise FileNotFoundError(f"directory {str(out.parent)!r} does not exist")
    h, w = example_size
    example = torch.rand(1, 3, h, w)
    names = _output_names(flavour)
    n_axis = 1 if flavour == "disk" else 0
    dynamic = {"image": {2: "height", 3: "width"}, **{name: {n_axis: "num_keypoints"} for name in names}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (example,), str(out), input_names=["image"], output_names=names,
            dynamic_axes=dynamic, opset_version=opset, dynamo=False, do_constant_folding=True,
        )
    return out
