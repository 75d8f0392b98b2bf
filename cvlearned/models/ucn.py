"""Universal Correspondence Network (Choy, Gwak, Savarese, Chandraker, NIPS 2016), CPU-sized.

A fully convolutional network maps a gray image to a dense, L2-normalised descriptor map
at stride 4; correspondences are nearest neighbours between maps. "ucn-lite":

    conv 8 | maxpool 2 | conv 16, conv 16 | maxpool 2 | conv 48, conv 48   (3x3 conv + BN + ReLU)
    convolutional spatial transformer, 3x3 neighbourhoods → 48 (+ BN + ReLU)
    1x1 conv → 128, L2 normalise over channels

1.50 G multiply-accumulates at 640x480 (:func:`count_macs`: 1.47 G in convolutions, 0.03 G
in the transformer's resampling; 1.33 G without the transformer). "ucn-lite-nost" replaces the
transformer by a plain 3x3 conv (the same network at the identity transform);
"ucn-lite-affine" predicts a full 2x2 affine map per location instead of rotation + scale
(:mod:`cvlearned.models.conv_spatial_transformer`). "ucn" is the same network with widths
16 | 32, 32 | 96, 96 and a 96-wide transformer (5.39 G multiply-accumulates at 640x480,
234,563 parameters).

Coordinates (as :mod:`cvlearned.evaluation.metrics.pck`): map location (i, j) is the
feature of image pixel ``(x, y) = (j*s + (s-1)/2, i*s + (s-1)/2)``, s = 4 — the centre of
the 4x4 pixel block it covers. The 2x2 max-pools make this exact: each pooled cell is
centred between its two input cells. :class:`UCN` wraps the network as a ``cv2.Feature2D``
with a choice of keypoint detectors (``sift``, ``grid``, ``d2net`` or any object with
``detect``) and descriptors sampled bilinearly from the map.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, cast

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvlearned.baselines.sift import SIFTConfig, build_sift
from cvlearned.config import (
    FeatureConfig, check_choice, check_int_range, check_network_fields, check_optional_positive_int,
    check_preset_descriptor_dim, check_range,
)
from cvlearned.device import resolve_device
from cvlearned.feature2d import Keypoints, _decode_value
from cvlearned.image_input import as_gray_uint8
from cvlearned.keypoints import keypoints_to_array, sanitize_detected, unique_locations
from cvlearned.models.conv_spatial_transformer import ConvSpatialTransformer
from cvlearned.models.describe_and_detect import detect_keypoints, grid_keypoints, soft_detection_score
from cvlearned.models.detectors import detector_name
from cvlearned.models.network_feature import NetworkFeature, memory_format_for
from cvlearned import weight_files
from cvlearned.weight_files import load_into

__all__ = [
    "PRESETS", "DETECTORS", "STRIDE", "UCNPreset", "UCNNet", "UCNConfig", "UCN", "UCN_create", "build_net",
    "infer_preset", "count_macs", "receptive_field", "pad_to_stride", "cell_centres", "sample_feature_map",
]

STRIDE = 4
DETECTORS = ("sift", "grid", "d2net")


@dataclass(frozen=True)
class UCNPreset:
    """A named network size (its shipped weight file, if any, is the manifest record of ``name``).

    Attributes:
        channels: encoder widths at full, 1/2 and 1/4 resolution.
        st_channels: output width of the (spatial-transformer) neighbourhood convolution.
        spatial_transformer: False = a plain K x K conv instead (the ablation).
        transform: ``"rotation_scale"`` or ``"affine"`` (when ``spatial_transformer``).
        kernel: neighbourhood side K (odd).
        st_hidden: width of the transform-predicting branch.
    """

    name: str
    display_name: str
    channels: tuple[int, int, int]
    st_channels: int
    descriptor_dim: int
    spatial_transformer: bool
    transform: str = "rotation_scale"
    kernel: int = 3
    st_hidden: int = 16


PRESETS: dict[str, UCNPreset] = {
    "ucn": UCNPreset("ucn", "UCN", (16, 32, 96), 96, 128, True),
    "ucn-lite": UCNPreset("ucn-lite", "UCN-Lite", (8, 16, 48), 48, 128, True),
    "ucn-lite-nost": UCNPreset("ucn-lite-nost", "UCN-Lite-NoST", (8, 16, 48), 48, 128, False),
    "ucn-lite-affine": UCNPreset("ucn-lite-affine", "UCN-Lite-Affine", (8, 16, 48), 48, 128, True,
                                 transform="affine"),
}


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class UCNNet(nn.Module):
    """(B, 1, H, W) gray in [0, 1], H and W multiples of 4 → (B, D, H/4, W/4) unit-norm descriptors."""

    stride = STRIDE

    def __init__(self, channels: tuple[int, int, int] = (8, 16, 48), st_channels: int = 48,
                 descriptor_dim: int = 128, transform: str | None = "rotation_scale", kernel: int = 3,
                 st_hidden: int = 16) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.encoder = nn.Sequential(
            *_conv_bn_relu(1, c1), nn.MaxPool2d(2),
            *_conv_bn_relu(c1, c2), *_conv_bn_relu(c2, c2), nn.MaxPool2d(2),
            *_conv_bn_relu(c2, c3), *_conv_bn_relu(c3, c3),
        )
        self.transformer = ConvSpatialTransformer(c3, st_channels, kernel, transform, st_hidden)
        self.transformer_bn = nn.BatchNorm2d(st_channels)
        self.head = nn.Conv2d(st_channels, descriptor_dim, 1)
        self.descriptor_dim = descriptor_dim
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.transformer.reset_transform()

    def forward_raw(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) → (B, D, H/4, W/4) descriptor map before L2 normalisation."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected a (B, 1, H, W) gray batch, got shape {tuple(x.shape)}")
        if x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(
                f"H and W must be multiples of {self.stride}, got {tuple(x.shape[2:])}; use pad_to_stride"
            )
        features = self.transformer(self.encoder(x))
        return self.head(F.relu(self.transformer_bn(features)))

    def forward(self, x: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        raw = self.forward_raw(x)
        return F.normalize(raw, p=2.0, dim=1) if normalize else raw


def build_net(preset: str = "ucn-lite") -> UCNNet:
    """An untrained network of the given preset (Kaiming init, identity transforms)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    p = PRESETS[preset]
    transform = p.transform if p.spatial_transformer else None
    return UCNNet(p.channels, p.st_channels, p.descriptor_dim, transform, p.kernel, p.st_hidden)


def infer_preset(state_dict: dict[str, Any]) -> str | None:
    """The preset whose keys and shapes a state dict has (None when none fits)."""
    return weight_files.infer_preset(state_dict, PRESETS, build_net)


def count_macs(net: UCNNet, height: int = 480, width: int = 640) -> int:
    """Multiply-accumulates of one forward pass at (height, width): every convolution plus
    the transformer's bilinear resampling (4 per sampled value). Measured with forward
    hooks on a zero image, so it follows the module structure of any preset."""
    total = 0

    def conv_hook(module: nn.Conv2d, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output[0].numel() * (module.in_channels // module.groups) * kh * kw

    def transformer_hook(module: ConvSpatialTransformer, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if module.params is not None:
            total += inputs[0][0].numel() * module.kernel**2 * 4
        else:  # the ablation calls F.conv2d with the combine weights directly
            total += output[0].numel() * module.combine.in_channels * module.kernel**2

    hooks = [m.register_forward_hook(conv_hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    hooks.append(net.transformer.register_forward_hook(transformer_hook))
    was_training = net.training
    try:
        net.eval()
        with torch.inference_mode():
            net(pad_to_stride(torch.zeros(1, 1, height, width, device=next(net.parameters()).device), STRIDE))
    finally:
        for hook in hooks:
            hook.remove()
        net.train(was_training)
    return total


def receptive_field(net: UCNNet) -> int:
    """Side in pixels of the input window that one map location sees, at the identity
    transform (3x3 convs, 2x2 pools, the K x K neighbourhood, the 1x1 head)."""
    field, jump = 1, 1
    for m in [*net.encoder, net.transformer, net.head]:
        if isinstance(m, nn.Conv2d):
            field += (m.kernel_size[0] - 1) * jump
        elif isinstance(m, nn.MaxPool2d):
            kernel, stride = cast(int, m.kernel_size), cast(int, m.stride)  # UCN's pools take ints
            field += (kernel - 1) * jump
            jump *= stride
        elif isinstance(m, ConvSpatialTransformer):
            field += (m.kernel - 1) * jump
    return field


def pad_to_stride(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom/right by repeating the last row/column so H and W are
    multiples of ``stride`` (no artificial black edge, which training never sees)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    return x if ph == 0 and pw == 0 else F.pad(x, (0, pw, 0, ph), mode="replicate")


def cell_centres(h: int, w: int, stride: int) -> torch.Tensor:
    """(h*w, 2) image pixel (x, y) of every map location, row-major: (j*s + (s-1)/2, i*s + (s-1)/2)."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    return torch.stack([xs, ys], dim=-1).reshape(-1, 2) * stride + (stride - 1) / 2.0


def sample_feature_map(fmap: torch.Tensor, points: torch.Tensor, stride: int) -> torch.Tensor:
    """Bilinear samples of (B, D, h, w) ``fmap`` at (B, N, 2) pixel (x, y) → (B, N, D), L2-normalised.

    Pixel x is map column ``(x - (s-1)/2) / s``; positions beyond the outer cell centres
    take the border cells' values. Differentiable w.r.t. ``fmap``.
    """
    if fmap.ndim != 4 or points.ndim != 3 or points.shape[0] != fmap.shape[0] or points.shape[2] != 2:
        raise ValueError(f"expected fmap (B, D, h, w) and points (B, N, 2), got {tuple(fmap.shape)}, "
                         f"{tuple(points.shape)}")
    h, w = fmap.shape[-2:]
    cells = (points.to(fmap.dtype) - (stride - 1) / 2.0) / stride
    grid = torch.stack([cells[..., 0] / max(w - 1, 1) * 2 - 1, cells[..., 1] / max(h - 1, 1) * 2 - 1], dim=-1)
    sampled = F.grid_sample(fmap, grid[:, None], mode="bilinear", padding_mode="border", align_corners=True)
    return F.normalize(sampled[:, :, 0].transpose(1, 2), p=2.0, dim=-1)


@dataclass(frozen=True)
class UCNConfig(FeatureConfig):
    """UCN parameters.

    Attributes:
        max_keypoints: keep the N strongest keypoints (SIFT: OpenCV ``nfeatures``); None = all.
        detection_threshold: depends on ``detector``: ``"sift"`` OpenCV's
            ``contrastThreshold`` (default 0.04); ``"d2net"`` the minimum D2-Net soft score
            (:mod:`cvlearned.models.describe_and_detect`; detections score in [1/9, 0.254],
            so values below 1/9 keep all of them); unused by ``"grid"`` and custom detectors.
        nms_radius: ``"d2net"`` non-maximum suppression radius in pixels (applied on the
            stride-4 score grid as ``ceil(nms_radius / 4)`` cells); 0 = off.
        border: ``"grid"``/``"d2net"`` keypoints closer than this to the border are dropped.
        descriptor_dim: must equal the preset's (128).
        detector: ``"sift"`` (OpenCV SIFT; keypoints unchanged except that one per location
            is kept), ``"grid"`` (every ``grid_step`` px from pixel 1.5, i.e. on cell centres;
            response = D2-Net soft score), ``"d2net"`` (describe-and-detect on the map), or any
            object with ``detect(image, mask)``, stored by name in ``write()`` as HardNet does.
            ``grid``/``d2net`` never place keypoints where the image is constant over the
            descriptor's support (a blank image has none).
        grid_step: spacing of the ``"grid"`` detector in pixels.
        preset: ``"ucn"``, ``"ucn-lite"``, ``"ucn-lite-nost"`` or ``"ucn-lite-affine"``; None =
            ``ucn`` (the model ``cvlearned.create("ucn")`` gives), or with ``weights=`` the
            preset whose shapes the file has.
        weights: None = the shipped, sha256-verified file of the preset; else a state dict path
            (loaded with ``strict=True``).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    """

    max_keypoints: int | None = None
    detection_threshold: float = 0.04
    nms_radius: int = 4
    border: int = 4
    descriptor_dim: int = 128
    detector: Any = "sift"
    grid_step: int = 8
    preset: str | None = None
    weights: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "detection_threshold", 0.0)
        for name in ("nms_radius", "border"):
            check_int_range(self, name, 0, 64)
        if isinstance(self.detector, str):
            check_choice(self, "detector", DETECTORS)
        elif not callable(getattr(self.detector, "detect", None)):
            raise TypeError(f"detector must be one of {list(DETECTORS)} or an object with detect(image, mask), "
                            f"e.g. cv2.FastFeatureDetector_create(); got {type(self.detector).__name__}")
        check_optional_positive_int(self, "grid_step")
        if self.grid_step is None:
            raise ValueError("grid_step must be a positive int")
        check_network_fields(self, PRESETS)
        if self.preset is not None:
            check_preset_descriptor_dim(self.descriptor_dim, PRESETS, self.preset)


class UCN(NetworkFeature):
    """Keypoints (SIFT, a grid, D2-Net or any detector) with 128-d float32 UCN descriptors (unit L2 norm).

    One forward pass per image; descriptors are bilinear samples of the stride-4 map at the
    keypoints (:func:`sample_feature_map`); ``compute`` keeps the strongest of given keypoints
    at one position. ``grid``/``d2net`` keypoints have ``size`` = the
    network's receptive field at the identity transform (38 px for the lite presets:
    :func:`receptive_field`, the pixels that can influence a descriptor), ``angle`` -1,
    ``response`` = D2-Net soft score, ``octave`` 0; ``sift``/custom keypoints keep the
    detector's fields (``size`` <= 0 becomes the receptive field).
    """

    config_class = UCNConfig
    algorithm_name = "UCN"
    presets = PRESETS
    default_preset = "ucn"

    def _configure(self) -> None:
        cfg: UCNConfig = self.config
        self._lock = threading.RLock()
        self._device = resolve_device(cfg.device)
        preset, state, source = self._load_weights(infer_preset)
        if cfg.preset is None:
            check_preset_descriptor_dim(cfg.descriptor_dim, PRESETS, preset)
            self.config = dataclasses.replace(cfg, preset=preset)
        net = build_net(preset)
        load_into(net, state, source)
        self._net = net.eval()
        self._place(self._device)
        self._support = float(receptive_field(net))
        self._sift = None
        if cfg.detector == "sift":
            self._sift = build_sift(SIFTConfig(max_side=None, max_keypoints=cfg.max_keypoints,
                                               detection_threshold=cfg.detection_threshold))
        self._loaded = True

    # ------------------------------------------------------------------ API
    @property
    def stride(self) -> int:
        """Pixels per descriptor-map cell (4)."""
        return STRIDE

    def _place(self, device: torch.device) -> None:
        """Put the network on ``device``; channels_last on the CPU (about 1.4x faster there)."""
        super()._place(device)
        self._device = device
        self._memory_format = memory_format_for(device)

    def raw_map(self, gray: np.ndarray) -> torch.Tensor:
        """(H, W) uint8 → (D, ceil(H/4), ceil(W/4)) float32 CPU map before L2 normalisation
        (the image is padded at the bottom/right to multiples of 4 by edge replication)."""
        x = torch.from_numpy(np.ascontiguousarray(gray)).to(self._device, torch.float32)[None, None] / 255.0
        with self._lock, torch.inference_mode():
            raw = self._net.forward_raw(pad_to_stride(x, STRIDE).contiguous(memory_format=self._memory_format))
        return raw[0].float().cpu()

    def computeDense(self, image: Any) -> np.ndarray:  # noqa: N802
        """Dense descriptors of a whole image → (ceil(H/4), ceil(W/4), 128) float32, unit norm.

        Entry (i, j) describes the 4x4 pixel block x in [4j, 4j+3], y in [4i, 4i+3] and is
        centred on pixel (4j + 1.5, 4i + 1.5) (``dense_nn_pck(..., stride=4)``'s
        convention). Runs at full resolution: ``max_side`` does not apply.
        """
        raw = self.raw_map(as_gray_uint8(image))
        with torch.inference_mode():
            dense = F.normalize(raw, p=2.0, dim=0).permute(1, 2, 0)
        return np.ascontiguousarray(dense.numpy(), dtype=np.float32)

    # ---------------------------------------------------------------- hooks
    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        if self.config.detector in ("grid", "d2net"):
            return self._map_keypoints(gray, mask, self.raw_map(gray))
        return self._detector_keypoints(gray, mask)

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        """Keypoints at one position get one descriptor (it ignores angle and size): the strongest is kept."""
        keypoints = unique_locations(keypoints)
        return keypoints, self._describe(self.raw_map(gray), keypoints)

    def _detect_and_compute(self, gray: np.ndarray, mask: np.ndarray | None) -> tuple[Keypoints, np.ndarray | None]:
        if self.config.detector in ("grid", "d2net"):
            raw = self.raw_map(gray)
            keypoints = self._map_keypoints(gray, mask, raw)
        else:
            keypoints = self._detector_keypoints(gray, mask)
            if not keypoints:  # no network pass for an image without keypoints
                return (), None
            raw = self.raw_map(gray)
        if not keypoints:
            return (), None
        return keypoints, self._describe(raw, keypoints)

    # -------------------------------------------------------------- helpers
    def _describe(self, raw: torch.Tensor, keypoints: Keypoints) -> np.ndarray:
        points = torch.from_numpy(keypoints_to_array(keypoints)).float()
        with torch.inference_mode():
            desc = sample_feature_map(F.normalize(raw, p=2.0, dim=0)[None], points[None], STRIDE)[0]
        return np.ascontiguousarray(desc.numpy(), dtype=np.float32)

    def _allowed(self, gray: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """(H, W) bool: inside the mask and not constant over the descriptor's support."""
        side = int(self._support) | 1
        kernel = np.ones((side, side), np.uint8)
        allowed = cv2.dilate(gray, kernel) != cv2.erode(gray, kernel)
        return allowed if mask is None else allowed & (mask > 0)

    def _map_keypoints(self, gray: np.ndarray, mask: np.ndarray | None, raw: torch.Tensor) -> Keypoints:
        cfg: UCNConfig = self.config
        height, width = gray.shape
        allowed = torch.from_numpy(self._allowed(gray, mask))
        with torch.inference_mode():
            if cfg.detector == "d2net":
                points, scores = detect_keypoints(raw, STRIDE, (width, height), float(cfg.detection_threshold),
                                                  cfg.nms_radius, cfg.border, cfg.max_keypoints, allowed)
            else:
                points, scores = grid_keypoints(soft_detection_score(raw[None])[0], STRIDE, (width, height),
                                                cfg.grid_step, cfg.border, cfg.max_keypoints, allowed)
        size = self._support
        return tuple(cv2.KeyPoint(float(x), float(y), size, -1.0, float(s), 0, -1)
                     for (x, y), s in zip(points.tolist(), scores.tolist()))

    def _detector_keypoints(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        """SIFT's or a custom detector's keypoints: finite, inside image and mask, sized, the
        strongest N, one per location (descriptors do not depend on size or angle)."""
        if min(gray.shape) < 1:
            return ()
        cfg: UCNConfig = self.config
        detector = self._sift if self._sift is not None else cfg.detector
        with self._lock:
            found = tuple(detector.detect(gray, mask))
        return sanitize_detected(found, gray.shape, mask, self._support, cfg.max_keypoints, one_per_location=True)

    # ---------------------------------------------------------- persistence
    def _encode_field(self, key: str, value: Any) -> Any:
        """A custom ``detector`` object is stored by its name only."""
        if key == "detector" and not isinstance(value, str):
            return detector_name(value)
        return value

    def _decode_field(self, key: str, item: cv2.FileNode, old: Any) -> Any:
        """A stored detector is restored if it is one of :data:`DETECTORS` or the name of the
        detector object this feature already holds."""
        if key != "detector":
            return super()._decode_field(key, item, old)
        stored = _decode_value(item, key)
        if not isinstance(stored, str):
            raise ValueError(f"detector must be stored as one of {list(DETECTORS)} or a detector name, got {stored!r}")
        if stored in DETECTORS:
            return stored
        if not isinstance(old, str) and detector_name(old) == stored:
            return old
        raise ValueError(
            f"these parameters were written with the custom detector {stored!r}, which cannot be restored "
            f"from a file; create the feature with detector=<a {stored} object> (UCN_create(detector=...)) "
            "and read() into it"
        )


def UCN_create(**params: Any) -> UCN:  # noqa: N802 (OpenCV naming)
    """Create a :class:`UCN`, e.g. ``UCN_create(detector="d2net", max_keypoints=2048)``."""
    return UCN(**params)
