"""HardNet (Mishchuk et al., NeurIPS 2017) on the L2-Net architecture (Tian et al., CVPR 2017).

The network maps a 32x32 gray patch to a unit-norm 128-d descriptor:

    per-patch standardisation (x - mean) / std
    3x3 conv 32, 3x3 conv 32, 3x3 conv 64 stride 2, 3x3 conv 64, 3x3 conv 128 stride 2,
    3x3 conv 128 (each: no bias, BatchNorm without affine, ReLU)
    dropout (training only), 8x8 conv 128 (no bias), BatchNorm without affine, L2 normalise

``width`` multiplies the six inner widths (``hardnet`` = 1.0, ``hardnet-lite`` = 0.5); the
output is 128-d for every preset. :class:`HardNet` describes SIFT keypoints (OpenCV's
detector, keeping its orientation by default) with patches from :mod:`cvlearned.patches`.

Other detectors: ``detector=`` takes any object with ``detect(image, mask)`` returning
``cv2.KeyPoint`` s (``cv2.FastFeatureDetector_create()``, ``cv2.GFTTDetector_create()``,
``cv2.ORB_create()``, a cvlearned feature, ...). Orientation: ``"keypoint"`` (the detector's
angle, SIFT's by default; ``-1`` = upright), ``"upright"``, or ``"learned"``
(:mod:`cvlearned.models.orinet` predicts the angle from the upright patch; the returned
keypoints carry it).
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
from cvlearned.config import FeatureConfig, check_choice, check_network_fields, check_optional_positive_int, check_range
from cvlearned.device import resolve_device
from cvlearned.feature2d import Keypoints, _decode_value
from cvlearned.keypoints import sanitize_detected, unique_locations
from cvlearned.models.cpu_runtime import CpuRunner
from cvlearned.models.detectors import detector_name
from cvlearned.models.network_feature import NetworkFeature
from cvlearned.patches import DEFAULT_PATCH_SCALE, build_pyramid, extract_patches
from cvlearned import weight_files
from cvlearned.weight_files import load_into, load_state_dict, shipped_file, shipped_weights

__all__ = ["PRESETS", "ORIENTATIONS", "DEFAULT_KEYPOINT_SIZE", "HardNetNet", "HardNetConfig", "HardNet",
           "HardNet_create", "build_net"]

DESCRIPTOR_DIM = 128
PATCH_SIZE = 32
ORIENTATIONS = ("keypoint", "upright", "learned")
#: size given to keypoints with size <= 0 (``keypoint_size=None``): a 30 px patch at patch_scale 6
DEFAULT_KEYPOINT_SIZE = 5.0


@dataclass(frozen=True)
class Preset:
    """A named network size (its shipped weight file, if any, is the manifest record of ``name``)."""

    name: str
    display_name: str
    width: float


PRESETS: dict[str, Preset] = {
    "hardnet": Preset("hardnet", "HardNet", 1.0),
    "hardnet-lite": Preset("hardnet-lite", "HardNet-Lite", 0.5),
    # the hardnet-lite network with weights also trained on patches of real SfM tracks
    "hardnet-lite-sfm": Preset("hardnet-lite-sfm", "HardNet-Lite-SfM", 0.5),
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
                assert bn.running_var is not None and bn.running_mean is not None  # track_running_stats
                inv = torch.rsqrt(bn.running_var.detach().float() + bn.eps)
                # torch annotates Conv2d's kernel_size / stride / padding attributes as tuple[int, ...]
                conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,  # type: ignore[arg-type]
                                 bias=True)
                assert conv.bias is not None
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


def infer_preset(state_dict: dict[str, Any]) -> str | None:
    """The preset whose shapes a state dict has (None when none fits)."""
    return weight_files.infer_preset(state_dict, PRESETS, build_net)


def build_net(preset: str = "hardnet", dropout: float = 0.3) -> HardNetNet:
    """An untrained network of the given preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    return HardNetNet(PRESETS[preset].width, dropout=dropout)


@dataclass(frozen=True)
class HardNetConfig(FeatureConfig):
    """HardNet parameters.

    Attributes:
        max_keypoints: keep the strongest N keypoints (SIFT: OpenCV ``nfeatures``; another
            ``detector``: the N of highest ``response``); None = all.
        detection_threshold: SIFT contrast threshold (OpenCV ``contrastThreshold``); not
            used with another ``detector`` (configure that object instead).
        descriptor_dim: fixed 128 (validated).
        patch_scale: patch side = ``patch_scale * KeyPoint.size`` pixels (6.0 = SIFT's
            own 12-sigma support, see :mod:`cvlearned.patches`).
        orientation: ``"keypoint"`` keeps the detector's orientation (SIFT's: rotation
            invariant; a keypoint with ``angle = -1``, e.g. from FAST or GFTT, gets an
            upright patch); ``"upright"`` describes axis-aligned patches and returns
            keypoints with ``angle = -1`` (one per location); ``"learned"`` predicts the
            angle with OriNet (:mod:`cvlearned.models.orinet`) from the upright patch, describes
            the patch rotated by it and returns keypoints (one per location) whose ``angle`` is
            the predicted one — also in ``compute()``, which replaces the given angles.
        detector: None = OpenCV SIFT driven by ``max_keypoints`` / ``detection_threshold``;
            else any object with ``detect(image, mask)`` returning ``cv2.KeyPoint`` s (e.g.
            ``cv2.FastFeatureDetector_create()``, ``cv2.GFTTDetector_create()``,
            ``cv2.ORB_create()``, a cvlearned feature). It gets the gray uint8 image (after
            ``max_side``) and the mask; keypoints outside the mask are dropped. ``write()``
            stores only its name (``getDefaultName()``); ``read()`` refuses a file written with
            a custom detector unless the reading feature already holds a detector of that name.
        keypoint_size: how sizes are used. The patch side is always ``patch_scale *
            KeyPoint.size``. None (default): every keypoint keeps its own size — SIFT's
            ``2 sigma``; a custom detector's value as it reports it (FAST 7 = its circle
            diameter, GFTT its block size 3, ORB ``31 * scale``): fixed-scale corners get
            18-42 px patches, which measured best among sizes 3-12 for FAST and GFTT
            (weights/orinet-v1.md). A keypoint with size <= 0 (a detector that sets none, or
            one passed to ``compute()``) is described at ``DEFAULT_KEYPOINT_SIZE`` = 5 (a
            30 px patch, about the network's 32 px input at 1 px per pixel). A number: every
            keypoint of a custom ``detector``, and every size <= 0 keypoint in ``compute()``,
            is described at this size. Keypoints are returned with the size used, so
            ``compute()`` on detected keypoints reproduces ``detectAndCompute()``.
        orinet_weights: OriNet state dict for ``orientation="learned"``; None = the shipped,
            sha256-verified ``orinet-v1.pt``.
        preset: ``"hardnet"`` (full width), ``"hardnet-lite"`` (half width, its network is
            about 2.8x faster on a CPU) or ``"hardnet-lite-sfm"`` (the half-width network with
            weights also trained on patches of real SfM tracks); all ship weights. None = ``hardnet`` (the model
            ``cvlearned.create("hardnet")`` gives), or, with ``weights=``, the preset the file fits.
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
    detector: Any = None
    keypoint_size: float | None = None
    preset: str | None = None
    weights: str | None = None
    orinet_weights: str | None = None
    device: str = "auto"
    batch_size: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "detection_threshold", 0.0)
        if self.descriptor_dim != DESCRIPTOR_DIM or isinstance(self.descriptor_dim, bool):
            raise ValueError(f"descriptor_dim must be {DESCRIPTOR_DIM} for HardNet, got {self.descriptor_dim!r}")
        check_range(self, "patch_scale", 0.1, 100.0)
        check_choice(self, "orientation", ORIENTATIONS)
        if self.detector is not None and not callable(getattr(self.detector, "detect", None)):
            raise TypeError(
                "detector must be None (OpenCV SIFT) or an object with detect(image, mask), e.g. "
                f"cv2.FastFeatureDetector_create(); got {type(self.detector).__name__}"
            )
        if self.keypoint_size is not None:
            check_range(self, "keypoint_size", 1e-3, 1e4)
        check_network_fields(self, PRESETS, ("weights", "orinet_weights"))
        check_optional_positive_int(self, "batch_size")
        if self.batch_size is None:
            raise ValueError("batch_size must be a positive int")


class HardNet(NetworkFeature):
    """Keypoints (SIFT or a given detector) described by a HardNet patch CNN (128-d float32, L2 norm)."""

    config_class = HardNetConfig
    algorithm_name = "HardNet"
    describes_unsized_keypoints = True  # _compute describes size <= 0 at keypoint_size / DEFAULT_KEYPOINT_SIZE
    presets = PRESETS
    default_preset = "hardnet"

    def _configure(self) -> None:
        cfg: HardNetConfig = self.config
        self._lock = threading.RLock()
        if cfg.detector is None:
            self._detector = build_sift(
                SIFTConfig(max_side=None, max_keypoints=cfg.max_keypoints, detection_threshold=cfg.detection_threshold)
            )
        else:
            self._detector = cfg.detector
        self._device = resolve_device(cfg.device)
        preset, state, source = self._load_weights(infer_preset)
        if cfg.preset is None:
            self.config = dataclasses.replace(cfg, preset=preset)
        net = build_net(preset)
        load_into(net, state, source)
        self._net = net.eval()
        self._orinet = None
        if cfg.orientation == "learned":
            from cvlearned.models.orinet import OriNet

            orinet = OriNet()
            source = shipped_weights(shipped_file("orinet")) if cfg.orinet_weights is None else cfg.orinet_weights
            load_into(orinet, load_state_dict(source), source)
            self._orinet = orinet.eval()
        self._place(self._device)
        self._loaded = True

    def _place(self, device: Any) -> None:
        """Put the networks on ``device``; inference uses their BN-fused copies (channels_last
        on the CPU, HardNet's run by :class:`CpuRunner`: onnxruntime when installed)."""
        self._net = self._net.to(device)
        fused = FusedHardNet(self._net.cpu()).to(device)
        self._net = self._net.to(device)
        if device.type == "cpu":
            fused = fused.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it
        self._infer = fused.eval()
        self._run = CpuRunner(self._infer, (1, PATCH_SIZE, PATCH_SIZE)) if device.type == "cpu" else self._infer
        self._orinet_infer: torch.nn.Module | None = None
        if self._orinet is not None:
            from cvlearned.models.orinet import FusedOriNet

            self._orinet = self._orinet.to(device)
            orinet_fused = FusedOriNet(self._orinet.cpu()).to(device)
            self._orinet = self._orinet.to(device)
            if device.type == "cpu":
                orinet_fused = orinet_fused.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            self._orinet_infer = orinet_fused.eval()

    # ------------------------------------------------------------------ API
    def descriptorSize(self) -> int:  # noqa: N802
        return DESCRIPTOR_DIM

    @property
    def orinet(self):
        """The OriNet ``torch.nn.Module`` (eval mode) when ``orientation="learned"``, else None."""
        return self._orinet

    # ---------------------------------------------------------------- hooks
    def _detect_raw(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        """Detector keypoints; one per location unless orientation == "keypoint"."""
        if min(gray.shape) < 1:
            return ()
        cfg: HardNetConfig = self.config
        with self._lock:
            keypoints = tuple(self._detector.detect(gray, mask))
        if cfg.detector is not None:
            keypoints = self._normalise_detected(keypoints, gray.shape, mask)
        if cfg.orientation == "keypoint":
            return keypoints
        return tuple(cv2.KeyPoint(kp.pt[0], kp.pt[1], kp.size, -1.0, kp.response, kp.octave, kp.class_id)
                     for kp in unique_locations(keypoints, by_size=True))

    def _normalise_detected(self, keypoints: Keypoints, shape: tuple[int, ...], mask: np.ndarray | None) -> Keypoints:
        """A custom detector's keypoints: finite, inside image and mask, sized, strongest N."""
        return sanitize_detected(keypoints, shape, mask, DEFAULT_KEYPOINT_SIZE, self.config.max_keypoints,
                                 fixed_size=self.config.keypoint_size)

    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        keypoints = self._detect_raw(gray, mask)
        if self.config.orientation != "learned" or not keypoints:
            return keypoints
        return self._learn_orientations(build_pyramid(gray), keypoints)

    def _detect_and_compute(self, gray: np.ndarray, mask: np.ndarray | None) -> tuple[Keypoints, np.ndarray | None]:
        keypoints = self._detect_raw(gray, mask)
        if not keypoints:
            return (), None
        return self._compute(gray, keypoints)

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        """Unless ``orientation="keypoint"``, given keypoints that differ only by angle get one
        descriptor: the strongest is kept (as ``detect`` does)."""
        if self.config.orientation != "keypoint":
            keypoints = unique_locations(keypoints, by_size=True)
        fallback = DEFAULT_KEYPOINT_SIZE if self.config.keypoint_size is None else float(self.config.keypoint_size)
        kept = tuple(
            kp if kp.size > 0
            else cv2.KeyPoint(kp.pt[0], kp.pt[1], fallback, kp.angle, kp.response, kp.octave, kp.class_id)
            for kp in keypoints
        )
        pyramid = build_pyramid(gray)
        orientation = self.config.orientation
        if orientation == "learned":
            kept = self._learn_orientations(pyramid, kept)
        patches = extract_patches(
            pyramid, kept, PATCH_SIZE, float(self.config.patch_scale), upright=orientation == "upright"
        )
        return kept, self.describe_patches(patches)

    def _learn_orientations(self, pyramid: list[np.ndarray], keypoints: Keypoints) -> Keypoints:
        """The keypoints with ``angle`` predicted by OriNet from their upright patches."""
        upright = extract_patches(pyramid, keypoints, PATCH_SIZE, float(self.config.patch_scale), upright=True)
        angles = self.predict_orientations(upright)
        return tuple(
            cv2.KeyPoint(kp.pt[0], kp.pt[1], kp.size, float(a), kp.response, kp.octave, kp.class_id)
            for kp, a in zip(keypoints, angles)
        )

    def predict_orientations(self, patches: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, 1, 32, 32) upright patches → (N,) OpenCV angles in [0, 360) (needs ``orientation="learned"``)."""
        from cvlearned.models.orinet import vectors_to_angles

        if self._orinet is None or self._orinet_infer is None:  # _place sets both
            raise RuntimeError('predict_orientations needs orientation="learned"')
        patches = torch.as_tensor(np.asarray(patches) if not isinstance(patches, torch.Tensor) else patches)
        patches = patches.float().reshape(-1, 1, PATCH_SIZE, PATCH_SIZE)
        out = np.empty((patches.shape[0], 2), np.float64)
        bs = int(self.config.batch_size)
        with self._lock, torch.inference_mode():
            for start in range(0, patches.shape[0], bs):
                chunk = patches[start : start + bs].to(self._device)
                out[start : start + bs] = self._orinet_infer(chunk).double().cpu().numpy()
        return vectors_to_angles(out)

    # ---------------------------------------------------------- persistence
    def _encode_field(self, key: str, value: Any) -> Any:
        """A custom ``detector`` is stored by its name only."""
        if key == "detector" and value is not None:
            return detector_name(value)
        return value

    def _decode_field(self, key: str, item: cv2.FileNode, old: Any) -> Any:
        """A stored detector name is accepted only if it is the default (SIFT) or the name
        of the detector this feature already holds."""
        if key == "detector":
            return self._read_detector(item)
        return super()._decode_field(key, item, old)

    def _read_detector(self, item: cv2.FileNode) -> Any:
        stored = _decode_value(item, "detector")
        if stored is None:
            return None
        if not isinstance(stored, str):
            raise ValueError(f"detector must be stored as a detector name or None, got {stored!r}")
        held = self.config.detector
        if held is not None and detector_name(held) == stored:
            return held
        raise ValueError(
            f"these parameters were written with the custom detector {stored!r}, which cannot be "
            f"restored from a file; create the feature with detector=<a {stored} object> "
            "(HardNet_create(detector=...)) and read() into it"
        )

    def describe_patches(self, patches: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, 1, 32, 32) patches (0..255 or any scale) → (N, 128) float32 descriptors.

        On the CPU the network runs with onnxruntime when installed (about 1.3x faster, equal
        to 2e-6; :mod:`cvlearned.models.cpu_runtime`; ``CVLEARNED_RUNTIME=torch`` disables it)."""
        patches = torch.as_tensor(np.asarray(patches) if not isinstance(patches, torch.Tensor) else patches)
        patches = patches.float().reshape(-1, 1, PATCH_SIZE, PATCH_SIZE)
        out = np.empty((patches.shape[0], DESCRIPTOR_DIM), np.float32)
        bs = int(self.config.batch_size)
        with self._lock, torch.inference_mode():
            for start in range(0, patches.shape[0], bs):
                chunk = patches[start : start + bs].to(self._device)
                out[start : start + bs] = self._run(chunk).float().cpu().numpy()
        return np.ascontiguousarray(out)


def HardNet_create(**params: Any) -> HardNet:  # noqa: N802 (OpenCV naming)
    """Create a :class:`HardNet`, e.g. ``HardNet_create(preset="hardnet-lite", max_keypoints=2048)``
    or ``HardNet_create(detector=cv2.FastFeatureDetector_create(), orientation="learned")``."""
    return HardNet(**params)

