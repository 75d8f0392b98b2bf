"""Extract a folder of images into ``features.h5`` (layout: :mod:`cvlearned.io`).

Images are decoded by a torch ``DataLoader`` (``workers`` processes, one image at a time,
a bounded prefetch queue) while the main process runs the feature's ``detectAndCompute``
image by image, exactly as a user's loop would, so the file holds that call's results
bit for bit; or, with ``batch_size`` B > 1, on lists of B images, which network features
run through the network in batches of equal-size images (equal to the per-image results
within float rounding). Memory stays flat: at most ``2 * workers`` decoded images wait in
the queue (plus one batch) and each result is written as soon as it is computed.

Resumable: images already complete in the output file are skipped, and the file is
closed after every ``flush_every`` images, so an interrupted run (Ctrl-C, a crash between
writes) leaves a readable file that the next run continues. Unreadable images are
reported and skipped, not fatal.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from cvlearned import io
from cvlearned.synthetic.photos import IMAGE_EXTENSIONS

__all__ = ["ExtractionReport", "extract_folder", "extract_images", "list_image_names", "make_bulk_feature"]

PathLike = str | os.PathLike


def list_image_names(image_dir: PathLike) -> list[str]:
    """Image files under ``image_dir`` (recursive), as sorted ``/``-separated relative names."""
    root = Path(image_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not names:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {root}")
    return names


def make_bulk_feature(name: str, max_side: int | None = None, device: str | None = None) -> Any:
    """``cvlearned.create(name)`` with ``max_side`` and ``device`` when given; ``device``
    for a feature without that parameter (a classical one) is a ValueError unless "cpu"/"auto"."""
    from cvlearned.registry import create

    params: dict[str, Any] = {}
    if max_side is not None:
        params["max_side"] = max_side
    if device is not None and device != "auto":
        if "device" in create(name).getParams():
            params["device"] = device
        elif device != "cpu":
            raise ValueError(f"feature {name!r} runs on the CPU only (it has no device parameter), got {device!r}")
    return create(name, **params)


class _ImageFiles:
    """Map-style dataset: index → (name, BGR uint8 image or None, error text)."""

    def __init__(self, root: Path, names: Sequence[str]) -> None:
        self.root, self.names = root, list(names)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[str, np.ndarray | None, str]:
        name = self.names[index]
        path = self.root / name
        try:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        except cv2.error as exc:  # some corrupt files raise instead of returning None
            return name, None, f"cannot decode {path}: {exc}"
        return name, image, "" if image is not None else f"cannot read image {path}"


def _as_is(item: Any) -> Any:
    """DataLoader collate function for unbatched items: the item itself."""
    return item


def _decoded(root: Path, names: Sequence[str], workers: int) -> Iterator[tuple[str, np.ndarray | None, str]]:
    """(name, image, error) for ``names`` in order, decoded by ``workers`` processes
    (0: in this process)."""
    from torch.utils.data import DataLoader

    # _ImageFiles is a map-style dataset by protocol (__len__, __getitem__), not a Dataset subclass
    loader: DataLoader[tuple[str, np.ndarray | None, str]] = DataLoader(
        _ImageFiles(root, names), batch_size=None, shuffle=False, num_workers=workers,  # type: ignore[arg-type]
        collate_fn=_as_is, prefetch_factor=2 if workers else None)
    yield from loader


@dataclass
class ExtractionReport:
    """What :func:`extract_images` did: names extracted now, skipped (already in the
    file), failed (name → reason), and the wall time in seconds."""

    extracted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _batches(items: Iterator[tuple[str, np.ndarray | None, str]], size: int,
             ) -> Iterator[list[tuple[str, np.ndarray | None, str]]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    batch: list[tuple[str, np.ndarray | None, str]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def extract_images(
    image_dir: PathLike, names: Sequence[str], feature: Any, feature_name: str, out: PathLike,
    workers: int = 0, progress: bool = False, flush_every: int = 32, batch_size: int = 1,
) -> ExtractionReport:
    """Extract ``names`` (relative to ``image_dir``) with ``feature`` into ``out``, skipping
    images ``out`` already holds. ``feature_name`` is stored as the file's ``feature``.

    ``batch_size`` > 1 hands the feature that many decoded images at a time (the list form of
    ``detectAndCompute``): network features run equal-size images through the network as
    one batch, equal to image-by-image results within float rounding (tests/test_batched_inference.py).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    start = time.perf_counter()
    out = Path(out)
    io.check_attribute(out, "feature", feature_name)
    done = set(io.feature_names(out))
    report = ExtractionReport(skipped=[n for n in names if n in done])
    todo = [n for n in names if n not in done]
    shape = (feature.descriptorSize(), np.uint8 if feature.descriptorType() == cv2.CV_8U else np.float32)
    bar = tqdm(total=len(names), initial=len(report.skipped), desc="extract", unit="image", disable=not progress)
    with bar, io.ChunkedWriter(out, flush_every, {"feature": feature_name}) as writer:
        for batch in _batches(_decoded(Path(image_dir), todo, workers), batch_size):
            readable = [(name, image) for name, image, _ in batch if image is not None]
            if batch_size == 1:
                results = [feature.detectAndCompute(image, None) for _, image in readable]
            else:
                results = (list(zip(*feature.detectAndCompute([image for _, image in readable], None)))
                           if readable else [])
            described = dict(zip((name for name, _ in readable), results))
            for name, image, error in batch:
                if image is None:
                    report.failed[name] = error
                    if progress:
                        bar.write(f"skipped: {error}", file=sys.stderr)
                else:
                    keypoints, descriptors = described[name]
                    io.write_features(writer.file(), name, keypoints, descriptors,
                                      (image.shape[1], image.shape[0]), shape)
                    report.extracted.append(name)
                writer.step()
                bar.update()
    report.seconds = time.perf_counter() - start
    return report


def extract_folder(
    image_dir: PathLike, feature_name: str, out: PathLike, max_side: int | None = None,
    device: str | None = None, workers: int = 0, progress: bool = False, batch_size: int = 1,
) -> ExtractionReport:
    """Every image under ``image_dir`` → ``out`` with feature ``feature_name``
    (see the module docstring)."""
    names = list_image_names(image_dir)
    feature = make_bulk_feature(feature_name, max_side, device)
    return extract_images(image_dir, names, feature, feature_name, out, workers, progress, batch_size=batch_size)
