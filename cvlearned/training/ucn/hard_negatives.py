"""Negative pairs for UCN training: active hard-negative mining and the random baseline.

Active hard-negative mining (Choy et al., NIPS 2016, Sec. 3.2): for each ground-truth
point x_i of image 0 with feature f_i, search the nearest neighbour of f_i over every
feature-map location of image 1 (exact, chunked, without gradient). If that location lies
more than ``radius`` pixels from the true correspondence x'_i, the network confuses x_i
with it, and (f_i, f'_nn) becomes a negative pair. The caller gathers f'_nn again from the
feature map *with* gradient. The random baseline ("RN" in the paper's ablation) pairs
each query with a random location farther than ``radius`` from x'_i instead.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from cvlearned.nearest_neighbours import chunked_nearest

__all__ = ["NegativePairs", "hard_negatives", "random_negatives"]


class NegativePairs(NamedTuple):
    """Negative pairs as indices: query ``query[k]`` pairs with database row ``index[k]``.

    query: (M,) int64 indices into the queries (increasing); index: (M,) int64 database rows.
    """

    query: torch.Tensor
    index: torch.Tensor  # type: ignore[assignment]  # shadows tuple.index (the field is the API)


def _check(locations: torch.Tensor, gt: torch.Tensor, radius: float) -> None:
    if locations.ndim != 2 or locations.shape[1] != 2:
        raise ValueError(f"locations must be (L, 2), got {tuple(locations.shape)}")
    if gt.ndim != 2 or gt.shape[1] != 2:
        raise ValueError(f"gt must be (N, 2), got {tuple(gt.shape)}")
    if not radius >= 0:
        raise ValueError(f"radius must be >= 0, got {radius!r}")


def _far(locations: torch.Tensor, index: torch.Tensor, gt: torch.Tensor, radius: float) -> torch.Tensor:
    """(N,) bool: location ``index[i]`` lies more than ``radius`` px from ``gt[i]`` (False for NaN gt)."""
    return torch.linalg.vector_norm(locations[index].float() - gt.float(), dim=1) > radius


def hard_negatives(
    queries: torch.Tensor, database: torch.Tensor, locations: torch.Tensor, gt: torch.Tensor,
    radius: float = 16.0, chunk: int = 4096,
) -> NegativePairs:
    """Active hard negatives: nearest neighbours that are far from the true correspondence.

    Args:
        queries: (N, D) features f_i of the ground-truth points of image 0.
        database: (L, D) features of every feature-map location of image 1.
        locations: (L, 2) image-1 pixel coordinates (x, y) of the database rows.
        gt: (N, 2) true image-1 positions x'_i (rows with NaN never give a negative).
        radius: a nearest neighbour within this many pixels of x'_i is not a negative.
        chunk: block size of the exact search (:func:`cvlearned.nearest_neighbours.chunked_nearest`);
            the result does not depend on it.

    Returns:
        :class:`NegativePairs` (no gradient flows through the search).
    """
    _check(locations, gt, radius)
    if queries.shape[0] != gt.shape[0] or database.shape[0] != locations.shape[0]:
        raise ValueError("queries/gt and database/locations must have matching lengths")
    nn = chunked_nearest(queries, database, chunk)
    far = _far(locations, nn, gt, radius)
    query = torch.nonzero(far).reshape(-1)
    return NegativePairs(query, nn[query])


def random_negatives(
    locations: torch.Tensor, gt: torch.Tensor, radius: float, rng: np.random.Generator, tries: int = 8,
) -> NegativePairs:
    """Random negatives: for each query a uniformly drawn location farther than ``radius`` from x'_i.

    Args:
        locations: (L, 2) image-1 pixel coordinates of the candidate locations.
        gt: (N, 2) true image-1 positions.
        rng: numpy generator (the draws depend only on its state and the inputs).
        tries: draws per query; a query whose every draw lands within ``radius`` gets no
            negative (only possible when the disc covers most of the image).

    Returns:
        :class:`NegativePairs`.
    """
    _check(locations, gt, radius)
    n, length = gt.shape[0], locations.shape[0]
    dev = locations.device
    index = torch.zeros(n, dtype=torch.int64, device=dev)
    found = torch.zeros(n, dtype=torch.bool, device=dev)
    if length == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=dev)
        return NegativePairs(empty, empty)
    for _ in range(tries):
        todo = torch.nonzero(~found).reshape(-1)
        if len(todo) == 0:
            break
        draw = torch.as_tensor(rng.integers(0, length, len(todo)), dtype=torch.int64, device=dev)
        ok = _far(locations, draw, gt[todo], radius)
        index[todo[ok]] = draw[ok]
        found[todo[ok]] = True
    query = torch.nonzero(found).reshape(-1)
    return NegativePairs(query, index[query])
