"""Helpers of the feature-file tests: a generated image folder and whole-file comparison."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cvlearned import io
from cvlearned.synthetic.photos import bundled_photo, bundled_photo_names

#: image names of :func:`write_image_folder` that can be read (one in a subfolder)
READABLE = ("a.png", "b.jpg", "c.png", "sub/d.png", "sub/e.png")
UNREADABLE = "broken.png"


def write_image_folder(folder: Path, size: tuple[int, int] = (320, 240)) -> Path:
    """``READABLE`` images (bundled photos, two of them warped views of the first, resized to
    ``size``) and one file ``UNREADABLE`` that is not an image."""
    photos = [bundled_photo(n) for n in bundled_photo_names()[:3]]
    base = cv2.resize(photos[0], size, interpolation=cv2.INTER_AREA)
    w, h = size
    shifted = cv2.warpAffine(base, cv2.getRotationMatrix2D((w / 2, h / 2), 6.0, 1.05), size)
    images = [base, cv2.resize(photos[1], size), shifted, cv2.resize(photos[2], size),
              np.ascontiguousarray(base[:, ::-1])]
    for name, image in zip(READABLE, images):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), image)
    (folder / UNREADABLE).write_bytes(b"not an image")
    return folder


def h5_contents(path: Path) -> dict[str, tuple[np.ndarray, ...]]:
    """Every complete group of a features.h5 or matches.h5 → its datasets, in a fixed order."""
    import h5py

    with io.open_h5(path) as h5:
        names = io.feature_names(path) or io.pair_names(path)
        return {n: tuple(h5[n][d][()] for d in sorted(h5[n]) if isinstance(h5[n][d], h5py.Dataset)) for n in names}


def assert_same_files(path0: Path, path1: Path) -> None:
    """The two files hold the same groups with bit-identical datasets."""
    c0, c1 = h5_contents(path0), h5_contents(path1)
    assert sorted(c0) == sorted(c1)
    for name in c0:
        assert len(c0[name]) == len(c1[name]), name
        for a, b in zip(c0[name], c1[name]):
            assert a.dtype == b.dtype and np.array_equal(a, b), name


def keypoint_fields(keypoints) -> list[tuple]:
    """Every field of each ``cv2.KeyPoint``, for exact comparison."""
    return [(k.pt, k.size, k.angle, k.response, k.octave, k.class_id) for k in keypoints]
