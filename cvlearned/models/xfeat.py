"""XFeat-family detector + 64-d descriptor as an OpenCV Feature2D (network:
:mod:`cvlearned.models.xfeat_net`; trained by ``cvlearned train xfeat``).

Decoding follows what OpenCV 5.1's ``cv2.XFeat`` does with the same network's outputs, so
the ONNX export (:mod:`cvlearned.adapters.onnx_xfeat`) gives the same keypoints and
descriptors in ``cv2.XFeat`` (tested):

    heatmap      softmax of the 65 keypoint logits per 8x8 cell, dustbin dropped, cells
                 unfolded to pixels (:func:`~cvlearned.models.superpoint.heatmap_from_logits`)
    candidates   heatmap maxima of their (2r+1)² window (``nms_radius``; OpenCV's is 2)
                 above ``detection_threshold``
    score        heatmap x reliability (the 1/8 reliability map upsampled bilinearly);
                 the ``max_keypoints`` best scores are kept, strongest first
    descriptor   the 1/8 descriptor map sampled bilinearly at the keypoint (cell (i, j)
                 centred on pixel (8j + 3.5, 8i + 3.5)), L2-normalised
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cvlearned import weight_files
from cvlearned.config import FeatureConfig, check_detection_fields, check_network_fields, check_preset_descriptor_dim
from cvlearned.device import resolve_device
from cvlearned.models.heatmap import (
    CELL, HeatmapFeature, heatmap_from_logits, nms, pad_to_cells, refine_keypoints, select_keypoints,
)
from cvlearned.models.xfeat_net import XFeatNet
from cvlearned.weight_files import load_into

__all__ = ["PRESETS", "XFeatConfig", "XFeat", "XFeat_create", "build_net", "infer_preset", "dense_maps"]


@dataclass(frozen=True)
class Preset:
    """A named network size (its shipped weight file, if any, is the manifest record of ``name``)."""

    name: str
    display_name: str
    descriptor_dim: int


PRESETS: dict[str, Preset] = {
    "xfeat-lite": Preset("xfeat-lite", "XFeat-Lite", 64),
}


def build_net(preset: str = "xfeat-lite") -> XFeatNet:
    """An untrained network of the given preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    return XFeatNet(PRESETS[preset].descriptor_dim)


def infer_preset(state_dict: dict[str, Any]) -> str | None:
    """The preset whose shapes a state dict has (None when none fits)."""
    return weight_files.infer_preset(state_dict, PRESETS, build_net)


def dense_maps(net: XFeatNet, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, 1, H, W) gray in [0, 1] → (heatmaps (B, H, W), descriptor maps (B, D, Hp/8, Wp/8),
    reliability (B, H, W) upsampled bilinearly from 1/8), the images replicate-padded to
    multiples of 8 (Hp, Wp) for the network and the maps cropped back."""
    h, w = images.shape[-2:]
    logits, descriptors, reliability = net(pad_to_cells(images))
    heat = heatmap_from_logits(logits)[:, :h, :w]
    reliability = F.interpolate(reliability, scale_factor=CELL, mode="bilinear", align_corners=False)[:, 0, :h, :w]
    return heat, descriptors, reliability


@dataclass(frozen=True)
class XFeatConfig(FeatureConfig):
    """XFeat parameters.

    Attributes:
        max_keypoints: keep the N best scores (heatmap x reliability); None = all.
        detection_threshold: minimum heatmap probability of a keypoint (OpenCV's
            ``scoreThreshold``). The default 0.01 was chosen on validation data among 0.005,
            0.01, 0.02 and 0.05 (model card).
        nms_radius: non-maximum suppression radius in pixels (window 2r+1); OpenCV's
            ``cv2.XFeat`` uses 2.
        border: drop keypoints closer than this many pixels to the image border (OpenCV: 0).
        refine_radius: sub-pixel keypoints at the heat-weighted centroid of each peak's
            (2r+1)² window; 0 = integer pixels, as ``cv2.XFeat`` gives them (then its
            keypoints and descriptors equal this feature's). The default 2 raised pose
            AUC@10 on validation data (model card).
        descriptor_dim: must equal the preset's (64).
        preset: ``"xfeat-lite"``; None = it, or with ``weights=`` the preset the file fits.
        weights: None = the shipped, sha256-verified file; else a path to a state dict
            (loaded with ``strict=True``).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
    """

    max_keypoints: int | None = None
    detection_threshold: float = 0.01
    nms_radius: int = 2
    border: int = 0
    refine_radius: int = 2
    descriptor_dim: int = 64
    preset: str | None = None
    weights: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_detection_fields(self)
        check_network_fields(self, PRESETS)
        check_preset_descriptor_dim(self.descriptor_dim, PRESETS, self.preset or "xfeat-lite")


class XFeat(HeatmapFeature):
    """XFeat-family keypoints and 64-d float32 descriptors (unit L2 norm).

    KeyPoint fields: ``size`` = 16 px (the two descriptor cells a bilinear sample spans),
    ``response`` = heatmap x reliability, ``angle`` = -1 (not rotation invariant).
    """

    config_class = XFeatConfig
    algorithm_name = "XFeat"
    presets = PRESETS
    default_preset = "xfeat-lite"

    def _configure(self) -> None:
        cfg: XFeatConfig = self.config
        self._lock = threading.RLock()
        self._device = resolve_device(cfg.device)
        preset, state, source = self._load_weights(infer_preset)
        if cfg.preset is None:
            self.config = dataclasses.replace(cfg, preset=preset)
        net = build_net(preset)
        load_into(net, state, source)
        self._net = net.eval().fuse_batchnorm()
        self._place(self._device)
        self._loaded = True

    def dense(self, gray: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(H, W) uint8 → ((H, W) heatmap, (D, Hc, Wc) descriptor map, (H, W) reliability) on the CPU."""
        return tuple(m[0] for m in self.dense_batch(gray[None]))  # type: ignore[return-value]

    def dense_batch(self, grays: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, H, W) uint8 → :func:`dense_maps` of the batch, on the CPU, one forward pass."""
        x = torch.from_numpy(np.ascontiguousarray(grays)).to(self._device, torch.float32)[:, None] / 255.0
        with self._lock, torch.inference_mode():
            maps = dense_maps(self._net, x)
        return tuple(m.float().cpu() for m in maps)  # type: ignore[return-value]

    def _keypoints(self, maps: tuple[torch.Tensor, ...], mask: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Heatmap maxima above the threshold, scored heatmap x reliability (``maps[2]``)."""
        cfg: XFeatConfig = self.config
        heat, reliability = maps[0], maps[2]
        if mask is not None:
            heat = heat * torch.from_numpy(mask > 0)
        peaks = nms(heat[None], cfg.nms_radius)[0] > cfg.detection_threshold
        scores = torch.where(peaks, heat * reliability, torch.zeros_like(heat))
        points, values = select_keypoints(scores, 0.0, cfg.border, cfg.max_keypoints)
        return refine_keypoints(heat, points, cfg.refine_radius), values


def XFeat_create(**params: Any) -> XFeat:  # noqa: N802 (OpenCV naming)
    """Create an :class:`XFeat`, e.g. ``XFeat_create(max_keypoints=2048)``."""
    return XFeat(**params)
