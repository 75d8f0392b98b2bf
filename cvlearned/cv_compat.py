"""OpenCV 4.x / 5.x compatibility.

OpenCV 5.0 moved KAZE, AKAZE, BRISK and AGAST (factories and their enum constants) from
``cv2`` to ``cv2.xfeatures2d``; SIFT moved the other way in 4.4. Every lookup of such a
name in cvlearned goes through :func:`cv2_attr`, so the rest of the code never cares which
OpenCV it runs on. SURF is patented in the pip builds and is deliberately not offered.
"""

from __future__ import annotations

from typing import Any

import cv2

OPENCV_MAJOR: int = int(cv2.__version__.split(".")[0])


def _namespaces() -> list[Any]:
    spaces: list[Any] = [cv2]
    xf = getattr(cv2, "xfeatures2d", None)
    if xf is not None:
        spaces.append(xf)
    return spaces


def cv2_attr(name: str) -> Any:
    """Return ``cv2.<name>`` or ``cv2.xfeatures2d.<name>``, whichever exists.

    Raises:
        ImportError: neither namespace has it (e.g. opencv-python without contrib).
    """
    for space in _namespaces():
        if hasattr(space, name):
            return getattr(space, name)
    raise ImportError(
        f"OpenCV {cv2.__version__} has no '{name}' in cv2 or cv2.xfeatures2d; "
        "install opencv-contrib-python (not opencv-python)"
    )


def has_cv2_attr(name: str) -> bool:
    """True when :func:`cv2_attr` would find ``name``."""
    return any(hasattr(space, name) for space in _namespaces())
