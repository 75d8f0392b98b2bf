"""Detector objects given to the describe-only features (HardNet, UCN): how they are named.

``detector=`` takes any object with ``detect(image, mask)`` (an OpenCV or cvlearned
Feature2D, or a duck-typed one); its configuration records the detector by this name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["detector_name"]


def detector_name(detector: Any) -> str:
    """``detector.getDefaultName()`` when it has one (OpenCV, cvlearned), else its class name."""
    get = getattr(detector, "getDefaultName", None)
    if callable(get):
        try:
            return str(get())
        except Exception:  # noqa: BLE001 (a duck-typed detector may not implement it)
            pass
    return type(detector).__name__
