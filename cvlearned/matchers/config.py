"""Configuration of the learned matcher: architecture presets and the frozen config dataclass.

Importing this module does not import torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cvlearned.config import build_config, check_choice, check_int_range, check_range

__all__ = ["MatcherPreset", "PRESETS", "RUNTIME_FIELDS", "LightGlueConfig", "make_config", "check_runtime_params"]


@dataclasses.dataclass(frozen=True)
class MatcherPreset:
    """Architecture of one preset: token ``width``, ``depth`` (self+cross layer pairs), ``heads``."""

    width: int
    depth: int
    heads: int


#: "lightglue-lite": CPU-friendly, 128-d tokens, 4 layers, 4 heads (1.34 M parameters for
#: 128-d descriptors; 0.47 s for 1024 x 1024 keypoints, all layers, one CPU thread);
#: "lightglue": the paper's size, 256-d tokens, 9 layers, 4 heads (11.9 M; 1.65 s).
PRESETS: dict[str, MatcherPreset] = {
    "lightglue-lite": MatcherPreset(width=128, depth=4, heads=4),
    "lightglue": MatcherPreset(width=256, depth=9, heads=4),
}


@dataclasses.dataclass(frozen=True)
class LightGlueConfig:
    """Parameters of a :class:`~cvlearned.matchers.lightglue.LightGlueNet` and its matching.

    Attributes:
        preset: architecture, a key of :data:`PRESETS`.
        descriptor_dim: width D of the input descriptors (128 for SIFT).
        scale_orientation: encode log keypoint size and orientation next to (x, y)
            (cv2.KeyPoint input only; OpenCV's LightGlueMatcher passes (x, y) alone, so
            such a model cannot be exported for it).
        filter_threshold: keep mutual best pairs whose match probability exceeds this.
        depth_confidence: stop after a layer once this fraction of points is confident
            (eager PyTorch only); -1 disables early stopping.
        width_confidence: prune points that are confidently unmatchable (matchability
            below ``1 - width_confidence``; eager PyTorch only); -1 disables pruning.
    """

    preset: str = "lightglue-lite"
    descriptor_dim: int = 128
    scale_orientation: bool = False
    filter_threshold: float = 0.1
    depth_confidence: float = 0.95
    width_confidence: float = 0.99

    def __post_init__(self) -> None:
        check_choice(self, "preset", tuple(PRESETS))
        check_int_range(self, "descriptor_dim", 1, 4096)
        if not isinstance(self.scale_orientation, bool):
            raise TypeError(f"scale_orientation must be a bool, got {type(self.scale_orientation).__name__}")
        check_range(self, "filter_threshold", 0.0, 1.0)
        for name in ("depth_confidence", "width_confidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value == -1 or 0 < value <= 1):
                raise ValueError(f"{name} must be in (0, 1] or -1 (disabled), got {value!r}")

    @property
    def architecture(self) -> MatcherPreset:
        """The :class:`MatcherPreset` of :attr:`preset`."""
        return PRESETS[self.preset]


#: the LightGlueConfig fields a trained file leaves free (the others are its architecture)
RUNTIME_FIELDS = ("filter_threshold", "depth_confidence", "width_confidence")


def check_runtime_params(params: Mapping[str, Any]) -> None:
    """TypeError naming the keys of ``params`` that are not in :data:`RUNTIME_FIELDS`."""
    unknown = sorted(set(params) - set(RUNTIME_FIELDS))
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {unknown} for a trained matcher; valid parameters: {list(RUNTIME_FIELDS)}"
        )


def make_config(params: Mapping[str, Any]) -> LightGlueConfig:
    """:class:`LightGlueConfig` from keyword parameters; unknown keys raise TypeError listing the valid ones."""
    return build_config(LightGlueConfig, params)
