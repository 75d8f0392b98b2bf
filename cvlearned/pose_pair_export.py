"""Validation pose pairs from a reconstruction: ``cvlearned data pose-pairs``.

Reads a scene written by ``cvlearned data reconstruct`` (:mod:`cvlearned.reconstruction_io`),
keeps the image pairs that share at least ``min_covisible`` 3-D points, samples up to
``max_pairs`` of them evenly over strata of rotation angle and co-visibility, copies their
images into ``<out>/images/`` and writes

- ``pairs.txt`` in the 42-field format of :func:`cvlearned.datasets.load_pairs_txt`
  (``X1 = R @ X0 + t``; OpenCV K; the camera's COLMAP distortion as OpenCV ``k1 k2 p1 p2 k3``,
  exact for the SIMPLE_RADIAL / RADIAL / OPENCV models), so
  ``cvlearned bench --dataset pairs:<out>`` measures on it;
- ``pairs_info.tsv``: per pair, the shared track count and the rotation angle in degrees.

``t`` is in the reconstruction's arbitrary unit: only its direction is meaningful, and the
benchmark's translation error is an angle between directions, so the scale does not matter.
The poses are those of a SIFT reconstruction: accurate to a fraction of a degree where the
scene is well covered, but they favour pairs SIFT can match and share SIFT's failure cases.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from cvlearned.datasets import PoseRecord, write_pairs_txt
from cvlearned.pose_text import rotation_angle_axis
from cvlearned.reconstruction_io import Reconstruction, load_reconstruction, relative_pose

__all__ = ["PairCandidate", "candidate_pairs", "covisibility", "sample_pairs", "write_pose_pairs"]

PathLike = str | os.PathLike
#: rotation-angle strata edges in degrees
ANGLE_EDGES = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0)
#: co-visibility strata per angle stratum (quantiles of the shared track count)
COVISIBILITY_STRATA = 3


@dataclass(frozen=True)
class PairCandidate:
    """Two registered images, the 3-D points they share and their rotation angle (degrees)."""

    name0: str
    name1: str
    shared: int
    angle_deg: float


def covisibility(rec: Reconstruction) -> np.ndarray:
    """(I, I) int matrix: 3-D points seen by both images ``rec.image_names[i]`` and ``[j]``
    (diagonal: points seen by image i)."""
    incidence = sparse.csr_matrix((np.ones(len(rec.track_image)), (rec.track_points(), rec.track_image)),
                                  shape=(len(rec.xyz), len(rec.image_names)))
    incidence.data[:] = 1.0  # an image observing a point twice counts once
    return np.rint((incidence.T @ incidence).toarray()).astype(np.int64)


def candidate_pairs(rec: Reconstruction, min_covisible: int) -> list[PairCandidate]:
    """Image pairs (i < j in ``rec.image_names`` order) sharing at least ``min_covisible`` points."""
    if isinstance(min_covisible, bool) or not isinstance(min_covisible, (int, np.integer)) or min_covisible < 1:
        raise ValueError(f"min_covisible must be a positive int, got {min_covisible!r}")
    shared = covisibility(rec)
    names = rec.image_names
    out = []
    for i, j in zip(*np.nonzero(np.triu(shared >= min_covisible, k=1))):
        R, _ = relative_pose(rec.images[names[i]], rec.images[names[j]])
        out.append(PairCandidate(names[i], names[j], int(shared[i, j]), rotation_angle_axis(R)[0]))
    return out


def _strata(candidates: list[PairCandidate]) -> dict[tuple[int, int], list[int]]:
    """Candidate indices by (angle stratum, co-visibility quantile within it)."""
    by_angle: dict[int, list[int]] = {}
    for k, c in enumerate(candidates):
        by_angle.setdefault(int(np.searchsorted(ANGLE_EDGES, c.angle_deg)), []).append(k)
    strata: dict[tuple[int, int], list[int]] = {}
    for a, members in by_angle.items():
        ranks = np.argsort(np.argsort([candidates[k].shared for k in members], kind="stable"), kind="stable")
        for k, rank in zip(members, ranks):
            strata.setdefault((a, int(rank * COVISIBILITY_STRATA // len(members))), []).append(k)
    return strata


def sample_pairs(candidates: list[PairCandidate], max_pairs: int, seed: int = 0) -> list[PairCandidate]:
    """Up to ``max_pairs`` candidates drawn round-robin over the strata (rotation angle x
    co-visibility tercile), so that every prefix of the result spans the angles and
    co-visibilities there are; random within a stratum, deterministic in ``seed``."""
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, (int, np.integer)) or max_pairs < 1:
        raise ValueError(f"max_pairs must be a positive int, got {max_pairs!r}")
    rng = np.random.default_rng(seed)
    strata = _strata(candidates)
    # visit order: every angle stratum once per round, the co-visibility level shifting with the angle
    order = sorted(strata, key=lambda key: ((key[0] + key[1]) % COVISIBILITY_STRATA, key[0]))
    queues = [list(rng.permutation(strata[key])) for key in order]
    chosen: list[PairCandidate] = []
    while len(chosen) < max_pairs and any(queues):
        for queue in queues:
            if queue and len(chosen) < max_pairs:
                chosen.append(candidates[int(queue.pop())])
    return chosen


def _record(rec: Reconstruction, pair: PairCandidate, image_dir: Path) -> PoseRecord:
    pose0, pose1 = rec.images[pair.name0], rec.images[pair.name1]
    cam0, cam1 = rec.camera(pair.name0), rec.camera(pair.name1)
    R, t = relative_pose(pose0, pose1)
    return PoseRecord(f"{pair.name0}/{pair.name1}", image_dir / pair.name0, image_dir / pair.name1,
                      cam0.K, cam1.K, R, t, cam0.dist, cam1.dist)


def write_pose_pairs(scene_dir: PathLike, out_dir: PathLike, max_pairs: int = 100, min_covisible: int = 50,
                     seed: int = 0) -> list[PairCandidate]:
    """Write ``pairs.txt``, ``pairs_info.tsv`` and ``images/`` of a reconstructed scene
    into ``out_dir`` (see the module docstring); returns the pairs written, in file order.

    Raises:
        ValueError: no pair shares ``min_covisible`` points. FileNotFoundError: the scene's
            images (``image_dir`` of its summary) are gone.
    """
    rec = load_reconstruction(scene_dir)
    pairs = sample_pairs(candidate_pairs(rec, min_covisible), max_pairs, seed)
    if not pairs:
        raise ValueError(f"no image pair of {scene_dir} shares {min_covisible} or more 3-D points "
                         "(lower --min-covisible)")
    source, out = Path(rec.summary["image_dir"]), Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    for name in sorted({n for p in pairs for n in (p.name0, p.name1)}):
        if not (source / name).is_file():
            raise FileNotFoundError(f"image {source / name} of the reconstruction is missing")
        shutil.copy2(source / name, out / "images" / name)
    write_pairs_txt(out / "pairs.txt", [_record(rec, p, out / "images") for p in pairs])
    rows = ["name0\tname1\tshared_tracks\trotation_deg"]
    rows += [f"images/{p.name0}\timages/{p.name1}\t{p.shared}\t{p.angle_deg:.3f}" for p in pairs]
    (out / "pairs_info.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return pairs
