"""HardNet (Mishchuk et al., NeurIPS 2017) on the L2-Net architecture (Tian et al., CVPR 2017).

The network maps a 32x32 gray patch to a unit-norm 128-d descriptor:

    per-patch standardisation (x - mean) / std
    3x3 conv 32, 3x3 conv 32, 3x3 conv 64 stride 2, 3x3 conv 64, 3x3 conv 128 stride 2,
    3x3 conv 128 (each: no bias, BatchNorm without affine, ReLU)
    dropout (training only), 8x8 conv 128 (no bias), BatchNorm without affine, L2 normalise

``width`` multiplies the six inner widths (``hardnet`` = 1.0, ``hardnet-lite`` = 0.5); the
output is 128-d for every preset. :class:`HardNet` describes SIFT keypoints (OpenCV's
detector, keeping its orientation by default) with patches from :mod:`cvlearned.patches`.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from cvlearned.baselines.sift import SIFTConfig, build_sift
from cvlearned.config import FeatureConfig, check_choice, check_optional_positive_int, check_range
from cvlearned.device import resolve_device
from cvlearned.feature2d import Feature2D, Keypoints
from cvlearned.models.register import WEIGHT_FILES
from cvlearned.patches import DEFAULT_PATCH_SCALE, build_pyramid, extract_patches
from cvlearned.weight_files import WeightsError, load_into, load_state_dict, shipped_weights

__all__ = ["PRESETS", "HardNetNet", "HardNetConfig", "HardNet", "HardNet_create", "build_net"]

DESCRIPTOR_DIM = 128
PATCH_SIZE = 32


@dataclass(frozen=True)
class Preset:
    """A named network size and its shipped weight file."""

    name: str
    display_name: str
    width: float
    weights_file: str


PRESETS: dict[str, Preset] = {
    "hardnet": Preset("hardnet", "HardNet", 1.0, WEIGHT_FILES["hardnet"]),
    "hardnet-lite": Preset("hardnet-lite", "HardNet-Lite", 0.5, WEIGHT_FILES["hardnet-lite"]),
}


class HardNetNet(nn.Module):
    """The L2-Net/HardNet CNN: (N, 1, 32, 32) patches (any intensity scale) → (N, 128) unit vectors."""

    def __init__(self, width: float = 1.0, dropout: float = 0.3) -> None:
        super().__init__()
        if not width > 0:
            raise ValueError(f"width must be > 0, got {width}")
        c = [max(1, int(round(ch * width))) for ch in (32, 32, 64, 64, 128, 128)]
        strides = (1, 1, 2, 1, 2, 1)
        layers: list[nn.Module] = []
        cin = 1
        for cout, stride in zip(c, strides):
            layers += [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout, affine=False),
                nn.ReLU(inplace=True),
            ]
            cin = cout
        layers += [
            nn.Dropout(dropout),
            nn.Conv2d(cin, DESCRIPTOR_DIM, 8, bias=False),
            nn.BatchNorm2d(DESCRIPTOR_DIM, affine=False),
        ]
        self.features = nn.Sequential(*layers)
        self.width = width
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.orthogonal_(m.weight, gain=0.6)

    @staticmethod
    def normalise_patches(x: torch.Tensor) -> torch.Tensor:
        """Per-patch standardisation: subtract the mean, divide by the std (eps 1e-6)."""
        flat = x.reshape(x.shape[0], -1)
        mean = flat.mean(dim=1).reshape(-1, 1, 1, 1)
        std = flat.std(dim=1, unbiased=False).reshape(-1, 1, 1, 1)
        return (x - mean) / (std + 1e-6)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.features(self.normalise_patches(patches))
        x = x.reshape(x.shape[0], -1)
        return nn.functional.normalize(x, p=2.0, dim=1)


class FusedHardNet(nn.Module):
    """Inference copy of a :class:`HardNetNet` with every BatchNorm folded into its conv.

    Eval-mode BN without affine is ``(x - mean) / sqrt(var + eps)``, so each conv + BN pair
    becomes one conv with bias; dropout is dropped. Same outputs (to float rounding), fewer
    memory passes; runs channels_last on the CPU.
    """

    def __init__(self, net: HardNetNet) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        modules = list(net.features)
        i = 0
        while i < len(modules):
            m = modules[i]
            if isinstance(m, nn.Conv2d):
                bn = modules[i + 1]
                assert isinstance(bn, nn.BatchNorm2d)
                inv = torch.rsqrt(bn.running_var.detach().float() + bn.eps)
                conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=True)
                with torch.no_grad():
                    conv.weight.copy_(m.weight.detach().float() * inv.reshape(-1, 1, 1, 1))
                    conv.bias.copy_(-bn.running_mean.detach().float() * inv)
                layers.append(conv)
                i += 2
                continue
            if isinstance(m, nn.ReLU):
                layers.append(nn.ReLU())
            i += 1
        self.features = nn.Sequential(*layers).eval()

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = HardNetNet.normalise_patches(patches)
        if x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.features(x).reshape(x.shape[0], -1)
        return nn.functional.normalize(x, p=2.0, dim=1)


def build_net(preset: str = "hardnet", dropout: float = 0.3) -> HardNetNet:
    """An untrained network of the given preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    return HardNetNet(PRESETS[preset].width, dropout=dropout)


@dataclass(frozen=True)
class HardNetConfig(FeatureConfig):
    """HardNet parameters.

    Attributes:
        max_keypoints: keep the strongest N SIFT keypoints (OpenCV ``nfeatures``); None = all.
        detection_threshold: SIFT contrast threshold (OpenCV ``contrastThreshold``).
        descriptor_dim: fixed 128 (validated).
        patch_scale: patch side = ``patch_scale * KeyPoint.size`` pixels (6.0 = SIFT's
            own 12-sigma support, see :mod:`cvlearned.patches`).
        orientation: ``"keypoint"`` keeps SIFT's orientation (rotation invariant);
            ``"upright"`` describes axis-aligned patches and returns keypoints with
            ``angle = -1`` (one per location).
        preset: ``"hardnet-lite"`` (half width, the default: its weights ship) or
            ``"hardnet"`` (full width; needs ``weights=`` unless its file ships).
        weights: None = the shipped, sha256-verified file of the preset; else a path to a
            user state dict (loaded with ``strict=True``).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        batch_size: patches per forward pass.
    """

    max_keypoints: int | None = None
    detection_threshold: float = 0.04
    descriptor_dim: int = DESCRIPTOR_DIM
    patch_scale: float = DEFAULT_PATCH_SCALE
    orientation: str = "keypoint"
    preset: str = "hardnet-lite"
    weights: str | None = None
    device: str = "auto"
    batch_size: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "detection_threshold", 0.0)
        if self.descriptor_dim != DESCRIPTOR_DIM or isinstance(self.descriptor_dim, bool):
            raise ValueError(f"descriptor_dim must be {DESCRIPTOR_DIM} for HardNet, got {self.descriptor_dim!r}")
        check_range(self, "patch_scale", 0.1, 100.0)
        check_choice(self, "orientation", ("keypoint", "upright"))
        check_choice(self, "preset", tuple(PRESETS))
        if self.weights is not None and not isinstance(self.weights, str):
            object.__setattr__(self, "weights", str(self.weights))
        if not isinstance(self.device, str):
            object.__setattr__(self, "device", str(self.device))
        check_optional_positive_int(self, "batch_size")
        if self.batch_size is None:
            raise ValueError("batch_size must be a positive int")


class HardNet(Feature2D):
    """SIFT keypoints described by a HardNet patch CNN (128-d float32, L2 norm)."""

    config_class = HardNetConfig
    algorithm_name = "HardNet"

    def _configure(self) -> None:
        cfg: HardNetConfig = self.config  # type: ignore[assignment]
        self._lock = threading.RLock()
        self._sift = build_sift(
            SIFTConfig(max_side=None, max_keypoints=cfg.max_keypoints, detection_threshold=cfg.detection_threshold)
        )
        self._device = resolve_device(cfg.device)
        net = build_net(cfg.preset)
        if cfg.weights is None:
            source = shipped_weights(PRESETS[cfg.preset].weights_file)
        else:
            source = cfg.weights
        load_into(net, load_state_dict(source), source)
        self._net = net.eval()
        self._place(self._device)
        self._loaded = True

    def _place(self, device: Any) -> None:
        self._net = self._net.to(device)
        fused = FusedHardNet(self._net.cpu()).to(device)
        self._net = self._net.to(device)
        if device.type == "cpu":
            fused = fused.to(memory_format=torch.channels_last)
        self._infer = fused.eval()

    # ------------------------------------------------------------------ API
    def getDefaultName(self) -> str:  # noqa: N802
        return f"Feature2D.{PRESETS[self.config.preset].display_name}"

    def descriptorSize(self) -> int:  # noqa: N802
        return DESCRIPTOR_DIM

    def empty(self) -> bool:
        return not getattr(self, "_loaded", False)

    def to(self, device: Any) -> HardNet:
        """Move the network to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ...); returns self."""
        resolved = resolve_device(device)
        with self._lock:
            self._place(resolved)
            self._device = resolved
            self.config = dataclasses.replace(self.config, device=str(device))
        return self

    @property
    def net(self) -> HardNetNet:
        """The underlying ``torch.nn.Module`` (eval mode)."""
        return self._net

    # ---------------------------------------------------------------- hooks
    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        if min(gray.shape) < 1:
            return ()
        with self._lock:
            keypoints = tuple(self._sift.detect(gray, mask))
        if self.config.orientation == "upright":
            seen: set[tuple[float, float, float]] = set()
            upright = []
            for kp in keypoints:
                key = (kp.pt[0], kp.pt[1], kp.size)
                if key in seen:
                    continue
                seen.add(key)
                upright.append(
                    cv2.KeyPoint(kp.pt[0], kp.pt[1], kp.size, -1.0, kp.response, kp.octave, kp.class_id)
                )
            keypoints = tuple(upright)
        return keypoints

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        kept = tuple(kp for kp in keypoints if np.isfinite(kp.size) and kp.size > 0)
        if not kept:
            return (), None
        upright = self.config.orientation == "upright"
        patches = extract_patches(
            build_pyramid(gray), kept, PATCH_SIZE, float(self.config.patch_scale), upright=upright
        )
        return kept, self.describe_patches(patches)

    def describe_patches(self, patches: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, 1, 32, 32) patches (0..255 or any scale) → (N, 128) float32 descriptors."""
        patches = torch.as_tensor(np.asarray(patches) if not isinstance(patches, torch.Tensor) else patches)
        patches = patches.float().reshape(-1, 1, PATCH_SIZE, PATCH_SIZE)
        out = np.empty((patches.shape[0], DESCRIPTOR_DIM), np.float32)
        bs = int(self.config.batch_size)
        with self._lock, torch.inference_mode():
            for start in range(0, patches.shape[0], bs):
                chunk = patches[start : start + bs].to(self._device)
                out[start : start + bs] = self._infer(chunk).float().cpu().numpy()
        return np.ascontiguousarray(out)


def HardNet_create(**params: Any) -> HardNet:  # noqa: N802 (OpenCV naming)
    """Create a :class:`HardNet`, e.g. ``HardNet_create(preset="hardnet-lite", max_keypoints=2048)``."""
    return HardNet(**params)

