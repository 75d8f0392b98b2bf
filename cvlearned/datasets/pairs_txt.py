"""Generic ``pairs.txt`` reader/writer.

One pair per line, whitespace separated, ``#`` starts a comment, blank lines are ignored.
Accepted layouts (the number of fields decides; N = name, all matrices row-major):

======  =====================================================================
fields  layout
======  =====================================================================
11      ``N0 N1 H_0to1(9)``                          -> HomographyPair
32      ``N0 N1 K0(9) K1(9) R(9) t(3)``              -> PosePair, no distortion
36      ``N0 N1 K0(9) K1(9) T_0to1(16)``             -> PosePair (4x4, glue-factory)
38      ``N0 N1 rot0 rot1 K0(9) K1(9) T_0to1(16)``   -> PosePair (SuperGlue, EXIF rot)
42      ``N0 N1 K0(9) K1(9) R(9) t(3) D0(5) D1(5)``  -> PosePair with distortion
======  =====================================================================

Poses map camera 0 to camera 1: ``X1 = R @ X0 + t`` (``T_0to1 = [[R, t], [0, 1]]``).
Image names are resolved against ``root``, then ``root/images``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .pair_list import HomographyRecord, PairList, PairRecord, PoseRecord, Size, limit_records
from .types import HomographyPair, PosePair

FIELD_COUNTS = {
    11: "N0 N1 H(9)",
    32: "N0 N1 K0(9) K1(9) R(9) t(3)",
    36: "N0 N1 K0(9) K1(9) T_0to1(16)",
    38: "N0 N1 rot0 rot1 K0(9) K1(9) T_0to1(16)",
    42: "N0 N1 K0(9) K1(9) R(9) t(3) D0(5) D1(5)",
}


def iter_pair_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, tokens)`` of the non-empty, non-comment lines of a text file."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            tokens = line.split("#", 1)[0].split()
            if tokens:
                yield lineno, tokens


def _numbers(tokens: list[str], where: str, first_field: int) -> np.ndarray:
    values = []
    for j, tok in enumerate(tokens):
        try:
            values.append(float(tok))
        except ValueError:
            raise ValueError(
                f"{where}: field {first_field + j + 1} ({tok!r}) is not a number"
            ) from None
    out = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{where}: non-finite value in fields {first_field + 1}..")
    return out


def _check_rotation(R: np.ndarray, where: str) -> None:
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-2) or np.linalg.det(R) < 0:
        raise ValueError(f"{where}: R is not a rotation matrix (fields misaligned?)")


def _pose_from_T(T: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    T = T.reshape(4, 4)
    if not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0], atol=1e-6):
        raise ValueError(f"{where}: last row of T_0to1 must be 0 0 0 1, got {T[3].tolist()}")
    return T[:3, :3].copy(), T[:3, 3].copy()


def parse_pair_tokens(tokens: list[str], where: str) -> dict:
    """Parse one line's tokens into record fields (no paths resolved).

    Returns a dict with ``kind`` ("homography" | "pose"), ``name0``, ``name1`` and the
    matrices. ``where`` ("file:line") prefixes every ValueError message.
    """
    n = len(tokens)
    if n not in FIELD_COUNTS:
        formats = "; ".join(f"{k}: {v}" for k, v in FIELD_COUNTS.items())
        raise ValueError(
            f"{where}: expected one of {sorted(FIELD_COUNTS)} fields, got {n} ({formats})"
        )
    out: dict = {"name0": tokens[0], "name1": tokens[1]}
    if n == 11:
        H = _numbers(tokens[2:], where, 2).reshape(3, 3)
        if abs(np.linalg.det(H)) < 1e-12:
            raise ValueError(f"{where}: homography is singular")
        out.update(kind="homography", H_0to1=H)
        return out
    rot0 = rot1 = 0
    if n == 38:
        rots = _numbers(tokens[2:4], where, 2)
        if not np.all(rots == np.round(rots)):
            raise ValueError(f"{where}: rot0/rot1 must be integers, got {tokens[2:4]}")
        rot0, rot1 = int(rots[0]) % 4, int(rots[1]) % 4
        values = _numbers(tokens[4:], where, 4)
    else:
        values = _numbers(tokens[2:], where, 2)
    K0, K1 = values[0:9].reshape(3, 3), values[9:18].reshape(3, 3)
    D0 = D1 = np.zeros(5)
    if n in (36, 38):
        R, t = _pose_from_T(values[18:34], where)
    else:
        R, t = values[18:27].reshape(3, 3), values[27:30].copy()
        if n == 42:
            D0, D1 = values[30:35].copy(), values[35:40].copy()
    _check_rotation(R, where)
    out.update(kind="pose", K0=K0, K1=K1, R=R, t=t, D0=D0, D1=D1, rot0=rot0, rot1=rot1)
    return out


def resolve_image(root: Path, name: str) -> Path:
    """``root/name`` if it exists, else ``root/images/name`` if that exists, else ``root/name``."""
    direct = root / name
    if direct.exists():
        return direct
    nested = root / "images" / name
    return nested if nested.exists() else direct


def pair_name(name0: str, name1: str) -> str:
    """Readable pair id from two image names: extension and a leading ``images/`` dropped."""

    def short(n: str) -> str:
        n = os.path.splitext(n.replace("\\", "/"))[0]
        if n.startswith("images/"):
            n = n[len("images/") :]
        return n.replace("/", "-")

    return f"{short(name0)}/{short(name1)}"


def read_pair_records(
    pairs_path: Path,
    image_root: Path,
    *,
    max_pairs: int | None = None,
    resize: Size | None = None,
    max_side: int | None = None,
    split: str = "viewpoint",
) -> list[PairRecord]:
    """Parse a pairs file into records (images resolved against ``image_root``)."""
    if not pairs_path.is_file():
        raise FileNotFoundError(f"pairs file not found: {pairs_path}")
    records: list[PairRecord] = []
    for lineno, tokens in iter_pair_lines(pairs_path):
        if max_pairs is not None and len(records) >= max_pairs:
            break
        f = parse_pair_tokens(tokens, f"{pairs_path}:{lineno}")
        common: dict[str, Any] = dict(
            name=pair_name(f["name0"], f["name1"]),
            path0=resolve_image(image_root, f["name0"]),
            path1=resolve_image(image_root, f["name1"]),
            resize=tuple(resize) if resize is not None else None,
            max_side=max_side,
        )
        if f["kind"] == "homography":
            records.append(HomographyRecord(H_0to1=f["H_0to1"], split=split, **common))
        else:
            keys = ("K0", "K1", "R", "t", "D0", "D1", "rot0", "rot1")
            records.append(PoseRecord(**common, **{k: f[k] for k in keys}))
    return records


def load_pairs_txt(
    root: str | Path,
    pairs_file: str | Path = "pairs.txt",
    max_pairs: int | None = None,
    *,
    resize: Size | None = None,
    max_side: int | None = None,
    name: str | None = None,
) -> PairList:
    """Load a pairs file (see module doc) as a lazily loading :class:`PairList`.

    Args:
        root: dataset folder; images are resolved against it (then ``root/images``).
        pairs_file: file name relative to ``root`` (or an absolute path).
        max_pairs: keep only the first ``max_pairs`` pairs.
        resize: optional (width, height) every image is resized to (K / H adjusted).
        max_side: optional longest-side limit (alternative to ``resize``).
        name: dataset name (default: the folder name of ``root``).
    """
    root = Path(root)
    limit_records([], max_pairs)  # validates max_pairs
    records = read_pair_records(
        root / pairs_file, root, max_pairs=max_pairs, resize=resize, max_side=max_side
    )
    return PairList(records, name=name or root.resolve().name, root=root)


# --------------------------------------------------------------------------- writing
def _fmt(values: np.ndarray) -> str:
    return " ".join(repr(float(v)) for v in np.asarray(values, dtype=np.float64).ravel())


def _rel(path: Path, base: Path) -> str:
    rel = os.path.relpath(Path(path).resolve(), base.resolve())
    if any(c.isspace() for c in rel):
        raise ValueError(f"image path contains whitespace, cannot be written: {rel}")
    return Path(rel).as_posix()


def _dist5(D: np.ndarray | None, i: int) -> np.ndarray:
    D = np.zeros(5) if D is None else np.asarray(D, dtype=np.float64).ravel()
    if D.size == 5:
        return D
    if not np.any(D[5:]):
        return np.pad(D[:5], (0, 5 - min(D.size, 5)))
    raise ValueError(f"pair {i}: only 5 distortion coefficients (k1 k2 p1 p2 k3) can be written")


def write_pairs_txt(
    path: str | Path,
    pairs: PairList | Iterable[PairRecord | PosePair | HomographyPair],
) -> Path:
    """Write pairs in the 42-field (pose) / 11-field (homography) format; returns ``path``.

    Records whose images load unchanged are written by reference (paths relative to the
    file's folder). In-memory pairs and records with resize/rotation are materialised: their
    images are saved as PNG under ``<folder>/images/`` and the adjusted ground truth is
    written. Depth maps are not stored.
    """
    path = Path(path)
    base = path.parent
    base.mkdir(parents=True, exist_ok=True)
    items = pairs.records if isinstance(pairs, PairList) else pairs
    lines = [
        "# cvlearned pairs file: X1 = R @ X0 + t, matrices row-major",
        "# name0 name1 K0(9) K1(9) R(9) t(3) D0(5) D1(5)   |   name0 name1 H_0to1(9)",
    ]
    for i, item in enumerate(items):
        gt: PoseRecord | HomographyRecord | PosePair | HomographyPair
        if isinstance(item, (PoseRecord, HomographyRecord)) and not item.transformed:
            n0, n1, gt = _rel(item.path0, base), _rel(item.path1, base), item
        else:
            pair = item.load() if isinstance(item, (PoseRecord, HomographyRecord)) else item
            if not isinstance(pair, (PosePair, HomographyPair)):
                raise TypeError(f"cannot write item {i} of type {type(item).__name__}")
            stem = f"{i:05d}_" + re.sub(r"[^A-Za-z0-9._-]+", "_", pair.name)[:80]
            (base / "images").mkdir(exist_ok=True)
            for k, image in enumerate((pair.image0, pair.image1)):
                if not cv2.imwrite(str(base / "images" / f"{stem}_{k}.png"), image):
                    raise OSError(f"could not write image {stem}_{k}.png in {base / 'images'}")
            n0, n1, gt = f"images/{stem}_0.png", f"images/{stem}_1.png", pair
        if isinstance(gt, (HomographyRecord, HomographyPair)):
            lines.append(f"{n0} {n1} {_fmt(gt.H_0to1)}")
        else:
            fields = [gt.K0, gt.K1, gt.R, gt.t, _dist5(gt.D0, i), _dist5(gt.D1, i)]
            lines.append(f"{n0} {n1} " + " ".join(_fmt(v) for v in fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
