"""Training crops of real SfM pairs with sparse ground truth, for the dense models.

:func:`~cvlearned.training.common.sfm_pairs.load_sfm_pairs` gives image pairs of a reconstruction
with their shared observations ``xy0 <-> xy1``. :class:`SfmCropSource` turns them into the
:class:`~cvlearned.training.common.correspondence_pairs.CorrespondencePair` the dense trainers already use:

1. both images are read once, gray, resized so their longest side is ``image_side`` (the
   observations are scaled with them: ``x' = (x + 0.5) s - 0.5``);
2. a draw picks a pair, then one of its correspondences as the anchor, and cuts a (w, h)
   window out of each image that contains the anchor at a random place (so the crops
   overlap around it, with the real viewpoint change between them);
3. ``gt`` (h, w, 2) is NaN except at the pixel nearest to each observation of image 0 that
   falls inside both crops, where it holds that observation's image-1 position (the rounding
   moves a positive by at most 0.5 px in image 0; no photometric change is added: the real
   one is in the photos).

Trainers sample their correspondences from ``gt`` exactly as from the dense ground truth of
homography and rendered pairs (:func:`~cvlearned.training.ucn.ucn_pairs.sample_correspondences`,
with replacement when a crop has fewer observations than asked for).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from cvlearned.training.common.correspondence_pairs import CorrespondencePair
from cvlearned.training.common.images import resize_photo
from cvlearned.training.common.sfm_pairs import SfmPair, SfmPairsConfig, load_sfm_pairs

__all__ = ["SfmCropSource", "crop_pair", "sfm_crop_source"]

PathLike = str | os.PathLike


def _window(
    rng: np.random.Generator, anchor: np.ndarray, size: tuple[int, int], image_shape: tuple[int, int]
) -> np.ndarray:
    """(x0, y0) top-left of a ``size`` = (w, h) window inside ``image_shape`` (h, w) holding ``anchor``
    (as far as the image allows), placed at random."""
    (w, h), (H, W) = size, image_shape
    lo = np.floor(anchor - np.array([w - 1, h - 1]))
    hi = np.floor(anchor)
    start = rng.uniform(lo, hi + 1).astype(np.int64)
    return np.clip(start, 0, np.array([W - w, H - h]))


def crop_pair(rng: np.random.Generator, image0: np.ndarray, image1: np.ndarray, xy0: np.ndarray, xy1: np.ndarray,
              size: tuple[int, int]) -> CorrespondencePair | None:
    """One (w, h) = ``size`` crop of each gray image around a random correspondence of
    ``xy0 <-> xy1`` (N, 2), with sparse ``gt`` (see the module docstring); None when no
    correspondence falls inside both crops or an image is smaller than ``size``."""
    w, h = size
    if min(image0.shape[0], image1.shape[0]) < h or min(image0.shape[1], image1.shape[1]) < w or len(xy0) == 0:
        return None
    k = int(rng.integers(len(xy0)))
    o0 = _window(rng, xy0[k], size, image0.shape[:2])
    o1 = _window(rng, xy1[k], size, image1.shape[:2])
    p0, p1 = xy0 - o0, xy1 - o1
    pix = np.rint(p0).astype(np.int64)
    inside = ((pix >= 0) & (pix < [w, h])).all(axis=1) & ((p1 >= 0) & (p1 <= [w - 1, h - 1])).all(axis=1)
    if not inside.any():
        return None
    gt = np.full((h, w, 2), np.nan, np.float32)
    gt[pix[inside, 1], pix[inside, 0]] = p1[inside]
    crop0 = image0[o0[1]:o0[1] + h, o0[0]:o0[0] + w]
    crop1 = image1[o1[1]:o1[1] + h, o1[0]:o1[0] + w]
    return CorrespondencePair(np.ascontiguousarray(crop0), np.ascontiguousarray(crop1), gt)


class SfmCropSource:
    """Draws :class:`CorrespondencePair` crops of ``size`` = (w, h) from SfM pairs.

    ``pairs``: (SfmPair, image folder) as given by
    :func:`~cvlearned.training.common.sfm_pairs.load_sfm_pairs`. Each image is read once (gray,
    longest side ``image_side``; 0 = full size). Every draw depends only on the generator.
    """

    def __init__(self, pairs: Sequence[tuple[SfmPair, PathLike]], size: tuple[int, int], image_side: int = 640) -> None:
        if not pairs:
            raise ValueError("SfmCropSource needs at least one SfM pair")
        self.size = (int(size[0]), int(size[1]))
        self.images: dict[Path, tuple[np.ndarray, float]] = {}
        self.pairs: list[tuple[Path, Path, np.ndarray, np.ndarray]] = []
        for pair, folder in pairs:
            path0, path1 = Path(folder) / pair.name0, Path(folder) / pair.name1
            s0, s1 = self._load(path0, image_side), self._load(path1, image_side)
            self.pairs.append((path0, path1, (pair.xy0 + 0.5) * s0 - 0.5, (pair.xy1 + 0.5) * s1 - 0.5))

    def _load(self, path: Path, image_side: int) -> float:
        if path not in self.images:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise FileNotFoundError(f"cannot read {path} (an image of an SfM pair)")
            side = max(image.shape)
            scale = 1.0 if image_side == 0 or side <= image_side else image_side / side
            self.images[path] = (resize_photo(image, round(side * scale)) if scale < 1 else image, scale)
        return self.images[path][1]

    def __len__(self) -> int:
        return len(self.pairs)

    def draw(self, rng: np.random.Generator, attempts: int = 20) -> CorrespondencePair:
        """A crop pair with at least one correspondence (tries ``attempts`` random pairs)."""
        for _ in range(attempts):
            path0, path1, xy0, xy1 = self.pairs[int(rng.integers(len(self.pairs)))]
            crop = crop_pair(rng, self.images[path0][0], self.images[path1][0], xy0, xy1, self.size)
            if crop is not None:
                return crop
        raise ValueError(f"no crop of {self.size[0]}x{self.size[1]} with a correspondence in {attempts} draws "
                         "(images smaller than the crop?)")


def sfm_crop_source(cfg: SfmPairsConfig, root: PathLike | None, size: tuple[int, int]) -> SfmCropSource | None:
    """The :class:`SfmCropSource` of ``size`` = (w, h) crops of ``cfg``'s pairs (scenes under
    ``root``); None without scenes.

    Raises:
        ValueError: an image of a chosen pair is smaller than ``size`` at ``cfg.image_side`` (it
            could never give a crop: leave its scene out), or no scene gives a pair.
        FileNotFoundError: a scene or one of its images is missing.
    """
    if not cfg.scenes:
        return None
    pairs = load_sfm_pairs(cfg.scene_dirs(root), cfg.max_pairs_per_scene, cfg.min_covisible, seed=cfg.seed)
    source = SfmCropSource(pairs, size, cfg.image_side)
    w, h = source.size
    small = sorted({str(path.parent) for path, (image, _) in source.images.items()
                    if image.shape[0] < h or image.shape[1] < w})
    if small:
        raise ValueError(f"images in {small} are smaller than the {w}x{h} crops at sfm.image_side "
                         f"{cfg.image_side}: drop their scenes from sfm.scenes")
    return source
