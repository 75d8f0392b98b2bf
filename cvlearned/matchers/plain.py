"""Plain descriptor matchers behind the matcher interface: mutual nearest neighbour and
Lowe's ratio test (both :func:`cvlearned.evaluation.matching.match_descriptors`)."""

from __future__ import annotations

import cv2
import numpy as np

from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.matchers.base import DescriptorMatcher, PairInfo

__all__ = ["NearestNeighbourMatcher"]


class NearestNeighbourMatcher(DescriptorMatcher):
    """Brute-force matching (L2 for float descriptors, Hamming for packed uint8 ones);
    ``DMatch.distance`` is the descriptor distance. Keypoints are accepted and ignored.

    Args:
        mutual: keep only mutual nearest neighbours.
        ratio: Lowe's ratio threshold in (0, 1], or None for none.
        norm: OpenCV norm, e.g. the feature's ``defaultNorm()`` (``cv2.NORM_HAMMING2`` for
            ORB with WTA_K 3 or 4); None: by dtype, Hamming for uint8 and L2 otherwise.
    """

    def __init__(self, mutual: bool = True, ratio: float | None = None, name: str = "",
                 norm: int | None = None) -> None:
        super().__init__()
        self.options = MatchingOptions(mutual=mutual, ratio=ratio)
        self.name = name
        self.norm = norm

    def _match(self, desc0: np.ndarray, desc1: np.ndarray, pair: PairInfo | None) -> tuple[np.ndarray, np.ndarray]:
        norm = self.norm
        if norm is None:
            norm = cv2.NORM_HAMMING if desc0.dtype == np.uint8 else cv2.NORM_L2
        return self.options.match(desc0, desc1, norm=norm)

    def __repr__(self) -> str:
        return f"NearestNeighbourMatcher(mutual={self.options.mutual}, ratio={self.options.ratio})"
