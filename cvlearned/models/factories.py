"""Register the learned models whose weights ship with cvlearned.

A preset is registered only when its weight file is listed in ``weights/manifest.json``,
so a checkout without shipped weights keeps working (and keeps passing the contract suite)
without it. Importing this module does not import torch.
"""

from __future__ import annotations

from typing import Any

from cvlearned.registry import register
from cvlearned.weight_files import load_manifest

__all__ = ["WEIGHT_FILES", "HardNet_create", "SuperPoint_create", "UCN_create", "XFeat_create", "registered_presets"]

#: model name -> shipped weight file name (in ``weights/``). Feature presets are registered
#: when their file ships; ``orinet`` is not a Feature2D (HardNet loads it for
#: ``orientation="learned"``).
WEIGHT_FILES: dict[str, str] = {
    "hardnet": "hardnet-v1.pt",
    "hardnet-lite": "hardnet-lite-v1.pt",
    "hardnet-lite-sfm": "hardnet-lite-sfm-v1.pt",
    "superpoint": "superpoint-v1.pt",
    "superpoint-lite": "superpoint-lite-v7.pt",
    "superpoint-lite-sfm": "superpoint-lite-sfm-v1.pt",
    "orinet": "orinet-v1.pt",
    "ucn": "ucn-v2.pt",
    "ucn-lite": "ucn-lite-v1.pt",
    "ucn-lite-nost": "ucn-lite-nost-v1.pt",
    "ucn-lite-affine": "ucn-lite-affine-v1.pt",
    "xfeat-lite": "xfeat-lite-v1.pt",
}

_SUMMARIES = {
    "hardnet": "SIFT keypoints + HardNet (L2-Net) 128-d learned patch descriptor",
    "hardnet-lite": "SIFT keypoints + half-width HardNet 128-d learned patch descriptor",
    "hardnet-lite-sfm": "SIFT keypoints + half-width HardNet 128-d descriptor, also trained on patches of real "
                        "SfM tracks",
    "superpoint": "SuperPoint learned detector + 256-d descriptor (v1 architecture)",
    "superpoint-lite": "SuperPoint learned detector + 256-d descriptor, slim encoder for CPU",
    "superpoint-lite-sfm": "superpoint-lite fine-tuned with descriptor supervision from real SfM pairs",
    "ucn": "Universal Correspondence Network (2x wider encoder than ucn-lite): dense 128-d descriptor map with a "
           "convolutional spatial transformer",
    "ucn-lite": "Universal Correspondence Network: dense 128-d descriptor map with a convolutional spatial transformer",
    "ucn-lite-nost": "Universal Correspondence Network without the spatial transformer (ablation)",
    "ucn-lite-affine": "Universal Correspondence Network, per-location affine spatial transformer",
    "xfeat-lite": "XFeat-family light detector + 64-d descriptor (0.66 M parameters), exports to cv2.XFeat",
}


def HardNet_create(**params: Any):  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.hardnet.HardNet` (imports torch on first use)."""
    from cvlearned.models.hardnet import HardNet

    return HardNet(**params)


def SuperPoint_create(**params: Any):  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.superpoint.SuperPoint` (imports torch on first use)."""
    from cvlearned.models.superpoint import SuperPoint

    return SuperPoint(**params)


def UCN_create(**params: Any):  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.ucn.UCN` (imports torch on first use)."""
    from cvlearned.models.ucn import UCN

    return UCN(**params)


def XFeat_create(**params: Any):  # noqa: N802 (OpenCV naming)
    """Create a :class:`cvlearned.models.xfeat.XFeat` (imports torch on first use)."""
    from cvlearned.models.xfeat import XFeat

    return XFeat(**params)


_FAMILIES = {"hardnet": HardNet_create, "superpoint": SuperPoint_create, "ucn": UCN_create, "xfeat": XFeat_create}


def _factory(preset: str):
    family = _FAMILIES[preset.split("-")[0]]

    def create(**params: Any):
        return family(**{"preset": preset, **params})

    create.__name__ = f"create_{preset.replace('-', '_')}"
    return create


def registered_presets() -> list[str]:
    """Feature presets whose weight file is in the manifest."""
    shipped = load_manifest()
    return [
        preset for preset, file in WEIGHT_FILES.items() if file in shipped and preset.split("-")[0] in _FAMILIES
    ]


for _preset in registered_presets():
    register(_preset, _factory(_preset), kind="learned", summary=_SUMMARIES[_preset])
