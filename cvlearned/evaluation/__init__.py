"""Evaluation harness: descriptor matching, ground-truth warps and metrics.

Submodules: ``matching`` (``match_descriptors``, ``MatchingOptions``), ``warps``
(``HomographyWarp``, ``DepthWarp``) and ``metrics`` (pose, PCK, homography, repeatability,
timing). Import metrics from ``cvlearned.evaluation.metrics``.
"""

from cvlearned.evaluation.matching import MatchingOptions, match_descriptors
from cvlearned.evaluation.warps import DepthWarp, HomographyWarp, Warp, as_points

__all__ = ["DepthWarp", "HomographyWarp", "MatchingOptions", "Warp", "as_points", "match_descriptors"]
