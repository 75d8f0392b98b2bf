"""HPatches sequences loader (Balntas et al., CVPR 2017).

Layout: ``root/{i_*,v_*}/{1..6}.ppm`` plus ``H_1_2 .. H_1_6`` (3x3 text matrices mapping
image 1 pixels to image k pixels). ``i_*`` folders vary illumination, ``v_*`` viewpoint.
Each sequence gives the pairs (1, k), k = 2..6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .pair_list import HomographyRecord, PairList, limit_records

SPLITS: dict[str, tuple[str, ...]] = {
    "all": ("i_", "v_"),
    "viewpoint": ("v_",),
    "illumination": ("i_",),
}
RELEASE_DIR = "hpatches-sequences-release"
_IMAGE_EXTS = (".ppm", ".png", ".jpg")


def _image_path(seq: Path, index: int) -> Path:
    for ext in _IMAGE_EXTS:
        path = seq / f"{index}{ext}"
        if path.exists():
            return path
    return seq / f"{index}.ppm"  # missing: reported when the pair is loaded


def read_homography(path: Path) -> np.ndarray:
    """(3, 3) float64 homography from a whitespace-separated text file."""
    try:
        H = np.loadtxt(path, dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{path}: not a 3x3 numeric matrix ({e})") from None
    if H.shape != (3, 3):
        raise ValueError(f"{path}: expected a 3x3 matrix, got shape {H.shape}")
    return H


def _find_root(root: Path) -> Path:
    """Accept the sequences folder itself or a folder containing the release folder."""
    if not root.is_dir():
        raise FileNotFoundError(f"HPatches folder not found: {root}")
    has_seq = any(p.is_dir() and p.name[:2] in ("i_", "v_") for p in root.iterdir())
    if not has_seq and (root / RELEASE_DIR).is_dir():
        return root / RELEASE_DIR
    return root


def load_hpatches(
    root: str | Path,
    split: str = "all",
    max_pairs: int | None = None,
    max_side: int | None = None,
) -> PairList:
    """HPatches pairs (1, k) as a lazily loading list of HomographyPair.

    Args:
        root: folder with the ``i_*``/``v_*`` sequences (or its parent holding
            ``hpatches-sequences-release``).
        split: "all" | "viewpoint" | "illumination"; each pair's ``split`` is set.
        max_pairs: keep the first ``max_pairs`` pairs (sequences sorted by name).
        max_side: downscale images so their longest side is <= max_side; the homography
            becomes ``S1 @ H @ inv(S0)`` (pixel-centre scaling ``x' = s (x + 0.5) - 0.5``).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown HPatches split {split!r}; valid: {sorted(SPLITS)}")
    limit_records([], max_pairs)
    root = _find_root(Path(root))
    prefixes = SPLITS[split]
    seqs = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(prefixes))
    if not seqs:
        raise FileNotFoundError(f"no HPatches sequences ({'/'.join(prefixes)}*) under {root}")
    records: list[HomographyRecord] = []
    for seq in seqs:
        seq_split = "illumination" if seq.name.startswith("i_") else "viewpoint"
        if max_pairs is not None and len(records) >= max_pairs:
            break
        ks = sorted(int(p.name[4:]) for p in seq.glob("H_1_*") if p.name[4:].isdigit())
        if not ks:
            raise FileNotFoundError(f"no H_1_<k> homography files in {seq}")
        for k in ks:
            if max_pairs is not None and len(records) >= max_pairs:
                break
            h_file = seq / f"H_1_{k}"
            records.append(
                HomographyRecord(
                    name=f"{seq.name}/1-{k}",
                    path0=_image_path(seq, 1),
                    path1=_image_path(seq, k),
                    H_0to1=read_homography(h_file),
                    split=seq_split,
                    max_side=max_side,
                )
            )
    name = "hpatches" if split == "all" else f"hpatches-{split}"
    return PairList(records, name=name, root=root)
