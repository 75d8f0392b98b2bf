"""Source photographs for the synthetic generators.

Two sources are supported:

- the sample images bundled inside the scikit-image wheel (read straight from the
  installed ``skimage/data`` folder, never downloaded);
- a user folder of ``.jpg``/``.png``/... files.

All images are returned as ``np.uint8`` BGR arrays of shape (H, W, 3).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["bundled_photo_names", "bundled_photo", "load_photo_folder", "photo_source", "split_photos"]

# Textured, photographic images that ship inside the scikit-image wheel. Only one of the
# motorcycle stereo pair is used so that a scene never gets two views of the same content.
_BUNDLED_FILES: dict[str, str] = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "ihc": "ihc.png",
    "motorcycle": "motorcycle_left.png",
    "rocket": "rocket.jpg",
}

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def bundled_photo_names() -> list[str]:
    """Names accepted by :func:`bundled_photo`, sorted."""
    return sorted(_BUNDLED_FILES)


def _to_bgr(image: np.ndarray) -> np.ndarray:
    """Any 8-bit gray/BGR/BGRA image -> (H, W, 3) uint8 BGR."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


@functools.lru_cache(maxsize=None)
def _bundled_cached(name: str) -> np.ndarray:
    path = importlib.resources.files("skimage.data").joinpath(_BUNDLED_FILES[name])
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"bundled photo {name!r} not found at {path}")
    image = _to_bgr(image)
    image.flags.writeable = False
    return image


def bundled_photo(name: str) -> np.ndarray:
    """A bundled scikit-image sample photo as a fresh (H, W, 3) uint8 BGR array."""
    if name not in _BUNDLED_FILES:
        raise KeyError(f"unknown bundled photo {name!r}; choose from {bundled_photo_names()}")
    return _bundled_cached(name).copy()


def _limit_size(image: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None or max(image.shape[:2]) <= max_side:
        return image
    h, w = image.shape[:2]
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_photo_folder(
    path: str | Path, max_side: int | None = None, limit: int | None = None
) -> list[tuple[str, np.ndarray]]:
    """Load the images of a folder (not recursive), sorted by file name.

    Returns ``[(stem, image)]`` with (H, W, 3) uint8 BGR images, each shrunk with
    ``INTER_AREA`` so its longest side is at most ``max_side``; at most ``limit`` images.
    Unreadable files are skipped.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    out: list[tuple[str, np.ndarray]] = []
    for file in files:
        if limit is not None and len(out) >= limit:
            break
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            continue
        out.append((file.stem, _limit_size(_to_bgr(image), max_side)))
    return out


def photo_source(
    spec: str | Path | None = None, max_side: int | None = None, limit: int | None = None
) -> list[tuple[str, np.ndarray]]:
    """Resolve a photo source: ``None``/``"bundled"`` -> bundled photos, else a folder path.

    Returns ``[(name, (H, W, 3) uint8 BGR)]``; raises ``FileNotFoundError`` if the folder
    is missing or holds no readable image.
    """
    if spec is None or str(spec) == "bundled":
        names = bundled_photo_names()[:limit] if limit is not None else bundled_photo_names()
        return [(n, _limit_size(bundled_photo(n), max_side)) for n in names]
    photos = load_photo_folder(spec, max_side=max_side, limit=limit)
    if not photos:
        raise FileNotFoundError(f"no readable images in {spec}")
    return photos


def split_photos(photos: Sequence[tuple[str, np.ndarray]] | Sequence[str], split: str) -> list:
    """Hold out every 10th item (sorted by name; indices 9, 19, ...): ``"val"`` or ``"train"``."""
    items = sorted(photos, key=lambda p: p[0] if isinstance(p, tuple) else p)
    if split == "val":
        return items[9::10]
    if split == "train":
        return [p for i, p in enumerate(items) if i % 10 != 9]
    raise ValueError(f"split must be 'train' or 'val', got {split!r}")
