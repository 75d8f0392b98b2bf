"""The ``--matcher`` value every tool takes (bench, demo, two_view, panorama), one syntax:

- ``NAME``: a registered matcher (``cvlearned.list_matchers()``: ``mnn``, ``ratio``, and a
  learned ``<preset>-<feature>`` matcher for every weight file that ships);
- ``lightglue:PATH``: a LightGlue state dict (``cvlearned train matcher``) that matches the
  descriptors of the feature it runs with (its width must fit them).

Importing this module does not import torch (only creating a learned matcher does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from cvlearned.matchers.base import DescriptorMatcher
from cvlearned.matchers.registry import LightGlueMatcher_create, create_matcher, list_matchers
from cvlearned.registry import did_you_mean

__all__ = ["DEFAULT_MATCHER", "WEIGHTS_PREFIX", "IncompatibleMatcher", "MatcherChoice", "incompatibility",
           "matcher_for", "parse_matcher", "parse_matcher_list"]

#: the matcher every tool uses without ``--matcher``: mutual nearest neighbour + ratio 0.8
DEFAULT_MATCHER = "ratio"
WEIGHTS_PREFIX = "lightglue:"


class IncompatibleMatcher(ValueError):
    """A matcher cannot take a feature's descriptors (tools that run several features skip
    the pair with a note; the others report it)."""


@dataclass(frozen=True)
class MatcherChoice:
    """A parsed ``--matcher`` value: a registered ``name``, or ``weights`` of a LightGlue
    state dict (``name`` None). ``label`` names it in tables (``lightglue:<file name>``)."""

    label: str
    name: str | None = None
    weights: Path | None = None

    @property
    def plain(self) -> bool:
        """Whether this is a plain (descriptor-distance) matcher."""
        return self.name in list_matchers("plain")

    def create(self, feature: str, **params: Any) -> DescriptorMatcher:
        """The matcher for the descriptors of registered ``feature`` (``params`` go to the
        registered factory, or are LightGlue runtime parameters for ``weights``)."""
        if self.weights is not None:
            return LightGlueMatcher_create(feature, weights=self.weights, **params)
        return create_matcher(self.name or "", **params)


def matcher_for(choice: MatcherChoice, feature_name: str, feature: Any, **plain_params: Any) -> DescriptorMatcher:
    """``choice``'s matcher for ``feature`` (registered as ``feature_name``): a plain one with
    ``plain_params`` (e.g. ``mutual``, ``ratio``) and the feature's ``defaultNorm()``.

    Raises:
        IncompatibleMatcher: a learned matcher that cannot take the feature's descriptors.
    """
    if choice.plain:
        return choice.create(feature_name, norm=int(feature.defaultNorm()), **plain_params)
    matcher = choice.create(feature_name)
    reason = incompatibility(matcher, feature_name, feature)
    if reason is not None:
        raise IncompatibleMatcher(reason)
    return matcher


def parse_matcher(text: str) -> MatcherChoice:
    """``NAME`` or ``lightglue:PATH`` → :class:`MatcherChoice`.

    Raises:
        ValueError: unknown name (with the closest names), or PATH is not a file.
    """
    text = text.strip()
    if text.lower().startswith(WEIGHTS_PREFIX):
        path = Path(text[len(WEIGHTS_PREFIX):])
        if not path.is_file():
            raise ValueError(f"{text!r}: no weight file {str(path)!r} (lightglue:PATH needs a state dict "
                             "from `cvlearned train matcher`)")
        return MatcherChoice(f"lightglue:{path.name}", weights=path)
    known = list_matchers()
    name = text.lower()
    if name not in known:
        raise ValueError(f"unknown matcher {text!r}{did_you_mean(text, known)} (registered: {', '.join(known)}; "
                         f"or {WEIGHTS_PREFIX}PATH for a weight file)")
    return MatcherChoice(name, name=name)


def parse_matcher_list(text: str) -> list[MatcherChoice]:
    """``SPEC,SPEC,...`` → :class:`MatcherChoice` s in order; rejects empty items and repeats."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise ValueError(f"empty matcher in {text!r} (stray comma?)")
    choices = [parse_matcher(item) for item in items]
    labels = [c.label for c in choices]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"matcher(s) listed twice: {', '.join(repeated)}")
    return choices


def incompatibility(matcher: DescriptorMatcher, feature_name: str, feature: Any) -> str | None:
    """Why ``matcher`` cannot match the descriptors of ``feature`` (registered as
    ``feature_name``), or None when it can: a learned matcher takes only float descriptors of
    its width, and a registered one only those of the feature it was trained on."""
    if not matcher.needs_pair_info:  # plain matchers take any descriptors
        return None
    trained_on = getattr(matcher, "features", feature_name)
    if trained_on != feature_name:
        return f"matcher {matcher.name!r} was trained on {trained_on!r} descriptors, not {feature_name!r} ones"
    config: Any = getattr(matcher, "config")  # learned matchers (needs_pair_info) carry a LightGlueConfig
    dim, size = config.descriptor_dim, int(feature.descriptorSize())
    if feature.descriptorType() != cv2.CV_32F or size != dim:
        given = f"{size}-d float" if feature.descriptorType() == cv2.CV_32F else f"{size}-byte binary"
        return f"matcher {matcher.name!r} takes {dim}-d float descriptors; {feature_name!r} gives {given} ones"
    return None
