"""Correspondence contrastive loss of the Universal Correspondence Network (Choy et al., NIPS 2016, Eq. 1).

For N feature pairs (f_i, f'_i) with labels s_i (1 = correspondence, 0 = negative):

    L = 1/(2N) * sum_i [ s_i ||f_i - f'_i||^2 + (1 - s_i) max(0, m - ||f_i - f'_i||)^2 ]

The paper uses m = 1 with unit-norm features.

:func:`~cvlearned.training.common.contrastive_losses.correspondence_infonce_loss` is the
alternative objective measured against it (``loss.objective: infonce``): every other
feature-map location of image 1 farther than a radius from the true correspondence is a
negative of each point, in one softmax.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["ContrastiveTerms", "correspondence_contrastive_loss"]

_EPS = 1e-12  # keeps the gradient of ||f - f'|| finite at f == f'


class ContrastiveTerms(NamedTuple):
    """The loss and its two parts (``loss == positive + negative``), scalar tensors."""

    loss: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor


def correspondence_contrastive_loss(
    f0: torch.Tensor, f1: torch.Tensor, labels: torch.Tensor, margin: float = 1.0
) -> ContrastiveTerms:
    """UCN's correspondence contrastive loss.

    Args:
        f0, f1: (N, D) features of the two sides of each pair.
        labels: (N,) bool or 0/1 numbers; 1 marks a true correspondence.
        margin: m > 0; negatives farther apart than m cost nothing.

    Returns:
        :class:`ContrastiveTerms` with ``positive = 1/(2N) sum s d^2`` and
        ``negative = 1/(2N) sum (1 - s) max(0, m - d)^2``; all zero when N == 0.
    """
    if f0.ndim != 2 or f0.shape != f1.shape:
        raise ValueError(f"f0 and f1 must both be (N, D), got {tuple(f0.shape)} and {tuple(f1.shape)}")
    if labels.shape != (f0.shape[0],):
        raise ValueError(f"labels must be ({f0.shape[0]},), got {tuple(labels.shape)}")
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin!r}")
    s = labels.to(f0.dtype)
    if bool(((s != 0) & (s != 1)).any()):
        raise ValueError("labels must be 0 or 1")
    n = f0.shape[0]
    if n == 0:
        zero = f0.sum() * 0.0
        return ContrastiveTerms(zero, zero, zero)
    d2 = ((f0 - f1) ** 2).sum(dim=1)
    hinge = torch.clamp(margin - torch.sqrt(d2 + _EPS), min=0.0)
    positive = (s * d2).sum() / (2 * n)
    negative = ((1 - s) * hinge * hinge).sum() / (2 * n)
    return ContrastiveTerms(positive + negative, positive, negative)
