"""Feature and match files in hloc's HDF5 layout, readable back as OpenCV objects.

``features.h5``: one group per image, named by the image path relative to the image
folder (``/`` separated, so ``a/b.png`` is group ``b.png`` inside group ``a``):

==============  =========  ==========================================================
dataset         shape      content
==============  =========  ==========================================================
keypoints       (N, 2)     float32 x, y (hloc)
descriptors     (D, N)     the feature's dtype: float32, or packed uint8 bits (hloc)
scores          (N,)       float32 ``KeyPoint.response`` (hloc)
image_size      (2,)       int64 width, height of the original image (hloc)
sizes           (N,)       float32 ``KeyPoint.size`` (cvlearned)
angles          (N,)       float32 ``KeyPoint.angle``, -1 = none (cvlearned)
octaves         (N,)       int32 ``KeyPoint.octave`` (cvlearned)
class_ids       (N,)       int32 ``KeyPoint.class_id`` (cvlearned)
==============  =========  ==========================================================

The file's attribute ``feature`` names the cvlearned feature that wrote it.

Coordinates: hloc stores keypoints in OpenCV's convention (integer coordinates are pixel
centres): its ``extract_features`` rescales with ``(x + 0.5) * s - 0.5`` and adds 0.5 only
when importing into COLMAP (``triangulation.import_features``: "COLMAP origin"), whose
first pixel centre is (0.5, 0.5). So the keypoints here are exactly ``KeyPoint.pt``, and
:mod:`cvlearned.adapters.colmap` applies the +0.5 when it writes a database.

``matches.h5``: one group per pair, key :func:`names_to_pair` (``name0/name1`` with ``/``
inside a name replaced by ``-``), holding ``matches0`` ((N0,) int32 index into image 1's
keypoints, -1 = unmatched), ``matching_scores0`` ((N0,) float32, higher is better, 0 when
unmatched) and ``distances0`` ((N0,) float32 ``DMatch.distance``, inf when unmatched).

Interrupted writers leave readable files: an image or pair counts as present only when
all its datasets are (:func:`feature_names`, :func:`pair_names`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "FEATURE_DATASETS",
    "MATCH_DATASETS",
    "ChunkedWriter",
    "check_attribute",
    "feature_attribute",
    "feature_names",
    "keypoints_from_arrays",
    "names_to_pair",
    "open_h5",
    "pair_names",
    "read_features",
    "read_matches",
    "read_pairs",
    "write_features",
    "write_matches",
    "write_pairs",
]

PathLike = str | os.PathLike
#: datasets of one image group (hloc's four first)
FEATURE_DATASETS = ("keypoints", "descriptors", "scores", "image_size", "sizes", "angles", "octaves", "class_ids")
#: datasets of one pair group (hloc's two first)
MATCH_DATASETS = ("matches0", "matching_scores0", "distances0")
_NO_DESCRIPTORS = "descriptors_none"  # group attribute: detectAndCompute returned None


def open_h5(path: PathLike, mode: str = "r"):
    """``h5py.File(path, mode)``; a missing h5py or an unreadable file is a clear error."""
    try:
        import h5py
    except ImportError as exc:
        raise ImportError("feature files need h5py: pip install h5py") from exc
    if mode == "r" and not Path(path).is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        return h5py.File(path, mode)
    except OSError as exc:
        raise OSError(f"cannot open {path} as an HDF5 file ({exc})") from None


class ChunkedWriter:
    """An HDF5 file opened for appending on first use and closed after every ``every``
    steps and on exit, so that an interruption loses at most the open chunk.

    >>> with ChunkedWriter("features.h5", every=32, attrs={"feature": "sift"}) as writer:  # doctest: +SKIP
    ...     write_features(writer.file(), ...); writer.step()
    """

    def __init__(self, path: PathLike, every: int = 32, attrs: dict | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.path, self.every, self.attrs = Path(path), every, dict(attrs or {})
        self._h5: Any = None  # the open h5py.File
        self._steps = 0

    def file(self):
        """The open ``h5py.File`` (opened, with ``attrs`` set, when needed)."""
        if self._h5 is None:
            self._h5 = open_h5(self.path, "a")
            self._h5.attrs.update(self.attrs)
        return self._h5

    def step(self) -> None:
        """Count one unit of work; close the file after every ``every``."""
        self._steps += 1
        if self._steps % self.every == 0:
            self.close()

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __enter__(self) -> ChunkedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_attribute(path: PathLike, key: str, value: str) -> None:
    """ValueError when the existing file ``path`` was written with another ``key``
    (feature or matcher): resuming into it would mix two kinds of results."""
    if not Path(path).exists():
        return
    with open_h5(path) as h5:
        previous = h5.attrs.get(key)
    if previous is not None and previous != value:
        raise ValueError(f"{path} holds results of {key} {previous!r}, not {value!r}: write to another file")


def feature_attribute(path: PathLike) -> str:
    """The registered feature a ``features.h5`` was extracted with (its ``feature`` attribute).

    Raises:
        ValueError: the file does not exist or records no feature (not written by cvlearned).
    """
    if not Path(path).is_file():
        raise ValueError(f"no feature file {path}")
    with open_h5(path) as h5:
        feature = h5.attrs.get("feature")
    if feature is None:
        raise ValueError(f"{path} does not record its feature (write it with `cvlearned extract`)")
    return str(feature)


def names_to_pair(name0: str, name1: str) -> str:
    """hloc's key of the pair (name0, name1) in ``matches.h5``."""
    return "/".join((name0.replace("/", "-"), name1.replace("/", "-")))


def _complete_groups(h5, datasets: Sequence[str]) -> list[str]:
    """Names of the groups of ``h5`` that hold every one of ``datasets``."""
    import h5py

    found = []

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Group) and all(isinstance(obj.get(d), h5py.Dataset) for d in datasets):
            found.append(name)

    h5.visititems(visit)
    return sorted(found)


def feature_names(path: PathLike) -> list[str]:
    """Sorted image names with complete features in ``path`` ([] when it does not exist)."""
    if not Path(path).exists():
        return []
    with open_h5(path) as h5:
        return _complete_groups(h5, FEATURE_DATASETS)


def pair_names(path: PathLike) -> list[str]:
    """Sorted pair keys (:func:`names_to_pair`) with complete matches in ``path``."""
    if not Path(path).exists():
        return []
    with open_h5(path) as h5:
        return _complete_groups(h5, MATCH_DATASETS)


def _replace_group(h5, name: str):
    """A new, empty group ``name`` (a partial one left by an interrupted run is deleted)."""
    if name in h5:
        del h5[name]
    return h5.create_group(name)


def write_features(
    h5, name: str, keypoints: Sequence[cv2.KeyPoint], descriptors: np.ndarray | None,
    image_size: tuple[int, int], descriptor_shape: tuple[int, type] | None = None,
) -> None:
    """Store ``detectAndCompute``'s result for image ``name`` in an open ``features.h5``.

    Args:
        h5: an ``h5py.File`` opened for writing.
        keypoints: N ``cv2.KeyPoint``; descriptors: (N, D) array, or None (empty result).
        image_size: (width, height) of the original image.
        descriptor_shape: (D, dtype) used when ``descriptors`` is None (default (0, uint8)).
    """
    n = len(keypoints)
    if descriptors is not None and (descriptors.ndim != 2 or len(descriptors) != n):
        raise ValueError(f"{name}: {n} keypoints but descriptors of shape {descriptors.shape}")
    group = _replace_group(h5, name)
    if descriptors is None:
        dim, dtype = descriptor_shape or (0, np.uint8)
        descriptors = np.zeros((0, dim), dtype)
        group.attrs[_NO_DESCRIPTORS] = True
    group["keypoints"] = np.array([kp.pt for kp in keypoints], np.float32).reshape(n, 2)
    group["descriptors"] = np.ascontiguousarray(descriptors.T)
    group["scores"] = np.array([kp.response for kp in keypoints], np.float32)
    group["image_size"] = np.asarray(image_size, np.int64)
    group["sizes"] = np.array([kp.size for kp in keypoints], np.float32)
    group["angles"] = np.array([kp.angle for kp in keypoints], np.float32)
    group["octaves"] = np.array([kp.octave for kp in keypoints], np.int32)
    group["class_ids"] = np.array([kp.class_id for kp in keypoints], np.int32)


def keypoints_from_arrays(
    points: np.ndarray, sizes: np.ndarray, angles: np.ndarray, responses: np.ndarray,
    octaves: np.ndarray, class_ids: np.ndarray,
) -> tuple[cv2.KeyPoint, ...]:
    """``cv2.KeyPoint`` s from (N, 2) positions and (N,) attributes."""
    return tuple(
        cv2.KeyPoint(x=float(p[0]), y=float(p[1]), size=float(s), angle=float(a), response=float(r),
                     octave=int(o), class_id=int(c))
        for p, s, a, r, o, c in zip(points, sizes, angles, responses, octaves, class_ids)
    )


def _group(h5, name: str, datasets: Sequence[str], path: PathLike):
    group = h5.get(name)
    if group is None or any(d not in group for d in datasets):
        raise KeyError(f"{name!r} is not (completely) in {path}")
    return group


def read_features(
    path: PathLike, name: str
) -> tuple[tuple[cv2.KeyPoint, ...], np.ndarray | None, tuple[int, int]]:
    """Image ``name`` of ``features.h5`` → (keypoints, (N, D) descriptors or None,
    (width, height)), equal to what ``detectAndCompute`` returned when it was written.

    Raises:
        FileNotFoundError / OSError: no such or no HDF5 file. KeyError: ``name`` absent.
    """
    with open_h5(path) as h5:
        group = _group(h5, name, FEATURE_DATASETS, path)
        data = {d: group[d][()] for d in FEATURE_DATASETS}
        none = bool(group.attrs.get(_NO_DESCRIPTORS, False))
    keypoints = keypoints_from_arrays(data["keypoints"], data["sizes"], data["angles"], data["scores"],
                                      data["octaves"], data["class_ids"])
    descriptors = None if none else np.ascontiguousarray(data["descriptors"].T)
    width, height = (int(v) for v in data["image_size"])
    return keypoints, descriptors, (width, height)


def write_matches(h5, name0: str, name1: str, matches: Sequence[cv2.DMatch], num_keypoints0: int,
                  scores: np.ndarray) -> None:
    """Store ``matcher.match``'s ``cv2.DMatch`` list for the pair in an open ``matches.h5``.

    Args:
        matches: K matches (queryIdx into image 0, trainIdx into image 1).
        num_keypoints0: N0, the length of ``matches0``.
        scores: (K,) matching scores (higher is better) of ``matches``.
    """
    matches0 = np.full(num_keypoints0, -1, np.int32)
    scores0 = np.zeros(num_keypoints0, np.float32)
    distances0 = np.full(num_keypoints0, np.inf, np.float32)
    query = np.array([m.queryIdx for m in matches], np.int64)
    matches0[query] = [m.trainIdx for m in matches]
    scores0[query] = scores
    distances0[query] = [m.distance for m in matches]
    group = _replace_group(h5, names_to_pair(name0, name1))
    group["matches0"] = matches0
    group["matching_scores0"] = scores0
    group["distances0"] = distances0


def read_matches(path: PathLike, name0: str, name1: str) -> tuple[np.ndarray, np.ndarray]:
    """Matches of (name0, name1) → ((K, 2) int64 index pairs (i0, i1), (K,) float32 scores),
    sorted by i0; a pair stored the other way round is swapped (as hloc's ``get_matches``).

    Raises:
        KeyError: neither order of the pair is in ``path``.
    """
    with open_h5(path) as h5:
        reverse = False
        key = names_to_pair(name0, name1)
        if key not in h5:
            key, reverse = names_to_pair(name1, name0), True
        group = _group(h5, key, MATCH_DATASETS, path)
        matches0, scores0 = group["matches0"][()], group["matching_scores0"][()]
    idx = np.flatnonzero(matches0 >= 0)
    pairs = np.stack([idx, matches0[idx]], axis=1).astype(np.int64)
    scores = scores0[idx]
    if reverse:
        order = np.argsort(pairs[:, 1], kind="stable")
        pairs, scores = pairs[order][:, ::-1], scores[order]
    return np.ascontiguousarray(pairs), scores


def read_pairs(path: PathLike) -> list[tuple[str, str]]:
    """hloc's ``pairs.txt``: one ``name0 name1`` per line (blank and ``#`` lines skipped)."""
    pairs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected 'name0 name1', got {line!r}")
        pairs.append((fields[0], fields[1]))
    return pairs


def write_pairs(path: PathLike, pairs: Iterable[tuple[str, str]]) -> None:
    """Write ``pairs.txt`` (names must not contain whitespace)."""
    lines = []
    for name0, name1 in pairs:
        if any(c.isspace() for c in name0 + name1):
            raise ValueError(f"image names with whitespace cannot go in a pairs file: {name0!r} {name1!r}")
        lines.append(f"{name0} {name1}\n")
    Path(path).write_text("".join(lines))
