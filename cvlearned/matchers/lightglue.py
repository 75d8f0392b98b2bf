"""LightGlue-style attention matcher (Lindenberger, Lin, Pollefeys, ICCV 2023), written here.

Tokens are the L2-normalised descriptors projected to ``width``; their positions enter every
self-attention layer as a rotary encoding of learned Fourier features of the normalised
keypoints ((x, y) in [-1, 1]; plus log size and orientation when ``scale_orientation``).
Each of ``depth`` layers is self-attention in both images then bidirectional
cross-attention (one shared query/key projection). A layer's assignment head scores all
pairs with a similarity matrix S and every point with a matchability logit z:

    log P[i, j] = log_softmax_j(S)[i, j] + log_softmax_i(S)[i, j] + log σ(z0_i) + log σ(z1_j)
    log P[i, unmatched] = log σ(-z0_i),   log P[unmatched, j] = log σ(-z1_j)

Matches are mutual arg-maxima of P above ``filter_threshold`` (score = P[i, j]).

Adaptive inference (eager PyTorch, one pair at a time): after each layer but the last a
small classifier predicts per point whether its prediction is final; when at least
``depth_confidence`` of the points are confident (threshold 0.8 + 0.1 exp(-4 l / L) at
layer l) the network stops early, and points that are confident and unmatchable
(σ(z) < 1 - ``width_confidence``) are pruned from the following layers. The ONNX graph
(:mod:`cvlearned.adapters.onnx_matcher`) always runs every layer on every point.

Shapes: ``kpts`` (B, N, 2|4) normalised, ``desc`` (B, N, D) float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from cvlearned.matchers.config import LightGlueConfig

__all__ = ["LightGlueNet", "LayerOutput", "confidence_threshold", "mutual_matches", "positional_inputs"]


def positional_inputs(
    xy: torch.Tensor, size: torch.Tensor | None, scale: torch.Tensor | None = None, angle: torch.Tensor | None = None
) -> torch.Tensor:
    """Network keypoint inputs: (B, N, 2) pixel (x, y) → x / w * 2 - 1, y / h * 2 - 1 (OpenCV's
    LG_ALIKED mapping; ``size`` (B, 2) (w, h), None for points already normalised); with
    (B, N) ``scale`` (KeyPoint.size) and ``angle`` (degrees) also log(size) and radians → (B, N, 4)."""
    norm = xy if size is None else xy / size[:, None, :].to(xy) * 2 - 1
    if scale is None:
        return norm
    assert angle is not None, "scale and angle come together"
    return torch.cat([norm, torch.log(scale.clamp_min(1e-3))[..., None], torch.deg2rad(angle)[..., None]], -1)


def confidence_threshold(layer: int, depth: int) -> float:
    """Token confidence a point needs after ``layer`` (0-based) to count as settled."""
    return 0.8 + 0.1 * math.exp(-4.0 * layer / depth)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    return torch.stack((-x2, x1), -1).flatten(-2)


def _rotary(t: torch.Tensor, enc: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, N, d) ``t`` by the (2, B, 1, N, d) cos/sin encoding ``enc``."""
    return t * enc[0] + _rotate_half(t) * enc[1]


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention of (B, H, N, d) queries over (B, H, M, d) keys/values."""
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
    return weights @ v


class FourierEncoding(nn.Module):
    """Learned Fourier features of keypoint inputs → (2, B, 1, N, head_dim) cos/sin pairs."""

    def __init__(self, in_dim: int, head_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, head_dim // 2, bias=False)
        nn.init.normal_(self.proj.weight, std=1.0)

    def forward(self, kpts: torch.Tensor) -> torch.Tensor:
        phase = self.proj(kpts)
        phase = torch.stack([phase, phase], -1).flatten(-2)
        return torch.stack([torch.cos(phase), torch.sin(phase)])[:, :, None]


class _Update(nn.Module):
    """x + MLP([x, message]): the residual update shared by self and cross layers."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(2 * width, 2 * width), nn.LayerNorm(2 * width), nn.GELU(), nn.Linear(2 * width, width)
        )

    def forward(self, x: torch.Tensor, message: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(torch.cat([x, message], -1))


class SelfBlock(nn.Module):
    """Multi-head self-attention with rotary positional encoding on queries and keys."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.update = _Update(width)

    def forward(self, x: torch.Tensor, enc: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).unflatten(-1, (self.heads, -1, 3)).transpose(1, 2).unbind(-1)
        message = _attend(_rotary(q, enc), _rotary(k, enc), v)
        return self.update(x, self.out(message.transpose(1, 2).flatten(-2)))


class CrossBlock(nn.Module):
    """Bidirectional cross-attention: one similarity matrix, softmax along each side."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qk = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.out = nn.Linear(width, width)
        self.update = _Update(width)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x.transpose(1, 2).flatten(-2))

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        qk0, qk1 = self._split(self.qk(x0)), self._split(self.qk(x1))
        v0, v1 = self._split(self.v(x0)), self._split(self.v(x1))
        sim = qk0 @ qk1.transpose(-1, -2) / math.sqrt(qk0.shape[-1])
        m0 = torch.softmax(sim, -1) @ v1
        m1 = torch.softmax(sim.transpose(-1, -2), -1) @ v0
        return self.update(x0, self._merge(m0)), self.update(x1, self._merge(m1))


@dataclass
class LayerOutput:
    """Log assignment of one layer: ``core`` (B, N, M) log P[i, j], ``unmatched0`` (B, N),
    ``unmatched1`` (B, M) log P of staying unmatched."""

    core: torch.Tensor
    unmatched0: torch.Tensor
    unmatched1: torch.Tensor


class Assignment(nn.Module):
    """Similarity + matchability → :class:`LayerOutput` (dual softmax with unmatched points)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.matchability = nn.Linear(width, 1)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> LayerOutput:
        scale = x0.shape[-1] ** -0.25
        sim = (self.proj(x0) * scale) @ (self.proj(x1) * scale).transpose(-1, -2)
        z0, z1 = self.matchability(x0), self.matchability(x1)
        core = F.log_softmax(sim, 2) + F.log_softmax(sim, 1) + F.logsigmoid(z0) + F.logsigmoid(z1).transpose(1, 2)
        return LayerOutput(core, F.logsigmoid(-z0).squeeze(-1), F.logsigmoid(-z1).squeeze(-1))


def mutual_matches(core: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, M) log assignment → matches0 (B, N) int64 index in image 1 or -1, scores0 (B, N)
    (P of the kept pairs, 0 elsewhere); mutual arg-maxima with P > ``threshold``."""
    best0, best1 = core.max(2), core.max(1)
    rows = torch.arange(core.shape[1], device=core.device)[None]
    mutual = best1.indices.gather(1, best0.indices) == rows
    scores = best0.values.exp()
    valid = mutual & (scores > threshold)
    return torch.where(valid, best0.indices, -1), torch.where(valid, scores, torch.zeros_like(scores))


class LightGlueNet(nn.Module):
    """The matcher network of :class:`~cvlearned.matchers.config.LightGlueConfig`."""

    def __init__(self, config: LightGlueConfig) -> None:
        super().__init__()
        self.config = config
        arch = config.architecture
        self.input_proj = nn.Linear(config.descriptor_dim, arch.width)
        self.encoding = FourierEncoding(4 if config.scale_orientation else 2, arch.width // arch.heads)
        self.self_blocks = nn.ModuleList(SelfBlock(arch.width, arch.heads) for _ in range(arch.depth))
        self.cross_blocks = nn.ModuleList(CrossBlock(arch.width, arch.heads) for _ in range(arch.depth))
        self.assignments = nn.ModuleList(Assignment(arch.width) for _ in range(arch.depth))
        self.confidences = nn.ModuleList(nn.Linear(arch.width, 1) for _ in range(arch.depth - 1))

    @property
    def depth(self) -> int:
        return len(self.self_blocks)

    def _layer(self, i: int, x0, x1, enc0, enc1) -> tuple[torch.Tensor, torch.Tensor]:
        x0, x1 = self.self_blocks[i](x0, enc0), self.self_blocks[i](x1, enc1)
        return self.cross_blocks[i](x0, x1)

    def _inputs(self, kpts0, desc0, kpts1, desc1):
        """Tokens of L2-normalised descriptors (any feature's scale) and positional encodings."""
        x0 = self.input_proj(desc0 / desc0.norm(dim=-1, keepdim=True).clamp_min(1e-6))
        x1 = self.input_proj(desc1 / desc1.norm(dim=-1, keepdim=True).clamp_min(1e-6))
        return x0, x1, self.encoding(kpts0), self.encoding(kpts1)

    def forward(self, kpts0, desc0, kpts1, desc1) -> tuple[list[LayerOutput], list[tuple[torch.Tensor, torch.Tensor]]]:
        """Every layer on every point (training): per-layer :class:`LayerOutput` s and, for all
        layers but the last, token confidences ((B, N), (B, M)) predicted from detached states."""
        x0, x1, enc0, enc1 = self._inputs(kpts0, desc0, kpts1, desc1)
        outputs, confidences = [], []
        for i in range(self.depth):
            x0, x1 = self._layer(i, x0, x1, enc0, enc1)
            outputs.append(self.assignments[i](x0, x1))
            if i < self.depth - 1:
                confidences.append((self._confidence(i, x0.detach()), self._confidence(i, x1.detach())))
        return outputs, confidences

    def _confidence(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.confidences[i](x)).squeeze(-1)

    def match_static(self, kpts0, desc0, kpts1, desc1) -> tuple[torch.Tensor, torch.Tensor]:
        """All layers, all points (the ONNX graph) → matches0 (B, N), scores0 (B, N)."""
        x0, x1, enc0, enc1 = self._inputs(kpts0, desc0, kpts1, desc1)
        for i in range(self.depth):
            x0, x1 = self._layer(i, x0, x1, enc0, enc1)
        return mutual_matches(self.assignments[-1](x0, x1).core, self.config.filter_threshold)

    @torch.inference_mode()
    def match_adaptive(self, kpts0, desc0, kpts1, desc1) -> tuple[torch.Tensor, torch.Tensor, int]:
        """One pair (B = 1) with early stopping and pruning → matches0 (1, N), scores0 (1, N),
        number of layers run. Equals :meth:`match_static` when both are disabled."""
        if desc0.shape[0] != 1:
            raise ValueError(f"match_adaptive takes one pair (batch 1), got a batch of {desc0.shape[0]}")
        cfg = self.config
        x0, x1, enc0, enc1 = self._inputs(kpts0, desc0, kpts1, desc1)
        keep0 = torch.arange(x0.shape[1])
        keep1 = torch.arange(x1.shape[1])
        for i in range(self.depth):
            x0, x1 = self._layer(i, x0, x1, enc0, enc1)
            if i == self.depth - 1:
                break
            c0, c1 = self._confidence(i, x0)[0], self._confidence(i, x1)[0]
            threshold = confidence_threshold(i, self.depth)
            if cfg.depth_confidence > 0:
                settled = torch.cat([c0, c1]) > threshold
                if float(settled.float().mean()) >= cfg.depth_confidence:
                    break
            if cfg.width_confidence > 0:  # never prune an image down to no point
                head = cast(Assignment, self.assignments[i]).matchability
                alive0 = (torch.sigmoid(head(x0))[0, :, 0] > 1 - cfg.width_confidence) | (c0 <= threshold)
                alive1 = (torch.sigmoid(head(x1))[0, :, 0] > 1 - cfg.width_confidence) | (c1 <= threshold)
                if bool(alive0.any()) and bool(alive1.any()):
                    x0, enc0, keep0 = x0[:, alive0], enc0[:, :, :, alive0], keep0[alive0]
                    x1, enc1, keep1 = x1[:, alive1], enc1[:, :, :, alive1], keep1[alive1]
        pruned_matches, pruned_scores = mutual_matches(self.assignments[i](x0, x1).core, cfg.filter_threshold)
        matches0 = torch.full((1, kpts0.shape[1]), -1, dtype=torch.int64)
        scores0 = torch.zeros((1, kpts0.shape[1]))
        hit = pruned_matches[0] >= 0
        matches0[0, keep0[hit]] = keep1[pruned_matches[0, hit]]
        scores0[0, keep0[hit]] = pruned_scores[0, hit]
        return matches0, scores0, i + 1
