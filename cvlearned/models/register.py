"""Register the learned models whose weights ship with cvlearned.

A preset is registered only when its weight file is listed in ``weights/manifest.json``,
so a checkout without shipped weights keeps working (and keeps passing the contract suite)
without it. Importing this module does not import torch.
"""

from __future__ import annotations

from typing import Any

from cvlearned.registry import register
from cvlearned.weight_files import load_manifest

__all__ = ["WEIGHT_FILES", "HardNet_create", "registered_presets"]

#: preset name -> shipped weight file name (in ``weights/``)
WEIGHT_FILES: dict[str, str] = {"hardnet": "hardnet-v1.pt", "hardnet-lite": "hardnet-lite-v1.pt"}

_SUMMARIES = {
    "hardnet": "SIFT keypoints + HardNet (L2-Net) 128-d learned patch descriptor",
    "hardnet-lite": "SIFT keypoints + half-width HardNet 128-d learned patch descriptor",
}


def HardNet_create(**params: Any):  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.hardnet.HardNet` (imports torch on first use)."""
    from cvlearned.models.hardnet import HardNet

    return HardNet(**params)


def _factory(preset: str):
    def create(**params: Any):
        return HardNet_create(**{"preset": preset, **params})

    create.__name__ = f"create_{preset.replace('-', '_')}"
    return create


def registered_presets() -> list[str]:
    """Presets whose weight file is in the manifest."""
    shipped = load_manifest()
    return [preset for preset, file in WEIGHT_FILES.items() if file in shipped]


for _preset in registered_presets():
    register(_preset, _factory(_preset), kind="learned", summary=_SUMMARIES[_preset])
