"""The one registry of features: ``create(name, **params)`` and ``list_features()``.

Classical baselines and learned models register here under lower-case names, so every
tool (demo, bench, examples, adapters) accepts any feature by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cvlearned.feature2d import Feature2D


@dataclass(frozen=True)
class FeatureSpec:
    """A registered feature: its factory and a one-line summary."""

    name: str
    factory: Callable[..., Feature2D]
    kind: str  # "classical" | "learned"
    summary: str


_REGISTRY: dict[str, FeatureSpec] = {}


def register(name: str, factory: Callable[..., Feature2D], *, kind: str, summary: str) -> None:
    """Add a feature under ``name`` (lower-case); re-registering a name is an error."""
    key = name.lower()
    if key in _REGISTRY:
        raise ValueError(f"feature {key!r} is already registered")
    if kind not in ("classical", "learned"):
        raise ValueError(f"kind must be 'classical' or 'learned', got {kind!r}")
    _REGISTRY[key] = FeatureSpec(key, factory, kind, summary)


def create(name: str, **params: Any) -> Feature2D:
    """Create a registered feature by name, e.g. ``create("sift", max_keypoints=2048)``.

    Raises:
        ValueError: unknown name (the message lists the registered names).
        TypeError: unknown parameter (the message lists the valid ones).
    """
    return feature_spec(name).factory(**params)


def list_features(kind: str | None = None) -> list[str]:
    """Registered names (sorted), optionally only ``"classical"`` or ``"learned"`` ones."""
    return sorted(n for n, s in _REGISTRY.items() if kind is None or s.kind == kind)


def feature_spec(name: str) -> FeatureSpec:
    """The :class:`FeatureSpec` registered under ``name`` (case-insensitive).

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: unknown name; the message suggests the closest registered names.
    """
    if not isinstance(name, str):
        raise TypeError(f"feature name must be a str, got {type(name).__name__}")
    spec = _REGISTRY.get(name.lower())
    if spec is None:
        raise ValueError(unknown_feature_message(name))
    return spec


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` naming the (at most two) ``known`` names closest to
    ``word`` (``difflib``; case, spaces and ``_`` for ``-`` ignored, an exact match after that
    is the only one), or ``""`` when none is close."""
    guess = word.strip().lower().replace("_", "-")
    close = [guess] if guess in known else difflib.get_close_matches(guess, known, n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_feature_message(name: str) -> str:
    """One line naming an unregistered ``name``, the closest registered names and all of them."""
    known = list_features()
    return f"unknown feature {name!r}{did_you_mean(name, known)} (registered features: {', '.join(known)})"


#: features the examples use by default, best first by the measured benchmarks (README):
#: hardnet-lite is on par with SIFT; superpoint-lite-v7 is still clearly below it
DEFAULT_PREFERENCE = ("hardnet-lite", "superpoint-lite", "sift")


def default_feature() -> str:
    """The registered feature examples use by default: the first of
    :data:`DEFAULT_PREFERENCE` that is registered (``sift`` always is)."""
    return next(name for name in DEFAULT_PREFERENCE if name in _REGISTRY)
