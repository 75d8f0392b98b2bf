"""Pair lists and matching of a ``features.h5`` into ``matches.h5`` (layouts: :mod:`cvlearned.io`).

Matching takes the ``--matcher`` syntax of every tool (a registered name or
``lightglue:PATH``, :mod:`cvlearned.matchers.spec`) and runs it through its
``match(kp0, d0, kp1, d1, size0, size1)`` pattern, so plain and learned matchers are
interchangeable. ``matching_scores0`` is ``1 - DMatch.distance`` (the match probability)
for learned matchers and ``1 / (1 + distance)`` for plain ones; ``distances0`` keeps the
distance itself. Resumable like extraction: pairs already in the output are skipped.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from tqdm import tqdm

from cvlearned import io
from cvlearned.matchers.base import DescriptorMatcher

__all__ = ["MatchReport", "check_pair_names", "create_file_matcher", "exhaustive_pairs", "match_pairs", "match_scores",
           "pair_indices", "pending_pairs", "sequential_pairs"]

PathLike = str | os.PathLike


def pair_indices(n: int, window: int | None = None) -> list[tuple[int, int]]:
    """Index pairs (i, j), i < j, of ``n`` images: all, or only ``j - i <= window``."""
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1 or None, got {window}")
    return [(i, j) for i, j in itertools.combinations(range(n), 2) if window is None or j - i <= window]


def exhaustive_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of ``names`` once, in sorted-name order."""
    ordered = sorted(names)
    return [(ordered[i], ordered[j]) for i, j in pair_indices(len(ordered))]


def sequential_pairs(names: Sequence[str], window: int) -> list[tuple[str, str]]:
    """Each image (sorted by name) with the next ``window`` ones (video frames, sequences)."""
    ordered = sorted(names)
    return [(ordered[i], ordered[j]) for i, j in pair_indices(len(ordered), window)]


def image_pairs(names: Sequence[str], mode: str, window: int) -> list[tuple[str, str]]:
    """:func:`exhaustive_pairs` (``mode`` "exhaustive") or :func:`sequential_pairs` ("sequential")."""
    if mode == "exhaustive":
        return exhaustive_pairs(names)
    if mode == "sequential":
        return sequential_pairs(names, window)
    raise ValueError(f"mode must be 'exhaustive' or 'sequential', got {mode!r}")


def covisible_pairs(names: Sequence[str], shared: np.ndarray, num: int) -> list[tuple[str, str]]:
    """Each image with the ``num`` images that share most 3-D points with it (at least one;
    ties by name order), as unordered pairs sorted by name: hloc's pairs from covisibility.
    ``shared`` is the (I, I) count matrix of :func:`cvlearned.pose_pair_export.covisibility`."""
    shared = np.asarray(shared)
    if shared.shape != (len(names), len(names)):
        raise ValueError(f"shared must be ({len(names)}, {len(names)}), got {shared.shape}")
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
        raise ValueError(f"num must be a positive int, got {num!r}")
    pairs = set()
    for i, row in enumerate(shared):
        others = np.where(np.arange(len(names)) == i, 0, row)
        for j in np.argsort(-others, kind="stable")[:num]:
            if others[j] > 0:
                pairs.add(tuple(sorted((names[i], names[j]))))
    return sorted(pairs)


def match_scores(distances: ArrayLike, learned: bool) -> np.ndarray:
    """``DMatch.distance`` → matching score, higher is better (see the module docstring)."""
    distances = np.asarray(distances, np.float32)
    return 1.0 - distances if learned else 1.0 / (1.0 + distances)


def pending_pairs(pairs: Sequence[tuple[str, str]], done_keys: set[str]) -> list[tuple[str, str]]:
    """``pairs`` without repeats (either order) and without those whose key (either order)
    is in ``done_keys``, in their first order."""
    seen, todo = set(done_keys), []
    for name0, name1 in pairs:
        if name0 == name1:
            raise ValueError(f"pair of an image with itself: {name0!r}")
        if io.names_to_pair(name0, name1) in seen or io.names_to_pair(name1, name0) in seen:
            continue
        seen.add(io.names_to_pair(name0, name1))
        todo.append((name0, name1))
    return todo


def check_pair_names(pairs: Sequence[tuple[str, str]], features: PathLike) -> None:
    """ValueError naming the images of ``pairs`` that ``features`` lacks."""
    missing = sorted({n for pair in pairs for n in pair} - set(io.feature_names(features)))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(f"{len(missing)} image(s) of the pairs are not in {features}: {shown} (unreadable? "
                         f"make the pairs from the feature file: cvlearned pairs MODE {features})")


@dataclass
class MatchReport:
    """What :func:`match_pairs` did: pairs matched now, pairs skipped (already in the
    file or repeated), total matches written, and the wall time in seconds."""

    matched: int = 0
    skipped: int = 0
    num_matches: int = 0
    seconds: float = 0.0


def create_file_matcher(matcher: str, features: PathLike) -> tuple[DescriptorMatcher, bool]:
    """(matcher, learned) for ``matcher`` (``NAME`` or ``lightglue:PATH``) and the feature
    recorded in ``features``.

    Raises:
        ValueError: unknown matcher, or a learned one trained on another feature.
    """
    from cvlearned.matchers.spec import parse_matcher

    choice = parse_matcher(matcher)
    if choice.plain:
        return choice.create(""), False
    feature = io.feature_attribute(features)
    created = choice.create(feature)
    trained_on = getattr(created, "features", feature)
    if trained_on != feature:
        raise ValueError(f"matcher {matcher!r} was trained on {trained_on!r} descriptors; {features} holds "
                         f"{feature!r} ones")
    return created, True


def match_pairs(
    features: PathLike, pairs: Sequence[tuple[str, str]], out: PathLike, matcher: str = "mnn",
    progress: bool = False, flush_every: int = 64, cache_size: int = 64,
) -> MatchReport:
    """Match ``pairs`` of images of ``features`` with ``matcher`` (``NAME`` or
    ``lightglue:PATH``) into ``out``.

    ``cache_size`` images' features are kept in memory (sequential pairs reuse them).
    """
    start = time.perf_counter()
    matcher_obj, learned = create_file_matcher(matcher, features)
    io.check_attribute(out, "matcher", matcher)
    todo = pending_pairs(pairs, set(io.pair_names(out)))
    check_pair_names(todo, features)
    report = MatchReport(skipped=len(pairs) - len(todo))
    read = functools.lru_cache(maxsize=cache_size)(functools.partial(io.read_features, features))
    with tqdm(todo, desc="match", unit="pair", disable=not progress) as bar, \
            io.ChunkedWriter(out, flush_every, {"matcher": matcher}) as writer:
        for name0, name1 in bar:
            (kp0, d0, size0), (kp1, d1, size1) = read(name0), read(name1)
            found = matcher_obj.match(kp0, d0, kp1, d1, size0, size1)
            scores = match_scores([m.distance for m in found], learned)
            io.write_matches(writer.file(), name0, name1, found, len(kp0), scores)
            writer.step()
            report.matched += 1
            report.num_matches += len(found)
    report.seconds = time.perf_counter() - start
    return report
