"""SuperPoint (DeTone, Malisiewicz, Rabinovich, CVPRW 2018): joint detector + descriptor.

Architecture (public facts of the paper and of the published v1 checkpoint's key layout):

    encoder  conv1a conv1b pool conv2a conv2b pool conv3a conv3b pool conv4a conv4b
             (3x3 convs with bias + ReLU, 2x2 max-pool; output at 1/8 resolution)
    detector convPa (3x3) + ReLU, convPb (1x1) → 65 channels = 64 cells of 8x8 + dustbin;
             softmax, drop the dustbin, depth-to-space → full-resolution heatmap
    descriptor convDa (3x3) + ReLU, convDb (1x1) → D channels at 1/8, L2-normalised,
             sampled bilinearly at the keypoints and L2-normalised again

Presets: ``superpoint`` has the v1 widths (64, 64, 128, 128), head 256, D = 256, so a
user who owns the published checkpoint loads it with ``SuperPoint_create(weights=PATH)``;
``superpoint-lite`` keeps the heads and the training recipe with a slim encoder
(8, 16, 32, 64), head 64 — 1.45 G multiply-accumulates at 640x480 (see :func:`count_macs`).

Conventions: input gray in [0, 1]; the heatmap pixel (8*i + a, 8*j + b) is channel
8*a + b of cell (i, j) (row-major inside the cell, as ``pixel_shuffle``); descriptor cell
(i, j) is centred on pixel (8*j + 3.5, 8*i + 3.5).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvlearned.config import FeatureConfig, check_detection_fields, check_network_fields, check_preset_descriptor_dim
from cvlearned.device import resolve_device
from cvlearned.models.heatmap import CELL, HeatmapFeature, heatmap_from_logits, heatmap_keypoints, pad_to_cells
from cvlearned import weight_files
from cvlearned.weight_files import load_into

__all__ = [
    "PRESETS", "SuperPointNet", "SuperPointConfig", "SuperPoint", "SuperPoint_create", "build_net",
    "infer_preset", "count_macs", "forward_in_strips", "strip_rows",
]



@dataclass(frozen=True)
class Preset:
    """A named network size (its shipped weight file, if any, is the manifest record of ``name``)."""

    name: str
    display_name: str
    encoder: tuple[int, int, int, int]
    head: int
    descriptor_dim: int


PRESETS: dict[str, Preset] = {
    "superpoint": Preset("superpoint", "SuperPoint", (64, 64, 128, 128), 256, 256),
    "superpoint-lite": Preset(
        "superpoint-lite", "SuperPoint-Lite", (8, 16, 32, 64), 64, 256
    ),
    # the superpoint-lite network fine-tuned with descriptor supervision from real SfM pairs
    "superpoint-lite-sfm": Preset(
        "superpoint-lite-sfm", "SuperPoint-Lite-SfM", (8, 16, 32, 64), 64, 256
    ),
}


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class SuperPointNet(nn.Module):
    """(B, 1, H, W) gray in [0, 1], H and W multiples of 8 → (logits (B, 65, H/8, W/8),
    descriptors (B, D, H/8, W/8) unit-norm along D)."""

    def __init__(self, encoder: tuple[int, int, int, int] = (64, 64, 128, 128), head: int = 256,
                 descriptor_dim: int = 256) -> None:
        super().__init__()
        c1, c2, c3, c4 = encoder
        self.conv1a, self.conv1b = _conv(1, c1), _conv(c1, c1)
        self.conv2a, self.conv2b = _conv(c1, c2), _conv(c2, c2)
        self.conv3a, self.conv3b = _conv(c2, c3), _conv(c3, c3)
        self.conv4a, self.conv4b = _conv(c3, c4), _conv(c4, c4)
        self.convPa, self.convPb = _conv(c4, head), _conv(head, CELL * CELL + 1, 1)  # noqa: N815
        self.convDa, self.convDb = _conv(c4, head), _conv(head, descriptor_dim, 1)  # noqa: N815
        self.descriptor_dim = descriptor_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) → (B, c4, H/8, W/8) shared features."""
        x = F.relu(self.conv1b(F.relu(self.conv1a(x))))
        x = F.relu(self.conv2b(F.relu(self.conv2a(F.max_pool2d(x, 2)))))
        x = F.relu(self.conv3b(F.relu(self.conv3a(F.max_pool2d(x, 2)))))
        return F.relu(self.conv4b(F.relu(self.conv4a(F.max_pool2d(x, 2)))))

    def detector_logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.convPb(F.relu(self.convPa(features)))

    def descriptor_map(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.convDb(F.relu(self.convDa(features))), p=2.0, dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encode(x)
        return self.detector_logits(features), self.descriptor_map(features)


def build_net(preset: str = "superpoint-lite") -> SuperPointNet:
    """An untrained network of the given preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    p = PRESETS[preset]
    return SuperPointNet(p.encoder, p.head, p.descriptor_dim)


def count_macs(net: SuperPointNet, height: int = 480, width: int = 640) -> int:
    """Multiply-accumulates of one forward pass at (height, width) (convs only)."""
    stride = {"1": 1, "2": 2, "3": 4, "4": 8}  # conv<k>a/b run at 1/stride; the heads at 1/8
    total = 0
    for name, module in net.named_children():
        if not isinstance(module, nn.Conv2d):
            continue
        level = stride.get(name[4], CELL)
        pixels = (height // level) * (width // level)
        kh, kw = module.kernel_size
        total += pixels * module.out_channels * module.in_channels * kh * kw
    return total


#: images of more pixels than this run the network in row strips of about this many pixels
#: (:func:`forward_in_strips`): on an 8K image (max_side 4096) the full-width encoder's
#: 64-channel maps of the whole image peaked at 7.4 GB, strips at 2.4 GB (and 17 s vs 21 s)
STRIP_PIXELS = 1 << 21
#: rows of context a strip needs on each side to be exact: a cut edge reaches 2 + 4 + 8 + 16
#: pixels through the encoder's 3x3 convs (2 per stage, at 1, 1/2, 1/4, 1/8) and 8 more
#: through the heads' 3x3 conv
STRIP_HALO = 5 * CELL


def forward_in_strips(net: SuperPointNet, image: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``net(image)`` for a (1, 1, H, W) image (H, W multiples of 8) computed ``rows`` rows at a
    time (a multiple of 8): each strip carries :data:`STRIP_HALO` rows of context on each side,
    so the (1, 65, H/8, W/8) logits and (1, D, H/8, W/8) descriptors equal one full pass (to
    float rounding: 1e-5) while memory peaks with one strip."""
    if rows % CELL:
        raise ValueError(f"rows must be a multiple of {CELL}, got {rows}")
    height = image.shape[-2]
    logits, descriptors = [], []
    for top in range(0, height, rows):
        low, high = max(top - STRIP_HALO, 0), min(top + rows + STRIP_HALO, height)
        first, count = (top - low) // CELL, (min(top + rows, height) - top) // CELL
        strip_logits, strip_descriptors = net(image[..., low:high, :])
        logits.append(strip_logits[..., first:first + count, :])
        descriptors.append(strip_descriptors[..., first:first + count, :])
    return torch.cat(logits, dim=-2), torch.cat(descriptors, dim=-2)


def strip_rows(height: int, width: int) -> int:
    """Rows per strip for an image: all of them up to :data:`STRIP_PIXELS` pixels, else about
    that many pixels per strip (a multiple of 8)."""
    if height * width <= STRIP_PIXELS:
        return height
    return max(CELL, STRIP_PIXELS // width // CELL * CELL)


def infer_preset(state_dict: dict[str, Any]) -> str | None:
    """The preset whose shapes a state dict has (None when none fits)."""
    return weight_files.infer_preset(state_dict, PRESETS, build_net)


@dataclass(frozen=True)
class SuperPointConfig(FeatureConfig):
    """SuperPoint parameters.

    Attributes:
        max_keypoints: keep the N highest-scoring keypoints; None = all above the threshold.
        detection_threshold: minimum heatmap probability of a keypoint.
        nms_radius: non-maximum suppression radius in pixels (window 2r+1); 0 = off.
        border: drop keypoints closer than this many pixels to the image border.
        refine_radius: sub-pixel localisation: each kept peak moves to the heat-weighted
            centroid of its (2r+1)² heatmap window; 0 = integer pixel positions. The
            default 2 raised pose AUC@10 of the shipped weights (model card).
        descriptor_dim: must equal the preset's (256 for both presets).
        preset: ``"superpoint"`` (v1 layout), ``"superpoint-lite"`` (slim encoder, about
            8x faster on a CPU) or ``"superpoint-lite-sfm"`` (the slim network fine-tuned with
            real SfM pairs); all ship weights. None = ``superpoint`` (the model that
            ``cvlearned.create("superpoint")`` gives), or, with ``weights=``, the preset the
            file fits.
        weights: None = the shipped, sha256-verified file of the preset; else a path to a
            state dict (loaded with ``strict=True``), e.g. the published v1 checkpoint.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    """

    max_keypoints: int | None = None
    detection_threshold: float = 0.015
    nms_radius: int = 4
    border: int = 4
    refine_radius: int = 2
    descriptor_dim: int = 256
    preset: str | None = None
    weights: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_detection_fields(self)
        check_network_fields(self, PRESETS)
        if self.preset is not None:
            check_preset_descriptor_dim(self.descriptor_dim, PRESETS, self.preset)


class SuperPoint(HeatmapFeature):
    """SuperPoint keypoints and 256-d float32 descriptors (unit L2 norm).

    KeyPoint fields: ``size`` = 16 px (the two descriptor cells a bilinear sample
    spans), ``response`` = heatmap probability, ``angle`` = -1 (not rotation invariant).
    The Feature2D hooks are :class:`HeatmapFeature`'s.
    """

    config_class = SuperPointConfig
    algorithm_name = "SuperPoint"
    presets = PRESETS
    default_preset = "superpoint"

    def _configure(self) -> None:
        cfg: SuperPointConfig = self.config
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
        self._loaded = True

    # ------------------------------------------------------------------ API
    def dense(self, gray: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(H, W) uint8 → ((H, W) heatmap, (D, Hc, Wc) descriptor map) on the CPU."""
        h, w = gray.shape
        x = torch.from_numpy(gray).to(self._device, torch.float32)[None, None] / 255.0
        with self._lock, torch.inference_mode():
            padded = pad_to_cells(x)
            logits, desc = forward_in_strips(self._net, padded, strip_rows(*padded.shape[-2:]))
            heat = heatmap_from_logits(logits)[0, :h, :w]
        return heat.float().cpu(), desc[0].float().cpu()

    # ---------------------------------------------------------------- hooks
    def _keypoints(self, maps: tuple[torch.Tensor, ...], mask: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
        cfg: SuperPointConfig = self.config
        heat = maps[0]
        if mask is not None:
            heat = heat * torch.from_numpy(mask > 0)
        return heatmap_keypoints(heat, cfg.nms_radius, cfg.detection_threshold, cfg.border, cfg.max_keypoints,
                                 cfg.refine_radius)

    def dense_batch(self, grays: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, H, W) uint8 → ((B, H, W) heatmaps, (B, D, Hc, Wc) descriptor maps) on the CPU,
        one forward pass (each image alone in strips when it is larger than a strip)."""
        b, h, w = grays.shape
        padded_pixels = (h + (-h) % CELL) * (w + (-w) % CELL)
        if b == 1 or padded_pixels > STRIP_PIXELS:
            maps = [self.dense(gray) for gray in grays]
            return torch.stack([m[0] for m in maps]), torch.stack([m[1] for m in maps])
        x = torch.from_numpy(np.ascontiguousarray(grays)).to(self._device, torch.float32)[:, None] / 255.0
        with self._lock, torch.inference_mode():
            logits, desc = self._net(pad_to_cells(x))
            heat = heatmap_from_logits(logits)[:, :h, :w]
        return heat.float().cpu(), desc.float().cpu()


def SuperPoint_create(**params: Any) -> SuperPoint:  # noqa: N802 (OpenCV naming)
    """Create a :class:`SuperPoint`, e.g. ``SuperPoint_create(max_keypoints=2048)``."""
    return SuperPoint(**params)

