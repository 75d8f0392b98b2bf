"""Frozen-dataclass configuration helpers shared by every feature.

Every feature has one frozen dataclass of parameters. The parameter names are the same
everywhere: ``max_keypoints`` (``None`` = no limit), ``detection_threshold``,
``nms_radius``, ``descriptor_dim``, ``max_side`` (``None`` = never resize).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

C = TypeVar("C")


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Parameters every feature accepts.

    Attributes:
        max_side: images whose longest side exceeds this are downscaled (INTER_AREA)
            before processing and keypoints are mapped back to the original pixel grid;
            ``None`` processes every image at full resolution. The default 4096 leaves
            ordinary photos untouched (bit-exact OpenCV results) and bounds the memory of
            an 8K image (7680x4320) to about 2.3 GB for SIFT (7.7 GB at full size).
    """

    max_side: int | None = 4096

    def __post_init__(self) -> None:
        check_optional_positive_int(self, "max_side")


def build_config(config_class: type[C], params: Mapping[str, Any]) -> C:
    """Instantiate ``config_class`` from keyword parameters.

    Raises:
        TypeError: a key is not a field of ``config_class`` (the message lists valid keys).
    """
    valid = [f.name for f in dataclasses.fields(config_class)]  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {unknown} for {config_class.__name__}; "
            f"valid parameters: {valid}"
        )
    return config_class(**params)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Field name → value, in declaration order."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def check_optional_positive_int(config: Any, name: str) -> None:
    """Validate that ``config.<name>`` is ``None`` or an int > 0."""
    value = getattr(config, name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be None (no limit) or a positive int, got {value!r}")


def check_int_range(config: Any, name: str, low: int, high: int | None = None) -> None:
    """Validate that ``config.<name>`` is an int (not a bool) in [low, high]; high None = no upper bound."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bound}, got {value!r}")


def check_range(config: Any, name: str, low: float | None = None, high: float | None = None) -> None:
    """Validate that ``config.<name>`` is a finite number within [low, high]."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{name} must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def check_choice(config: Any, name: str, choices: tuple[Any, ...]) -> None:
    """Validate that ``config.<name>`` is one of ``choices``."""
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
