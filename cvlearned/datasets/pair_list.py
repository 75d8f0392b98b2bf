"""Lazily loading pair sequences: small records in memory, images read on access.

A loader builds a :class:`PairList` of records (paths + ground truth). Indexing the list
reads both images with ``cv2.imread``, applies the record's optional resize / 90° rotation
and returns a :class:`~cvlearned.datasets.types.HomographyPair` or
:class:`~cvlearned.datasets.types.PosePair` whose ground truth matches the returned images.

Pixel-centre convention: resizing an image from (W, H) to (W', H') maps pixel
``x -> sx * (x + 0.5) - 0.5`` with ``sx = W' / W`` (same for y), see :func:`scale_matrix`.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union, cast, overload

import cv2
import numpy as np

from .types import HomographyPair, PosePair

Size = tuple[int, int]  # (width, height)


# --------------------------------------------------------------------------- images
def read_image(path: str | Path) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 BGR; FileNotFoundError naming the path if absent."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"could not decode image file: {path}")
    return image


def scale_matrix(src_size: Size, dst_size: Size) -> np.ndarray:
    """(3, 3) pixel map from an image of size ``src_size`` (w, h) to it resized to ``dst_size``.

    Pixel-centre convention: ``x' = sx * (x + 0.5) - 0.5`` with ``sx = w' / w``.
    """
    sx = dst_size[0] / src_size[0]
    sy = dst_size[1] / src_size[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def fit_max_side(size: Size, max_side: int) -> Size:
    """Size (w, h) scaled so that its longest side is at most ``max_side`` (never upscaled)."""
    w, h = size
    s = max_side / max(w, h)
    if s >= 1.0:
        return w, h
    return max(1, round(w * s)), max(1, round(h * s))


def rot90_matrices(size: Size, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Geometry of ``np.rot90(image, k)`` (k quarter turns counter-clockwise on screen).

    Returns ``(A, Q)``: A (3, 3) maps pixels of the original image (size (w, h)) to the
    rotated one; Q (3, 3) rotates camera coordinates (``X' = Q @ X``) so that
    ``K' = A @ K @ Q.T`` is again an intrinsic matrix for the rotated image.
    """
    A = np.eye(3)
    Q = np.eye(3)
    w, h = size
    quarter_Q = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    for _ in range(k % 4):
        # one np.rot90 step: new (x', y') = (y, w - 1 - x); new size (h, w)
        step = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w - 1.0], [0.0, 0.0, 1.0]])
        A = step @ A
        Q = quarter_Q @ Q
        w, h = h, w
    return A, Q


def rotate_distortion(D: np.ndarray, k: int) -> np.ndarray:
    """OpenCV (k1, k2, p1, p2, k3) coefficients after ``k`` rot90 steps (tangential terms turn)."""
    D = np.array(D, dtype=np.float64)
    for _ in range(k % 4):
        D[2], D[3] = -D[3], D[2]
    return D


def load_view(
    path: Path, resize: Size | None = None, max_side: int | None = None, rot: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read an image, resize it (to ``resize`` or to fit ``max_side``), then ``np.rot90`` it.

    Returns ``(image (H, W, 3) uint8, A (3, 3) pixel map original -> returned image,
    Q (3, 3) camera rotation of the in-plane turn)``.
    """
    image = read_image(path)
    h, w = image.shape[:2]
    A = np.eye(3)
    target = cast(Size, tuple(resize)) if resize is not None else None  # resize may be a list
    if target is None and max_side is not None:
        target = fit_max_side((w, h), max_side)
    if target is not None and target != (w, h):
        shrink = target[0] * target[1] < w * h
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        image = cv2.resize(image, target, interpolation=interp)
        A = scale_matrix((w, h), target)
    Q = np.eye(3)
    if rot % 4:
        size = (image.shape[1], image.shape[0])
        R_A, Q = rot90_matrices(size, rot)
        image = np.ascontiguousarray(np.rot90(image, rot % 4))
        A = R_A @ A
    return image, A, Q


# --------------------------------------------------------------------------- records
def _check_view_options(resize: Size | None, max_side: int | None) -> None:
    if resize is not None and max_side is not None:
        raise ValueError("give either resize or max_side, not both")
    if resize is not None and (len(resize) != 2 or min(resize) < 1):
        raise ValueError(f"resize must be (width, height) with positive ints, got {resize!r}")
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be a positive int, got {max_side!r}")


@dataclass(frozen=True, eq=False)
class HomographyRecord:
    """Paths + ground truth of a homography pair; ``load()`` gives a HomographyPair."""

    name: str
    path0: Path
    path1: Path
    H_0to1: np.ndarray  # (3, 3) for the images as stored on disk
    split: str = "viewpoint"
    resize: Size | None = None
    max_side: int | None = None

    def __post_init__(self) -> None:
        _check_view_options(self.resize, self.max_side)

    @property
    def transformed(self) -> bool:
        """True when loading changes the images (so the stored H differs from the output)."""
        return self.resize is not None or self.max_side is not None

    def load(self) -> HomographyPair:
        image0, A0, _ = load_view(self.path0, self.resize, self.max_side)
        image1, A1, _ = load_view(self.path1, self.resize, self.max_side)
        H = A1 @ np.asarray(self.H_0to1, dtype=np.float64) @ np.linalg.inv(A0)
        if abs(H[2, 2]) > 1e-12:
            H = H / H[2, 2]
        return HomographyPair(self.name, image0, image1, H, split=self.split)


@dataclass(frozen=True, eq=False)
class PoseRecord:
    """Paths + calibration + relative pose (``X1 = R @ X0 + t``); ``load()`` gives a PosePair.

    ``rot0``/``rot1`` apply ``np.rot90(image, rot)`` after the optional resize (the
    SuperGlue EXIF-rotation convention); K, R, t and D are adjusted to match.
    """

    name: str
    path0: Path
    path1: Path
    K0: np.ndarray  # (3, 3)
    K1: np.ndarray  # (3, 3)
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,)
    D0: np.ndarray = field(default_factory=lambda: np.zeros(5))
    D1: np.ndarray = field(default_factory=lambda: np.zeros(5))
    resize: Size | None = None
    max_side: int | None = None
    rot0: int = 0
    rot1: int = 0

    def __post_init__(self) -> None:
        _check_view_options(self.resize, self.max_side)

    @property
    def transformed(self) -> bool:
        """True when loading changes the images (so the stored K/R/t differ from the output)."""
        return (
            self.resize is not None
            or self.max_side is not None
            or self.rot0 % 4 != 0
            or self.rot1 % 4 != 0
        )

    def load(self) -> PosePair:
        image0, A0, Q0 = load_view(self.path0, self.resize, self.max_side, self.rot0)
        image1, A1, Q1 = load_view(self.path1, self.resize, self.max_side, self.rot1)
        K0 = A0 @ np.asarray(self.K0, dtype=np.float64) @ Q0.T
        K1 = A1 @ np.asarray(self.K1, dtype=np.float64) @ Q1.T
        R = Q1 @ np.asarray(self.R, dtype=np.float64) @ Q0.T
        t = Q1 @ np.asarray(self.t, dtype=np.float64).reshape(3)
        return PosePair(
            self.name,
            image0,
            image1,
            K0,
            K1,
            R,
            t,
            D0=rotate_distortion(self.D0, self.rot0),
            D1=rotate_distortion(self.D1, self.rot1),
        )


PairRecord = Union[HomographyRecord, PoseRecord]


# --------------------------------------------------------------------------- sequence
def limit_records(records: Sequence[PairRecord], max_pairs: int | None) -> Sequence[PairRecord]:
    """First ``max_pairs`` records (all when None); ValueError for negative values."""
    if max_pairs is None:
        return records
    max_pairs = operator.index(max_pairs)
    if max_pairs < 0:
        raise ValueError(f"max_pairs must be >= 0 or None, got {max_pairs}")
    return records[:max_pairs]


class PairList(Sequence):
    """Read-only sequence of pairs that loads images on ``__getitem__``.

    ``pairs[i]`` -> HomographyPair | PosePair (images read now); ``pairs[a:b]`` -> PairList
    (nothing read). ``name`` names the dataset, ``root`` is its folder (or None),
    ``records`` exposes the light-weight records.
    """

    def __init__(
        self, records: Iterable[PairRecord], name: str = "pairs", root: str | Path | None = None
    ) -> None:
        self._records: tuple[PairRecord, ...] = tuple(records)
        self.name = name
        self.root = Path(root) if root is not None else None

    @property
    def records(self) -> tuple[PairRecord, ...]:
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> HomographyPair | PosePair: ...

    @overload
    def __getitem__(self, index: slice) -> PairList: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return PairList(self._records[index], self.name, self.root)
        return self._records[operator.index(index)].load()

    def __repr__(self) -> str:
        return f"PairList(name={self.name!r}, num_pairs={len(self)}, root={self.root})"
