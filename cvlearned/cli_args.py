"""Argument types and help formatting shared by every command line (``cvlearned`` and
``examples/*.py``), so one option means one syntax everywhere.

Each ``type=`` callable turns an option's text into a value or raises
``argparse.ArgumentTypeError`` with a one-line message: argparse then reports
``PROG: error: argument --K: <message>`` (exit status 2) before any work starts.

- ``--K``: :func:`camera_matrix`, ``fx,fy,cx,cy`` or 9 row-major values.
- ``--dist``: :func:`distortion`, OpenCV's ``k1,k2,p1,p2[,k3]``.
- ``--feature`` / ``--features``: :func:`feature_name`, :func:`feature_list`.
- ``--matcher``: :func:`matcher_spec` (one), :func:`matcher_list` (several): ``NAME`` or
  ``lightglue:PATH`` (:mod:`cvlearned.matchers.spec`).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from cvlearned.matchers.spec import MatcherChoice, parse_matcher, parse_matcher_list
from cvlearned.registry import feature_spec

T = TypeVar("T")

__all__ = [
    "HelpFormatter",
    "assumed_intrinsics_note",
    "camera_matrix",
    "dataset_spec",
    "default_camera_matrix",
    "distortion",
    "feature_list",
    "feature_name",
    "image_size",
    "labelled_feature",
    "matcher_list",
    "matcher_spec",
    "matcher_text",
    "number_list",
    "plain_text",
    "positive_int",
    "show_progress",
    "trainer_parser",
]


def _argument_type(func: Callable[[str], T]) -> Callable[[str], T]:
    """Make ``func`` an argparse type: its ValueError / OSError become ArgumentTypeError
    (argparse would otherwise replace the message by ``invalid func value``)."""

    @functools.wraps(func)
    def wrapper(text: str) -> T:
        try:
            return func(text)
        except (ValueError, OSError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return wrapper


def number_list(text: str) -> list[float]:
    """Numbers separated by commas and/or whitespace → floats; ValueError names a bad token."""
    values = []
    for token in filter(None, re.split(r"[\s,;]+", text.strip())):
        try:
            values.append(float(token))
        except ValueError:
            raise ValueError(f"{token!r} is not a number in {text!r}") from None
    if not np.all(np.isfinite(values)):
        raise ValueError(f"values must be finite, got {text!r}")
    return values


@_argument_type
def camera_matrix(text: str) -> np.ndarray:
    """``fx,fy,cx,cy`` or 9 row-major values → (3, 3) float64 intrinsics (OpenCV pixel
    centres); focal lengths must be positive and the last row ``0,0,1``."""
    v = number_list(text)
    if len(v) == 4:
        fx, fy, cx, cy = v
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    elif len(v) == 9:
        K = np.array(v).reshape(3, 3)
    else:
        raise ValueError(f"expected 4 values fx,fy,cx,cy or 9 (row-major 3x3), got {len(v)} in {text!r}")
    if not (K[0, 0] > 0 and K[1, 1] > 0 and np.array_equal(K[2], [0.0, 0.0, 1.0])):
        raise ValueError(f"K needs positive focal lengths and last row 0,0,1, got {text!r}")
    return K


@_argument_type
def distortion(text: str) -> np.ndarray:
    """``k1,k2,p1,p2[,k3]`` → (4,) or (5,) float64 OpenCV distortion coefficients."""
    v = number_list(text)
    if len(v) not in (4, 5):
        raise ValueError(f"expected 4 or 5 values k1,k2,p1,p2[,k3], got {len(v)} in {text!r}")
    return np.array(v)


@_argument_type
def feature_name(text: str) -> str:
    """A registered feature name (any case) → its registry name; unknown names get
    did-you-mean suggestions."""
    return feature_spec(text.strip()).name


@_argument_type
def feature_list(text: str) -> list[str]:
    """``name,name,...`` → registry names, in order; rejects empty items and repeats."""
    names = [item.strip() for item in text.split(",")]
    if not all(names):
        raise ValueError(f"empty feature name in {text!r} (stray comma?)")
    canonical = [feature_spec(n).name for n in names]
    repeated = sorted({n for n in canonical if canonical.count(n) > 1})
    if repeated:
        raise ValueError(f"feature(s) listed twice: {', '.join(repeated)}")
    return canonical


@_argument_type
def matcher_spec(text: str) -> MatcherChoice:
    """``NAME`` (a registered matcher, did-you-mean for unknown ones) or ``lightglue:PATH``
    (an existing weight file) → :class:`~cvlearned.matchers.spec.MatcherChoice`."""
    return parse_matcher(text)


@_argument_type
def matcher_text(text: str) -> str:
    """:func:`matcher_spec`, checked but kept as text (for tools that pass it on to workers)."""
    parse_matcher(text)
    return text.strip()


@_argument_type
def matcher_list(text: str) -> list[MatcherChoice]:
    """``SPEC,SPEC,...`` of :func:`matcher_spec` values, in order; rejects empty items and repeats."""
    return parse_matcher_list(text)


@_argument_type
def labelled_feature(text: str) -> tuple[str, str, dict[str, Any]]:
    """``LABEL=NAME:key=value,...`` → (label, registry name, params), NAME checked."""
    from cvlearned.evaluation.feature_options import parse_labelled_feature

    label, name, params = parse_labelled_feature(text)
    return label, feature_spec(name).name, params


@_argument_type
def dataset_spec(text: str) -> str:
    """A benchmark dataset spec (``cvlearned.evaluation.datasets_spec``), checked without
    loading: known name, known options, existing PATH."""
    from cvlearned.evaluation.datasets_spec import check_dataset_spec

    check_dataset_spec(text)
    return text.strip()


@_argument_type
def image_size(text: str) -> tuple[int, int]:
    """``WxH`` (e.g. ``640x480``) → (width, height), both positive."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None or 0 in (int(match[1]), int(match[2])):
        raise ValueError(f"expected WxH with positive integers, e.g. 640x480, got {text!r}")
    return int(match[1]), int(match[2])


@_argument_type
def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise ValueError(f"expected a positive integer, got {value}")
    return value


def default_camera_matrix(width: int, height: int) -> np.ndarray:
    """(3, 3) intrinsics assumed without ``--K``: focal 1.2 x the longest side (a ~45 degree
    field of view), principal point at the image centre."""
    f = 1.2 * max(width, height)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def assumed_intrinsics_note(K: np.ndarray) -> str:
    """The line a tool prints when it assumes ``K`` because ``--K`` is absent."""
    return (f"no --K given: assuming fx=fy={K[0, 0]:.0f}, cx={K[0, 2]:.1f}, cy={K[1, 2]:.1f} "
            "(focal 1.2 x longest side, centred principal point)")


def show_progress(no_progress: bool) -> bool:
    """Whether to draw tqdm bars: not with ``--no-progress``, and (as tqdm's
    ``disable=None``) only when stderr is a terminal."""
    return not no_progress and sys.stderr.isatty()


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and appends ``(default: X)`` to every option
    that has a default (not None / False / empty) its help does not already mention."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text or not _worth_showing(action.default):
            return text
        return f"{text} (default: %(default)s)"


def _worth_showing(default: Any) -> bool:
    if default is None or default is False or default is argparse.SUPPRESS:
        return False
    return not (isinstance(default, (list, tuple)) and not default)


_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")


def plain_text(doc: str) -> str:
    """A reST docstring as terminal text: ``:mod:`a.b``` → ``a.b`` (``~a.b`` → ``b``),
    double back-quotes dropped."""
    text = _ROLE.sub(lambda m: m[2].rsplit(".", 1)[-1] if m[1] else m[2], doc)
    return text.replace("``", "").strip()


def trainer_parser(model: str, doc: str) -> argparse.ArgumentParser:
    """The parser of ``cvlearned train MODEL``: that usage line, ``doc`` as plain text."""
    return argparse.ArgumentParser(prog=f"cvlearned train {model}", description=plain_text(doc),
                                   formatter_class=HelpFormatter)
