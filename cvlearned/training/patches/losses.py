"""Descriptor losses: HardNet's hardest-in-batch triplet margin loss and SOSNet's SOS term.

Both take (B, D) L2-normalised descriptors ``anchors`` and ``positives`` where row ``i`` of
each describes the same 3-D point; every other row is a negative.
"""

from __future__ import annotations

import torch

__all__ = ["pairwise_distances", "hardnet_triplet_loss", "sos_regularizer", "descriptor_loss"]


def pairwise_distances(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(B, C) Euclidean distances between the rows of ``x`` (B, D) and ``y`` (C, D)."""
    sq = (x * x).sum(1, keepdim=True) + (y * y).sum(1)[None, :] - 2.0 * x @ y.t()
    return torch.sqrt(sq.clamp_min(0.0) + eps)


def hardnet_triplet_loss(
    anchors: torch.Tensor, positives: torch.Tensor, margin: float = 1.0, eps: float = 1e-8
) -> torch.Tensor:
    """HardNet loss: ``mean_i max(0, margin + d(a_i, p_i) - min(min_j d(a_i, p_j), min_j d(a_j, p_i)))``.

    ``j != i``; the hardest negative of pair ``i`` is the closest non-matching descriptor
    in its row or its column of the anchor-positive distance matrix ("anchor swap").
    """
    if anchors.shape != positives.shape or anchors.ndim != 2:
        raise ValueError(
            f"anchors and positives must both be (B, D), got {tuple(anchors.shape)} and {tuple(positives.shape)}"
        )
    if anchors.shape[0] < 2:
        raise ValueError("the triplet loss needs a batch of at least 2 pairs")
    dist = pairwise_distances(anchors, positives, eps)
    pos = torch.diagonal(dist)
    big = torch.eye(dist.shape[0], dtype=dist.dtype, device=dist.device) * 10.0
    masked = dist + big
    hardest = torch.minimum(masked.min(dim=1).values, masked.min(dim=0).values)
    return torch.clamp(margin + pos - hardest, min=0.0).mean()


def sos_regularizer(anchors: torch.Tensor, positives: torch.Tensor, knn: int = 8, eps: float = 1e-8) -> torch.Tensor:
    """SOSNet's second-order similarity (Tian et al., CVPR 2019).

    ``mean_i sqrt(sum_{j in N_i} (d(a_i, a_j) - d(p_i, p_j))^2)`` where ``N_i`` is the union
    of the ``knn`` nearest neighbours (excluding ``i``) of ``a_i`` among the anchors and of
    ``p_i`` among the positives.
    """
    b = anchors.shape[0]
    k = min(knn, b - 1)
    if k < 1:
        return anchors.new_zeros(())
    da = pairwise_distances(anchors, anchors, eps)
    dp = pairwise_distances(positives, positives, eps)
    eye = torch.eye(b, dtype=torch.bool, device=anchors.device)
    with torch.no_grad():
        big = eye.to(da.dtype) * 10.0
        mask = torch.zeros_like(eye)
        mask.scatter_(1, (da + big).topk(k, dim=1, largest=False).indices, True)
        mask.scatter_(1, (dp + big).topk(k, dim=1, largest=False).indices, True)
    diff = (da - dp) * mask.to(da.dtype)
    return torch.sqrt((diff * diff).sum(dim=1) + eps).mean()


def descriptor_loss(
    anchors: torch.Tensor, positives: torch.Tensor, margin: float = 1.0, sos_weight: float = 0.0, knn: int = 8
) -> torch.Tensor:
    """``hardnet_triplet_loss + sos_weight * sos_regularizer`` (SOS skipped when the weight is 0)."""
    loss = hardnet_triplet_loss(anchors, positives, margin)
    if sos_weight > 0:
        loss = loss + sos_weight * sos_regularizer(anchors, positives, knn)
    return loss
