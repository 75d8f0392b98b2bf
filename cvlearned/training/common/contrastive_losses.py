"""Contrastive losses shared by the dense trainers.

:func:`correspondence_infonce_loss`: InfoNCE of each point's feature against its true
correspondence in image 1 (the positive) and every image-1 feature-map location farther than
a radius from it (the negatives), in one softmax. UCN's ``loss.objective: infonce``
(:mod:`cvlearned.training.ucn.train_ucn`) and SuperPoint's sparse descriptor loss on SfM
crops (:func:`cvlearned.training.superpoint.superpoint_losses.sparse_descriptor_loss`) use it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["correspondence_infonce_loss"]


def correspondence_infonce_loss(
    f0: torch.Tensor, f1: torch.Tensor, database: torch.Tensor, locations: torch.Tensor, gt: torch.Tensor,
    radius: float, temperature: float = 0.1,
) -> torch.Tensor:
    """InfoNCE of each point against every far location of image 1's map.

    Args:
        f0: (N, D) unit features at the image-0 points x_i.
        f1: (N, D) unit features at their true correspondences x'_i (the positives).
        database: (L, D) unit features of every image-1 map location.
        locations: (L, 2) image-1 pixel (x, y) of the database rows.
        gt: (N, 2) x'_i; database rows within ``radius`` px of x'_i are left out of point
            i's softmax (neither positive nor negative).
        temperature: softmax temperature on cosine similarities.

    Returns:
        Scalar mean over the N points of -log softmax of the positive among
        {f1_i} ∪ {database rows farther than ``radius``}; 0 when N == 0.
    """
    if f0.ndim != 2 or f0.shape != f1.shape or database.ndim != 2 or database.shape[1] != f0.shape[1]:
        raise ValueError(f"f0, f1 must be (N, D) and database (L, D), got {tuple(f0.shape)}, "
                         f"{tuple(f1.shape)}, {tuple(database.shape)}")
    if locations.shape != (database.shape[0], 2) or gt.shape != (f0.shape[0], 2):
        raise ValueError("locations must be (L, 2) and gt (N, 2)")
    if not temperature > 0 or not radius >= 0:
        raise ValueError(f"temperature must be > 0 and radius >= 0, got {temperature!r}, {radius!r}")
    if f0.shape[0] == 0:
        return f0.sum() * 0.0
    positive = (f0 * f1).sum(dim=1, keepdim=True)  # (N, 1)
    near = torch.cdist(gt.float(), locations.float()) <= radius  # (N, L)
    negatives = (f0 @ database.T).masked_fill(near, float("-inf"))
    logits = torch.cat([positive, negatives], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(f0.shape[0], dtype=torch.long, device=f0.device))
