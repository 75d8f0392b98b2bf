"""Export learned detector+descriptors to ONNX files that OpenCV 5 runs as its own features.

One file is one self-contained pipeline (H and W are dynamic axes: one file serves every
image size)::

    image (1, 3, H, W) float32 RGB / 255   (OpenCV feeds (1, 1, H, W) for a gray image)
      → gray, bit-exact with cv2.cvtColor(BGR2GRAY) of the 8-bit image
      → replicate-pad bottom/right to multiples of the network stride → network
      → heatmap cropped to (H, W) → NMS (max-pool equality) → threshold, border
      → top-k (max_keypoints, fixed at export) → sub-pixel refinement (refine_radius > 0:
        heat-weighted centroid of each peak's (2r+1)² window) → bilinear descriptor sampling,
        L2-normalised

>>> from cvlearned.adapters.onnx import export_onnx
>>> export_onnx(cvlearned.create("superpoint-lite"), "sp.onnx")     # doctest: +SKIP
>>> params = cv2.ALIKED_Params(); params.inputSize = (0, 0)            # (0, 0): no resizing
>>> cv2.ALIKED_create("sp.onnx", params).detectAndCompute(image, None)  # doctest: +SKIP

Flavours — the interface each OpenCV 5.0 class reads (checked by experiment on 5.0.0):

``"disk"`` for ``cv2.DISK_create(path, maxKeypoints=-1, scoreThreshold=0, imageSize=(W, H))``
    outputs ``keypoints`` (1, N, 2) int64 pixel (x, y) (OpenCV asserts int64, so
    ``refine_radius`` must be 0), ``scores`` (1, N) float32, ``descriptors`` (1, N, D)
    float32. OpenCV resizes every image to ``imageSize`` (default
    1024x1024; both sides must be multiples of 16) and scales keypoints back by
    W / imageSize.width, so results equal the PyTorch feature only when ``imageSize`` is the
    image size. It keeps scores strictly above ``scoreThreshold`` (default 0.0; every score
    this graph emits is > ``detection_threshold`` ≥ 0), sorts by score, applies
    ``maxKeypoints``, filters by ``mask`` afterwards. KeyPoint size 1, angle -1.
    ``DISK.descriptorSize()`` reports 128 whatever the file; the descriptors are D wide.

``"aliked"`` for ``cv2.ALIKED_create(path, params)``
    outputs ``keypoints`` (N, 2) float32 in [-1, 1], ``descriptors`` (N, D) float32,
    ``scores`` (N,) float32. OpenCV maps k back to pixels as (k + 1) / 2 * W (resp. H): no
    half-pixel shift, not align-corners. It resizes to ``params.inputSize`` (default
    640x640; ``(0, 0)`` = keep the image size, any size works), re-normalises descriptors
    when ``params.normalizeDescriptors``. KeyPoint size 1, angle -1, response = score.

Both find the input by the name ``image`` and the outputs by name (order does not matter),
convert BGR input to RGB and divide by 255.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)`` (torch 2.13), opset
17 by default (any of 13..20 the exporter accepts). The heatmap is ``DepthToSpace``, NMS is
``MaxPool`` + ``Equal``, top-k is ``TopK`` (constant K; for ``max_keypoints=None`` K is the
dynamic pixel count), descriptors and refinement windows are ``Gather`` s (no ``GridSample``).

Other dense models become exportable by registering a builder of a :class:`DenseModel` with
:func:`register_dense_model`. Requires ``onnx`` (``pip install cvlearned[onnx]``).
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cvlearned.adapters.onnx_runtime import METADATA_PREFIX
from cvlearned.models.heatmap import nms, refine_keypoints

__all__ = [
    "FLAVOURS",
    "DEFAULT_OPSET",
    "FROM_MODEL",
    "DenseModel",
    "register_dense_model",
    "dense_model",
    "export_onnx",
    "gray_from_rgb",
    "import_onnx",
    "output_file",
]

FLAVOURS = ("disk", "aliked")
DEFAULT_OPSET = 17
OPSETS = range(13, 21)
#: default of the detection parameters of :func:`export_onnx`: take the model's value
FROM_MODEL: Any = "from-model"
#: fixed-point weights of OpenCV's 8-bit RGB→gray (sum 2**15): bit-exact with cv2.cvtColor
GRAY_WEIGHTS = (9798, 19235, 3735)  # R, G, B
GRAY_SHIFT = 15


def output_file(path: str | os.PathLike) -> Path:
    """``Path(path)`` for an export to write: IsADirectoryError for a folder,
    FileNotFoundError when its folder does not exist."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"{str(out)!r} is a directory; pass a file path")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"directory {str(out.parent)!r} does not exist")
    return out


def import_onnx() -> ModuleType:
    """Import onnx or raise an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("ONNX export needs onnx: pip install cvlearned[onnx]") from exc
    return onnx


@dataclass(frozen=True)
class DenseModel:
    """A dense detector+descriptor network, as the export graph needs it.

    Attributes:
        net: ``(1, 1, Hp, Wp)`` gray in [0, 1] (Hp, Wp multiples of ``stride``) →
            ``(heatmap (1, Hp, Wp), descriptor map (1, D, Hp / stride, Wp / stride))``.
        stride: padding multiple and descriptor cell size in pixels.
        descriptor_dim: D.
        descriptor_offset: pixel coordinate of the centre of descriptor cell 0.
        name: model name stored in the file's metadata.
        defaults: the model's ``max_keypoints`` (None = no limit), ``detection_threshold``,
            ``nms_radius``, ``border`` and ``refine_radius`` (0 when absent), used for
            parameters left at :data:`FROM_MODEL`.
        keypoint_size: ``cv2.KeyPoint.size`` that :class:`~cvlearned.adapters.onnx_runtime.OnnxFeature`
            gives (stored in the metadata).
    """

    net: nn.Module
    stride: int
    descriptor_dim: int
    descriptor_offset: float
    name: str
    defaults: dict[str, Any] = field(default_factory=dict)
    keypoint_size: float = 1.0


_BUILDERS: list[tuple[Callable[[Any], bool], Callable[[Any], DenseModel]]] = []


def register_dense_model(accepts: Callable[[Any], bool], build: Callable[[Any], DenseModel]) -> None:
    """Teach :func:`export_onnx` a model type: ``build(model)`` is used when ``accepts(model)``."""
    _BUILDERS.append((accepts, build))


def dense_model(model: Any) -> DenseModel:
    """The :class:`DenseModel` of a feature or network (TypeError when nothing fits)."""
    if isinstance(model, DenseModel):
        return model
    for accepts, build in reversed(_BUILDERS):
        if accepts(model):
            return build(model)
    raise TypeError(
        f"cannot export a {type(model).__name__}: pass a SuperPoint feature, a SuperPointNet "
        "or a DenseModel (other models: register_dense_model)"
    )


# ----------------------------------------------------------------- SuperPoint
class _SuperPointDense(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from cvlearned.models.heatmap import heatmap_from_logits

        logits, desc = self.net(gray)
        return heatmap_from_logits(logits), desc


def _is_superpoint(model: Any) -> bool:
    from cvlearned.models.superpoint import SuperPoint, SuperPointNet

    return isinstance(model, (SuperPoint, SuperPointNet))


def _build_superpoint(model: Any) -> DenseModel:
    from cvlearned.models.heatmap import CELL
    from cvlearned.models.superpoint import PRESETS, SuperPoint, SuperPointConfig, infer_preset

    if isinstance(model, SuperPoint):
        cfg, net = model.config, model.net
        name = cfg.preset or "superpoint"
    else:
        cfg, net = SuperPointConfig(), model
        name = infer_preset(net.state_dict()) or "superpoint"
    return DenseModel(
        net=_SuperPointDense(net),
        stride=CELL,
        descriptor_dim=int(net.descriptor_dim),
        descriptor_offset=(CELL - 1) / 2.0,
        name=name if name in PRESETS else "superpoint",
        defaults={
            "max_keypoints": cfg.max_keypoints,
            "detection_threshold": cfg.detection_threshold,
            "nms_radius": cfg.nms_radius,
            "border": cfg.border,
            "refine_radius": cfg.refine_radius,
        },
        keypoint_size=float(SuperPoint.keypoint_size),
    )


register_dense_model(_is_superpoint, _build_superpoint)


# ------------------------------------------------------------- graph pieces
def gray_from_rgb(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) RGB in [0, 1] → (1, 1, H, W) gray in [0, 1], equal to OpenCV's 8-bit
    ``cvtColor`` (fixed point, round half up) of the uint8 image the input was made from."""
    # OpenCV feeds a gray image as one channel: expand makes R = G = B (then gray is exact)
    image = image.expand(-1, 3, -1, -1)
    px = torch.clamp(torch.round(image * 255.0), 0.0, 255.0)
    r, g, b = px[:, 0:1], px[:, 1:2], px[:, 2:3]
    wr, wg, wb = GRAY_WEIGHTS
    acc = r * float(wr) + g * float(wg) + b * float(wb) + float(1 << (GRAY_SHIFT - 1))
    return torch.floor(acc / float(1 << GRAY_SHIFT)) / 255.0


class _ExportGraph(nn.Module):
    """image (1, 3, H, W) → the outputs of ``flavour`` (see the module docstring)."""

    def __init__(self, dense: nn.Module, spec: DenseModel, flavour: str, *, max_keypoints: int | None,
                 detection_threshold: float, nms_radius: int, border: int, refine_radius: int) -> None:
        super().__init__()
        self.dense = dense
        self.stride = spec.stride
        self.offset = spec.descriptor_offset
        self.flavour = flavour
        self.max_keypoints = max_keypoints
        self.threshold = detection_threshold
        self.nms_radius = nms_radius
        self.border = border
        self.refine_radius = refine_radius

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
        k = self.max_keypoints
        if k is None:  # sort everything: TopK with K = H*W (a dynamic K)
            k = flat.shape[0]
        else:  # a fixed K; padding with K entries of -1 makes K ≤ length for every image size
            flat = torch.cat([flat, torch.full((k,), -1.0, dtype=flat.dtype, device=flat.device)])
        values, index = torch.topk(flat, k, largest=True, sorted=True)
        # the kept candidates are a prefix of the sorted list. OpenCV 5.0's engine dies with
        # SIGFPE on empty tensors in boolean indexing (GatherND) and in ReduceL2, so the
        # work is done on max(n, 1) rows and the outputs are cut to n rows at the very end
        n = (values > self.threshold).to(torch.int64).sum()
        # a 0-d tensor end keeps the length dynamic in the traced graph (torch's stubs take numbers)
        rows = torch.arange(torch.maximum(n, torch.ones_like(n)), device=image.device)  # type: ignore[call-overload]
        values = values[rows]
        index = index[rows]
        x = index % w
        y = torch.div(index, w, rounding_mode="floor")
        if self.refine_radius > 0:
            refined = refine_keypoints(heat[0], torch.stack([x, y], dim=1), self.refine_radius)
            x, y = refined[:, 0], refined[:, 1]

        # bilinear descriptor sampling at the cell centres, clamped to the border cells
        # (grid_sample with align_corners=True, written with Gather: no GridSample needed)
        dshape = torch._shape_as_tensor(desc)  # (1, D, Hc, Wc) as int64
        hc, wc = dshape[2], dshape[3]
        d = desc[0].reshape(desc.shape[1], -1)  # (D, Hc*Wc)
        cx = torch.minimum(torch.clamp((x.to(torch.float32) - self.offset) / s, min=0.0), (wc - 1).to(torch.float32))
        cy = torch.minimum(torch.clamp((y.to(torch.float32) - self.offset) / s, min=0.0), (hc - 1).to(torch.float32))
        x0, y0 = torch.floor(cx), torch.floor(cy)
        fx, fy = cx - x0, cy - y0
        x0i, y0i = x0.to(torch.int64), y0.to(torch.int64)
        x1i = torch.minimum(x0i + 1, wc - 1)
        y1i = torch.minimum(y0i + 1, hc - 1)
        sampled = (
            d[:, y0i * wc + x0i] * ((1 - fx) * (1 - fy))
            + d[:, y0i * wc + x1i] * (fx * (1 - fy))
            + d[:, y1i * wc + x0i] * ((1 - fx) * fy)
            + d[:, y1i * wc + x1i] * (fx * fy)
        )
        descriptors = F.normalize(sampled.t(), p=2.0, dim=1)

        if self.flavour == "disk":
            # OpenCV 5.0's DISK asserts on empty outputs: with n = 0 one row of score 0 is
            # left, which DISK drops (it keeps scores > scoreThreshold, default 0)
            keypoints = torch.stack([x, y], dim=1)
            values = torch.where(rows < n, values, torch.zeros_like(values))
            return keypoints[None], values[None], descriptors[None]
        out = torch.arange(n, device=image.device)  # type: ignore[call-overload]  # (n,): the final cut, possibly empty
        values, descriptors, x, y = values[out], descriptors[out], x[out], y[out]
        # aliked: OpenCV maps k in [-1, 1] back to pixels as (k + 1) / 2 * size (size = W or H)
        size = torch._shape_as_tensor(image).to(torch.float32)
        nx = x.to(torch.float32) * 2.0 / size[3] - 1.0
        ny = y.to(torch.float32) * 2.0 / size[2] - 1.0
        return torch.stack([nx, ny], dim=1), descriptors, values


def _output_names(flavour: str) -> list[str]:
    return ["keypoints", "scores", "descriptors"] if flavour == "disk" else ["keypoints", "descriptors", "scores"]


def _resolve(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value == FROM_MODEL:
            if key not in defaults:
                raise ValueError(f"{key} must be given: the model has no default for it")
            value = defaults[key]
        out[key] = value
    k = out["max_keypoints"]
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k <= 0):
        raise ValueError(f"max_keypoints must be None (no limit) or a positive int, got {k!r}")
    t = out["detection_threshold"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t < 1.0:
        raise ValueError(f"detection_threshold must be a number in [0, 1), got {t!r}")
    out["detection_threshold"] = float(t)
    for key, top in (("nms_radius", 64), ("border", 64), ("refine_radius", 8)):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise ValueError(f"{key} must be an int in [0, {top}], got {value!r}")
    return out


def export_onnx(
    model: Any,
    path: str | os.PathLike,
    *,
    flavour: str = "aliked",
    max_keypoints: int | None = FROM_MODEL,
    detection_threshold: float = FROM_MODEL,
    nms_radius: int = FROM_MODEL,
    border: int = FROM_MODEL,
    refine_radius: int = FROM_MODEL,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Export ``model`` to an ONNX file that ``cv2.DISK_create`` / ``cv2.ALIKED_create`` load.

    Args:
        model: a :class:`~cvlearned.models.superpoint.SuperPoint` feature (its configuration
            gives the detection defaults), a ``SuperPointNet`` (``SuperPointConfig``
            defaults), or a :class:`DenseModel`. The model is copied, never moved.
        path: the file to write (its directory must exist); overwritten.
        flavour: ``"aliked"`` (float keypoints) or ``"disk"`` (int64 keypoints: needs
            ``refine_radius=0``); the output layout, see the module docstring.
        max_keypoints: top-k fixed in the graph; None = every keypoint (sorted).
        detection_threshold: keep heatmap scores strictly above this.
        nms_radius: NMS window 2r+1 (0 = off).
        border: drop keypoints closer than this to the image border.
        refine_radius: sub-pixel keypoints at the heat-weighted centroid of each peak's
            (2r+1)² window (0 = integer pixels; models without this option: 0).
        opset: ONNX opset (13..20).

    Returns:
        ``Path(path)``. The file's metadata (``cvlearned.*`` keys) records the model,
        flavour and parameters for :class:`~cvlearned.adapters.onnx_runtime.OnnxFeature`.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {list(FLAVOURS)}, got {flavour!r}")
    if isinstance(opset, bool) or opset not in OPSETS:
        raise ValueError(f"opset must be an int in [{OPSETS.start}, {OPSETS.stop - 1}], got {opset!r}")
    spec = dense_model(model)
    params = _resolve(
        {"max_keypoints": max_keypoints, "detection_threshold": detection_threshold,
         "nms_radius": nms_radius, "border": border, "refine_radius": refine_radius},
        {"refine_radius": 0, **spec.defaults},
    )
    if flavour == "disk" and params["refine_radius"] > 0:
        raise ValueError(
            f"flavour='disk' writes int64 pixel keypoints (OpenCV's DISK asserts CV_64S), so it cannot "
            f"carry refine_radius={params['refine_radius']}: export flavour='aliked' (float keypoints) "
            "or pass refine_radius=0 for integer keypoints"
        )
    out = output_file(path)
    onnx = import_onnx()

    dense = copy.deepcopy(spec.net).float().cpu().eval()
    graph = _ExportGraph(dense, spec, flavour, **params).eval()
    names = _output_names(flavour)
    n_axis = 1 if flavour == "disk" else 0
    dynamic = {"image": {2: "height", 3: "width"}, **{name: {n_axis: "num_keypoints"} for name in names}}
    example = torch.rand(1, 3, 6 * spec.stride + 3, 8 * spec.stride + 5, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings and the TorchScript deprecation notice
            torch.onnx.export(
                graph, (example,), str(out), input_names=["image"], output_names=names,
                dynamic_axes=dynamic, opset_version=opset, dynamo=False, do_constant_folding=True,
            )
    except Exception as exc:
        raise RuntimeError(
            f"ONNX export of {spec.name} failed with the TorchScript exporter "
            f"(torch.onnx.export(..., dynamo=False), torch {torch.__version__}): {exc}"
        ) from exc
    proto = onnx.load(str(out))
    metadata = {
        "model": spec.name, "flavour": flavour, "descriptor_dim": str(spec.descriptor_dim),
        "keypoint_size": repr(float(spec.keypoint_size)),
        "integer_keypoints": "1" if params["refine_radius"] == 0 else "0",
        "params": json.dumps(params),
    }
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, value
    proto.producer_name = "cvlearned"
    onnx.save(proto, str(out))
    return out
