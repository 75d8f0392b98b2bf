"""Benchmark dataset specs: ``synthetic-homography``, ``synthetic-scenes``,
``hpatches:PATH``, ``kitti:PATH``, ``pairs:PATH``, ``scannet1500:PATH``, ``megadepth1500:PATH``.

Synthetic specs take options after a colon, e.g. ``synthetic-scenes:layout=street`` or
``synthetic-homography:split=illumination,photos=/path/to/photos``; ``photos_split=val``
keeps only the photos that training holds out (every 10th file sorted by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cvlearned.datasets import (
    load_hpatches,
    load_kitti_pairs,
    load_megadepth1500,
    load_pairs_txt,
    load_scannet1500,
)
from cvlearned.registry import did_you_mean
from cvlearned.synthetic import make_homography_pairs, make_scene_pairs, photo_source
from cvlearned.synthetic.photos import split_photos

#: synthetic dataset -> the options it accepts after the colon
SYNTHETIC = {
    "synthetic-homography": ("split", "photos", "photos_split"),
    "synthetic-scenes": ("layout", "photos", "photos_split"),
}
REAL = ("hpatches", "kitti", "pairs", "scannet1500", "megadepth1500")


def check_dataset_spec(spec: str) -> tuple[str, str]:
    """Validate a spec without loading anything → (kind, text after the colon).

    Raises:
        ValueError: unknown kind (with the closest names), unknown or malformed synthetic
            option, or a real dataset without a PATH.
        FileNotFoundError: the PATH of a real dataset does not exist.
    """
    kind, _, arg = spec.strip().partition(":")
    if kind in SYNTHETIC:
        unknown = sorted(set(_options(arg)) - set(SYNTHETIC[kind]))
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for {kind}; it takes {list(SYNTHETIC[kind])}")
        return kind, arg
    if kind not in REAL:
        hint = did_you_mean(kind, [*SYNTHETIC, *REAL])
        raise ValueError(f"unknown dataset {spec!r}{hint} (use one of {', '.join(SYNTHETIC)}, "
                         f"{', '.join(k + ':PATH' for k in REAL)})")
    if not arg:
        raise ValueError(f"dataset {kind!r} needs a path: {kind}:PATH")
    if not Path(arg).exists():
        raise FileNotFoundError(f"dataset path {arg} does not exist ({spec!r})")
    return kind, arg


def load_dataset(spec: str, *, max_pairs: int | None, seed: int, size: tuple[int, int] = (640, 480)) -> Sequence[Any]:
    """Pairs (HomographyPair or PosePair) of a dataset spec; synthetic default: 12 pairs."""
    kind, arg = check_dataset_spec(spec)
    if kind in SYNTHETIC:
        options = _options(arg)
        n_pairs = max_pairs or 12
        photos = photo_source(options.get("photos"), max_side=1024) if "photos" in options else None
        if photos is not None and options.get("photos_split", "all") != "all":
            photos = split_photos(photos, options["photos_split"])
        if kind == "synthetic-homography":
            return make_homography_pairs(photos, n_pairs=n_pairs, split=options.get("split", "viewpoint"),
                                         size=size, seed=seed)
        return make_scene_pairs(n_pairs=n_pairs, layout=options.get("layout", "mixed"), size=size, seed=seed,
                                photos=photos)
    loaders = {
        "hpatches": lambda: load_hpatches(arg, max_pairs=max_pairs, max_side=1024),
        "kitti": lambda: load_kitti_pairs(arg, max_pairs=max_pairs),
        "pairs": lambda: load_pairs_txt(arg, max_pairs=max_pairs),
        "scannet1500": lambda: load_scannet1500(arg, max_pairs=max_pairs),
        "megadepth1500": lambda: load_megadepth1500(arg, max_pairs=max_pairs, max_side=1024),
    }
    return loaders[kind]()


def _options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"synthetic dataset options are key=value, got {item!r}")
        options[key.strip()] = value.strip()
    return options
