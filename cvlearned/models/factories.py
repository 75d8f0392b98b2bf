"""OpenCV-style factories of the learned features, and their registration from the manifest.

Every feature record of ``weights/manifest.json`` (family ``hardnet``, ``superpoint``,
``ucn`` or ``xfeat``) registers its model name in ``cvlearned.create`` with the record's
summary, so a checkout without shipped weights keeps working (and keeps passing the
contract suite) without them. The model modules never import this one. Importing it does
not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cvlearned.feature2d import Feature2D
from cvlearned.registry import register
from cvlearned.weight_files import load_manifest

__all__ = ["HardNet_create", "SuperPoint_create", "UCN_create", "XFeat_create", "registered_presets"]


def HardNet_create(**params: Any) -> Feature2D:  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.hardnet.HardNet` (imports torch on first use)."""
    from cvlearned.models.hardnet import HardNet

    return HardNet(**params)


def SuperPoint_create(**params: Any) -> Feature2D:  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.superpoint.SuperPoint` (imports torch on first use)."""
    from cvlearned.models.superpoint import SuperPoint

    return SuperPoint(**params)


def UCN_create(**params: Any) -> Feature2D:  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.ucn.UCN` (imports torch on first use)."""
    from cvlearned.models.ucn import UCN

    return UCN(**params)


def XFeat_create(**params: Any) -> Feature2D:  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.xfeat.XFeat` (imports torch on first use)."""
    from cvlearned.models.xfeat import XFeat

    return XFeat(**params)


#: manifest family -> factory of its Feature2D class
_FAMILIES: dict[str, Callable[..., Feature2D]] = {
    "hardnet": HardNet_create, "superpoint": SuperPoint_create, "ucn": UCN_create, "xfeat": XFeat_create,
}


def _factory(preset: str, family: Callable[..., Feature2D]) -> Callable[..., Feature2D]:
    def create(**params: Any) -> Feature2D:
        return family(**{"preset": preset, **params})

    create.__name__ = f"create_{preset.replace('-', '_')}"
    return create


def registered_presets() -> list[str]:
    """Feature presets whose weight file is in the manifest."""
    return [entry.model for entry in load_manifest().values() if entry.family in _FAMILIES]


for _entry in load_manifest().values():
    if _entry.family in _FAMILIES:
        register(_entry.model, _factory(_entry.model, _FAMILIES[_entry.family]), kind="learned",
                 summary=_entry.summary)
