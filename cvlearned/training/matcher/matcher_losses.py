"""Losses of the learned matcher (LightGlue): negative log-likelihood of the assignment for
matched and unmatchable points at every layer (deep supervision), and the token-confidence
classifiers' binary cross-entropy against "this layer's prediction is already final"."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from cvlearned.matchers.lightglue import LayerOutput, mutual_matches

__all__ = ["assignment_nll", "confidence_loss", "matcher_loss"]


def assignment_nll(out: LayerOutput, labels0: torch.Tensor, labels1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(positive, negative) NLL of one layer: mean -log P[i, j] over ground-truth matches
    (labels0 (B, N) >= 0) and mean -log P[unmatched] over unmatchable points (label -1)."""
    pos = labels0 >= 0
    gathered = out.core.gather(2, labels0.clamp_min(0)[..., None]).squeeze(-1)
    nll_pos = -(gathered * pos).sum() / pos.sum().clamp_min(1)
    neg0, neg1 = labels0 == -1, labels1 == -1
    total_neg = (out.unmatched0 * neg0).sum() + (out.unmatched1 * neg1).sum()
    nll_neg = -total_neg / (neg0.sum() + neg1.sum()).clamp_min(1)
    return nll_pos, nll_neg


def confidence_loss(outputs: list[LayerOutput], confidences: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """BCE of each layer's token confidence against "its match equals the last layer's"."""
    final0 = mutual_matches(outputs[-1].core.detach(), 0.0)[0]
    final1 = mutual_matches(outputs[-1].core.detach().transpose(1, 2), 0.0)[0]
    losses = []
    for out, (c0, c1) in zip(outputs[:-1], confidences, strict=True):
        same0 = (mutual_matches(out.core.detach(), 0.0)[0] == final0).float()
        same1 = (mutual_matches(out.core.detach().transpose(1, 2), 0.0)[0] == final1).float()
        losses.append(F.binary_cross_entropy(torch.cat([c0, c1], 1), torch.cat([same0, same1], 1)))
    return torch.stack(losses).mean() if losses else outputs[-1].core.new_zeros(())


def matcher_loss(
    outputs: list[LayerOutput], confidences: list[tuple[torch.Tensor, torch.Tensor]],
    labels0: torch.Tensor, labels1: torch.Tensor, confidence_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Total loss (layer-mean of (pos + neg) / 2, plus ``confidence_weight`` x confidence BCE)
    and its parts ("last_pos", "last_neg" of the final layer, "confidence")."""
    parts = [assignment_nll(out, labels0, labels1) for out in outputs]
    nll = torch.stack([(pos + neg) / 2 for pos, neg in parts]).mean()
    conf = confidence_loss(outputs, confidences)
    return {"loss": nll + confidence_weight * conf, "last_pos": parts[-1][0], "last_neg": parts[-1][1],
            "confidence": conf}
