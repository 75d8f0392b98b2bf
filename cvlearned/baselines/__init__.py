"""Classical OpenCV features registered as baselines: sift, daisy, kaze, akaze, orb, brisk."""

from __future__ import annotations

from cvlearned.baselines.akaze import AKAZE, AKAZEConfig
from cvlearned.baselines.brisk import BRISK, BRISKConfig
from cvlearned.baselines.daisy import DAISY, DAISYConfig
from cvlearned.baselines.kaze import KAZE, KAZEConfig
from cvlearned.baselines.orb import ORB, ORBConfig
from cvlearned.baselines.sift import SIFT, SIFTConfig
from cvlearned.registry import register

register("sift", SIFT, kind="classical", summary="OpenCV SIFT: DoG keypoints, 128-d float")
register("daisy", DAISY, kind="classical", summary="DAISY descriptors on SIFT keypoints, 200-d float")
register("kaze", KAZE, kind="classical", summary="OpenCV KAZE: nonlinear scale space, 64-d float")
register("akaze", AKAZE, kind="classical", summary="OpenCV AKAZE: binary MLDB, 61 bytes")
register("orb", ORB, kind="classical", summary="OpenCV ORB: FAST + rBRIEF, 32 bytes")
register("brisk", BRISK, kind="classical", summary="OpenCV BRISK: AGAST + 64-byte binary")

__all__ = [
    "AKAZE", "AKAZEConfig", "BRISK", "BRISKConfig", "DAISY", "DAISYConfig",
    "KAZE", "KAZEConfig", "ORB", "ORBConfig", "SIFT", "SIFTConfig",
]
