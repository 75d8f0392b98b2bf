"""Frozen-dataclass configuration helpers shared by every feature.

Every feature has one frozen dataclass of parameters. The parameter names are the same
everywhere: ``max_keypoints`` (``None`` = no limit), ``detection_threshold``,
``nms_radius``, ``descriptor_dim``, ``max_side`` (``None`` = never resize).
"""

from __future__ import annotations

import dataclasses
import math
import typing
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


#: what :func:`typed_field_value` accepts for each field type
_EXPECTED = {
    bool: "0, 1, true or false",
    int: "an integral number in the C int range [-2**31, 2**31 - 1]",
    float: "a finite number",
    str: "a string",
}


def typed_field_value(config_class: type, name: str, value: Any) -> Any:
    """``value`` read from a file (None, int, float or str) as the declared type of field ``name``.

    An int field takes integral numbers in the 32-bit range (2.0 → 2; never 2.7, inf or a
    bool), a float field finite numbers, a bool field 0, 1, "true" or "false", a str field
    strings; None only where the field is optional (``X | None``); an ``Any`` field takes the
    value unchanged. Finer ranges are left to the config's own validation.

    Raises:
        ValueError: naming the field, what it accepts and the value.
    """
    annotation = typing.get_type_hints(config_class)[name]
    if annotation is Any:
        return value
    args = typing.get_args(annotation)
    optional = type(None) in args
    kind = next((a for a in args if a is not type(None)), annotation) if args else annotation
    converted = None if value is None else _as_kind(kind, value)
    if converted is None and not (value is None and optional):
        expected = _EXPECTED.get(kind, kind.__name__) + (" or None" if optional else "")
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return converted


def _as_kind(kind: type, value: Any) -> Any:
    """``value`` converted to ``kind`` (bool, int, float or str), or None when it does not fit."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is bool:
        if isinstance(value, str):
            return {"true": True, "false": False}.get(value.lower())
        return bool(value) if number and value in (0, 1) else None
    if kind is int:
        integral = number and float(value).is_integer() and -MAX_INT_PARAM - 1 <= value <= MAX_INT_PARAM
        return int(value) if integral else None
    if kind is float:
        return float(value) if number else None
    return value if isinstance(value, kind) else None


#: the largest count any parameter may hold: OpenCV passes them as C ``int`` (measured:
#: ``max_keypoints=2**31`` raises cv2.error inside SIFT, ``grid_step=1e30`` OverflowError)
MAX_INT_PARAM: int = 2**31 - 1


def check_optional_positive_int(config: Any, name: str, high: int = MAX_INT_PARAM) -> None:
    """Validate that ``config.<name>`` is ``None`` or an int in [1, high]."""
    value = getattr(config, name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= high:
        raise ValueError(f"{name} must be None (no limit) or an int in [1, {high}], got {value!r}")


def check_int_range(config: Any, name: str, low: int, high: int | None = None) -> None:
    """Validate that ``config.<name>`` is an int (not a bool) in [low, high]; high None = no upper bound."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bound}, got {value!r}")


def check_range(config: Any, name: str, low: float | None = None, high: float | None = None) -> None:
    """Validate that ``config.<name>`` is a finite number within [low, high]."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def check_choice(config: Any, name: str, choices: tuple[Any, ...]) -> None:
    """Validate that ``config.<name>`` is one of ``choices``."""
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def check_detection_fields(config: Any) -> None:
    """The fields every heatmap detector's config shares (SuperPoint, XFeat): ``max_keypoints``
    (None or > 0), ``detection_threshold`` in [0, 1], ``nms_radius`` and ``border`` in
    [0, 64], ``refine_radius`` in [0, 8]."""
    check_optional_positive_int(config, "max_keypoints")
    check_range(config, "detection_threshold", 0.0, 1.0)
    for name, top in (("nms_radius", 64), ("border", 64), ("refine_radius", 8)):
        check_int_range(config, name, 0, top)


def check_preset_descriptor_dim(value: Any, presets: Any, preset: str) -> None:
    """ValueError unless ``value`` is the ``descriptor_dim`` of ``presets[preset]`` (a bool never is)."""
    expected = presets[preset].descriptor_dim
    if isinstance(value, bool) or value != expected:
        raise ValueError(f"descriptor_dim must be {expected} for {preset}, got {value!r}")


def check_network_fields(config: Any, presets: Any, paths: tuple[str, ...] = ("weights",)) -> None:
    """The fields every network feature's config shares: ``preset`` (None or one of
    ``presets``), the weight-file ``paths`` (None or a path, stored as ``str``) and ``device``
    (stored as ``str``, e.g. from a ``torch.device``)."""
    if config.preset is not None:
        check_choice(config, "preset", tuple(presets))
    for name in paths:
        value = getattr(config, name)
        if value is not None and not isinstance(value, str):
            object.__setattr__(config, name, str(value))
    if not isinstance(config.device, str):
        object.__setattr__(config, "device", str(config.device))
