"""ScanNet-1500 and MegaDepth-1500 relative-pose test sets (SuperGlue / LoFTR protocol).

Pair files (parsed by :func:`cvlearned.datasets.pairs_txt.parse_pair_tokens`):

- SuperGlue ``*_test_pairs_with_gt.txt``: ``name0 name1 rot0 rot1 K0(9) K1(9) T_0to1(16)``
  with ``X1 = T_0to1 @ X0``; ``rot`` = number of ``np.rot90`` turns applied on loading
  (EXIF orientation), K and pose are adjusted to the rotated images.
- glue-factory archives (``scannet1500.zip`` / ``megadepth1500.zip``): ``pairs_calibrated.txt``
  with ``name0 name1 K0(9) K1(9)`` followed by ``R(9) t(3)`` or ``T_0to1(16)``.

Images are resolved against ``root``, then ``root/images``. ``K`` in the files is for the
images as stored; ``resize=(w, h)`` rescales images and K (pixel-centre convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .pair_list import PairList, Size, limit_records
from .pairs_txt import read_pair_records

#: default pair files, tried in order when ``pairs_file`` is None
SCANNET_PAIRS_FILES: tuple[str, ...] = ("pairs_calibrated.txt", "scannet_test_pairs_with_gt.txt")
MEGADEPTH_PAIRS_FILES: tuple[str, ...] = (
    "pairs_calibrated.txt",
    "megadepth_test_pairs_with_gt.txt",
)
#: image size of the SuperGlue/LoFTR ScanNet protocol (pass as ``resize``)
SCANNET_PROTOCOL_SIZE: Size = (640, 480)


def _find_pairs_file(root: Path, candidates: Sequence[str], subdir: str) -> tuple[Path, Path]:
    """Return (dataset root, pairs file); also looks inside ``root/subdir`` (archive folder)."""
    for base in (root, root / subdir):
        for name in candidates:
            if (base / name).is_file():
                return base, base / name
    tried = ", ".join(str(b / n) for b in (root, root / subdir) for n in candidates)
    raise FileNotFoundError(f"no pairs file found; tried {tried}")


def _load(
    root: str | Path,
    pairs_file: str | Path | None,
    candidates: Sequence[str],
    name: str,
    max_pairs: int | None,
    resize: Size | None,
    max_side: int | None,
) -> PairList:
    limit_records([], max_pairs)
    root = Path(root)
    if pairs_file is None:
        root, path = _find_pairs_file(root, candidates, name)
    else:
        path = root / pairs_file
    records = read_pair_records(path, root, max_pairs=max_pairs, resize=resize, max_side=max_side)
    return PairList(records, name=name, root=root)


def load_scannet1500(
    root: str | Path,
    pairs_file: str | Path | None = None,
    max_pairs: int | None = None,
    resize: Size | None = None,
) -> PairList:
    """ScanNet-1500 pairs as PosePair.

    Args:
        root: dataset folder (or its parent holding ``scannet1500/``).
        pairs_file: relative to ``root``; default: first of :data:`SCANNET_PAIRS_FILES`.
        max_pairs: keep the first ``max_pairs`` pairs.
        resize: (w, h) for all images, e.g. :data:`SCANNET_PROTOCOL_SIZE`; K is rescaled.
    """
    return _load(root, pairs_file, SCANNET_PAIRS_FILES, "scannet1500", max_pairs, resize, None)


def load_megadepth1500(
    root: str | Path,
    pairs_file: str | Path | None = None,
    max_pairs: int | None = None,
    resize: Size | None = None,
    max_side: int | None = None,
) -> PairList:
    """MegaDepth-1500 pairs as PosePair.

    Args:
        root: dataset folder (or its parent holding ``megadepth1500/``).
        pairs_file: relative to ``root``; default: first of :data:`MEGADEPTH_PAIRS_FILES`.
        max_pairs: keep the first ``max_pairs`` pairs.
        resize: (w, h) for all images; K is rescaled.
        max_side: alternatively limit the longest side (protocols use 1024 or 1600).
    """
    return _load(
        root, pairs_file, MEGADEPTH_PAIRS_FILES, "megadepth1500", max_pairs, resize, max_side
    )
