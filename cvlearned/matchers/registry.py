"""The registry of matchers: ``create_matcher(name, **params)``, ``list_matchers()`` and
``LightGlueMatcher_create``. Importing this module does not import torch.

Plain matchers are always registered; a learned matcher only when its weight file ships:
every ``lightglue`` record of ``weights/manifest.json`` registers its model name
(``<preset>-<feature>``) with the record's summary, exactly as learned features are.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cvlearned.matchers.base import DescriptorMatcher
from cvlearned.matchers.config import PRESETS
from cvlearned.matchers.plain import NearestNeighbourMatcher
from cvlearned.registry import feature_spec
from cvlearned.weight_files import WeightsEntry, WeightsError, load_manifest, shipped_file, shipped_weights

__all__ = ["MatcherSpec", "register_matcher", "create_matcher", "list_matchers",
           "LightGlueMatcher_create"]


@dataclass(frozen=True)
class MatcherSpec:
    """A registered matcher: its factory, ``kind`` ("plain" | "learned") and a one-line summary."""

    name: str
    factory: Callable[..., DescriptorMatcher]
    kind: str
    summary: str


_MATCHERS: dict[str, MatcherSpec] = {}


def register_matcher(name: str, factory: Callable[..., DescriptorMatcher], *, kind: str, summary: str) -> None:
    """Add a matcher under ``name`` (lower-case); re-registering a name is an error."""
    key = name.lower()
    if key in _MATCHERS:
        raise ValueError(f"matcher {key!r} is already registered")
    if kind not in ("plain", "learned"):
        raise ValueError(f"kind must be 'plain' or 'learned', got {kind!r}")
    _MATCHERS[key] = MatcherSpec(key, factory, kind, summary)


def list_matchers(kind: str | None = None) -> list[str]:
    """Registered matcher names (sorted), optionally only ``"plain"`` or ``"learned"`` ones."""
    return sorted(n for n, s in _MATCHERS.items() if kind is None or s.kind == kind)


def create_matcher(name: str, **params: Any) -> DescriptorMatcher:
    """Create a registered matcher by name, e.g. ``create_matcher("ratio", ratio=0.7)``.

    Raises:
        TypeError: ``name`` is not a str, or an unknown parameter.
        ValueError: unknown name (the message suggests the closest and lists all).
    """
    if not isinstance(name, str):
        raise TypeError(f"matcher name must be a str, got {type(name).__name__}")
    spec = _MATCHERS.get(name.lower())
    if spec is None:
        known = list_matchers()
        close = difflib.get_close_matches(name.strip().lower().replace("_", "-"), known, n=2, cutoff=0.7)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown matcher {name!r}{hint} (registered: {', '.join(known)})")
    _check_params(spec, params)
    return spec.factory(**params)


def _check_params(spec: MatcherSpec, params: dict[str, Any]) -> None:
    """TypeError listing the valid parameters when ``spec``'s factory has fixed ones and
    ``params`` holds others (factories taking ``**params`` validate their own)."""
    signature = inspect.signature(spec.factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
        return
    unknown = sorted(set(params) - set(signature))
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {unknown} for matcher {spec.name!r}; valid parameters: {list(signature)}"
        )


def LightGlueMatcher_create(  # noqa: N802 (OpenCV naming)
    features: str = "sift", preset: str = "lightglue-lite", weights: str | os.PathLike | None = None, **params: Any
):
    """A :class:`~cvlearned.matchers.learned.LightGlueMatcher` for ``features`` (imports torch).

    Args:
        features: registered feature whose descriptors it matches.
        preset: architecture of the shipped weights to load (ignored with ``weights``,
            whose tensor shapes select it).
        weights: None = the shipped file of ``<preset>-<features>``; else a state-dict path.
        params: ``filter_threshold``, ``depth_confidence``, ``width_confidence``.

    Raises:
        ValueError: unknown feature or preset, or no weights ship for them (the message lists
            the shipped matchers).
        TypeError: a parameter other than those above.
    """
    from cvlearned.matchers.learned import load_matcher

    features = feature_spec(features).name
    if preset not in PRESETS:
        raise ValueError(f"unknown matcher preset {preset!r}; presets: {sorted(PRESETS)}")
    name = f"{preset}-{features}"
    if weights is not None:
        return load_matcher(features, weights, **params)
    if name not in list_matchers("learned"):
        raise ValueError(
            f"no trained weights ship for matcher {name!r} (shipped: {list_matchers('learned') or 'none'}); "
            "pass weights=PATH, a state dict from `cvlearned train matcher`"
        )
    return load_matcher(features, shipped_weights(shipped_file(name)), name, **params)


def _learned_factory(entry: WeightsEntry) -> Callable[..., DescriptorMatcher]:
    feature, preset = entry.feature, entry.matcher_preset
    if feature is None or preset is None:
        raise WeightsError(f"manifest record {entry.file!r} of a matcher names no feature or matcher_preset")

    def create(**params: Any) -> DescriptorMatcher:
        return LightGlueMatcher_create(feature, preset, **params)

    create.__name__ = f"create_{entry.model.replace('-', '_')}"
    return create


def _create_mnn(mutual: bool = True, norm: int | None = None) -> NearestNeighbourMatcher:
    return NearestNeighbourMatcher(mutual=mutual, ratio=None, name="mnn", norm=norm)


def _create_ratio(ratio: float = 0.8, mutual: bool = True, norm: int | None = None) -> NearestNeighbourMatcher:
    return NearestNeighbourMatcher(mutual=mutual, ratio=ratio, name="ratio", norm=norm)


def _register_builtin() -> None:
    register_matcher("mnn", _create_mnn, kind="plain", summary="mutual nearest neighbour (L2 / Hamming)")
    register_matcher("ratio", _create_ratio, kind="plain", summary="Lowe's ratio test (0.8) + mutual nearest neighbour")
    for entry in load_manifest().values():
        if entry.family == "lightglue":
            register_matcher(entry.model, _learned_factory(entry), kind="learned", summary=entry.summary)


_register_builtin()
