"""Exact, memory-bounded nearest-neighbour search between two sets of feature vectors.

Shared by the dense PCK metric (:mod:`cvlearned.evaluation.metrics.pck`) and UCN's active
hard-negative mining (:mod:`cvlearned.training.ucn.hard_negatives`).
"""

from __future__ import annotations

import numbers

import torch

__all__ = ["chunked_nearest"]


def chunked_nearest(queries: torch.Tensor, database: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Index of the Euclidean nearest database row of every query.

    Args:
        queries: (N, D) float tensor.
        database: (L, D) float tensor on the same device (CPU or CUDA).
        chunk: block size over both queries and database rows; peak extra memory is about
            ``chunk**2`` floats. The result does not depend on it: ties go to the first
            (lowest-index) database row.

    Returns:
        (N,) int64 indices into ``database`` on the queries' device (computed in float32,
        without gradient). With ``L == 0`` no neighbour exists: raises ``ValueError``.
    """
    if not isinstance(queries, torch.Tensor) or not isinstance(database, torch.Tensor):
        raise TypeError("queries and database must be torch tensors")
    if queries.ndim != 2 or database.ndim != 2 or queries.shape[1] != database.shape[1]:
        raise ValueError(f"expected (N, D) queries and (L, D) database, got {tuple(queries.shape)} and "
                         f"{tuple(database.shape)}")
    if queries.device != database.device:
        raise ValueError(f"queries on {queries.device} but database on {database.device}")
    if isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    chunk = int(chunk)
    n, length = queries.shape[0], database.shape[0]
    if length == 0 and n > 0:
        raise ValueError("the database is empty")
    dev = queries.device
    best = torch.empty(n, dtype=torch.int64, device=dev)
    with torch.no_grad():
        db = database.detach().float()
        db_sq = (db * db).sum(dim=1)
        for a in range(0, n, chunk):
            q = queries[a:a + chunk].detach().float()
            best_d = torch.full((len(q),), float("inf"), device=dev)
            best_i = torch.zeros(len(q), dtype=torch.int64, device=dev)
            for b in range(0, length, chunk):
                # ||q - x||^2 up to the per-query constant ||q||^2, in one fused matmul.
                d = torch.addmm(db_sq[None, b:b + chunk], q, db[b:b + chunk].T, alpha=-2.0)
                m, i = d.min(dim=1)  # first minimum within the block
                better = m < best_d  # strict: an equal later block keeps the earlier index
                best_d = torch.where(better, m, best_d)
                best_i = torch.where(better, i + b, best_i)
            best[a:a + chunk] = best_i
    return best
