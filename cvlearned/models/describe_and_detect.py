"""Keypoint selection on a dense descriptor map: D2-Net's describe-and-detect (Dusmanu et al.,
CVPR 2019) and a regular grid scored the same way.

D2-Net detects on the descriptor map itself. With ``y = max(raw, 0) / max(max(raw, 0))``
(the map before L2 normalisation, rectified — D2-Net's features are post-ReLU — and scaled
so that the image's largest activation is 1):

- **hard detection**: location p is a detection when, for its strongest channel
  ``k* = argmax_k y_k(p)``, ``y_k*(p) > 0`` is also a maximum of channel k* over the 3x3
  neighbourhood of p;
- **soft score** ``gamma(p) = max_k alpha_k(p) * beta_k(p)`` with

      alpha_k(p) = exp(y_k(p)) / sum_{q in 3x3(p)} exp(y_k(q))   (neighbours outside the map count as y = 0)
      beta_k(p)  = y_k(p) / max_t y_t(p)                         (0 where every channel is 0)

  D2-Net further divides gamma by its sum over the image; that sum depends on the image
  size, so the threshold here applies to gamma itself. A hard detection has
  ``beta_k* = 1`` and ``alpha_k* >= 1/9``, so its score lies in [1/9, e/(e+8) ~ 0.254]:
  thresholds below 1/9 keep every detection.

Positions are refined to sub-cell precision with a parabola through the three values of
channel k* along each axis (offset in [-0.5, 0.5] cells) and mapped to image pixels with
the cvlearned convention: map location (i, j) is pixel (j*s + (s-1)/2, i*s + (s-1)/2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cvlearned.models.heatmap import nms

__all__ = [
    "soft_detection_score", "hard_detections", "refine_offsets", "detect_keypoints", "grid_keypoints",
]


#: maps with more values than this are processed 16 channels at a time (bounded memory)
_WHOLE_MAP_VALUES = 1 << 24


def _channel_chunks(raw: torch.Tensor, chunk: int | None) -> list[tuple[int, torch.Tensor]]:
    """(start, channels_last chunk) pairs; the 3x3 stride-1 pools are many times faster on
    channels_last tensors on the CPU."""
    if chunk is None:
        chunk = raw.shape[1] if raw.numel() <= _WHOLE_MAP_VALUES else 16
    return [(start, raw[:, start : start + chunk].contiguous(memory_format=torch.channels_last))
            for start in range(0, raw.shape[1], chunk)]


def _inverse_peak(raw: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1): 1 / the sample's largest rectified activation (0 when there is none)."""
    peak = F.relu(raw.amax(dim=(1, 2, 3)))  # (flatten would copy a channels_last map)
    inverse = torch.where(peak > 0, 1.0 / peak.clamp_min(torch.finfo(raw.dtype).tiny), torch.zeros_like(peak))
    return inverse[:, None, None, None]


def soft_detection_score(raw: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """(B, D, h, w) raw map → (B, h, w) soft score gamma (differentiable; module docstring).

    Large maps are processed ``chunk`` channels at a time (a running maximum; None = all at
    once up to 2**24 values, else 16), which bounds the temporary memory; the result does
    not depend on ``chunk``.
    """
    b, _, h, w = raw.shape
    strongest = F.relu(raw.amax(dim=1, keepdim=True))  # per pixel, before the global scaling
    beta_scale = torch.where(strongest > 0, 1.0 / strongest.clamp_min(torch.finfo(raw.dtype).tiny),
                             torch.zeros_like(strongest))
    inverse_peak = _inverse_peak(raw)
    # neighbours outside the map contribute exp(0) = 1 each: 3 along an edge, 5 at a corner
    outside = 9.0 - 9.0 * F.avg_pool2d(raw.new_ones(1, 1, h, w), 3, stride=1, padding=1)
    score = None
    for _, part in _channel_chunks(raw, chunk):
        part = F.relu(part)
        e = torch.exp(part * inverse_peak)
        alpha = e / (9.0 * F.avg_pool2d(e, 3, stride=1, padding=1) + outside)
        best = (alpha * part * beta_scale).amax(dim=1)
        score = best if score is None else torch.maximum(score, best)
    assert score is not None  # a feature map has channels
    return score


def hard_detections(raw: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """(B, D, h, w) raw map → (B, h, w) bool: the strongest channel is positive and a 3x3 local max
    (``chunk`` as in :func:`soft_detection_score`)."""
    return _hard_detections(raw, chunk)[0]


def _hard_detections(raw: torch.Tensor, chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """→ ((B, h, w) detections, (B, h, w) strongest channel)."""
    strongest, channel = raw.max(dim=1, keepdim=True)
    at_channel = torch.empty_like(strongest)
    for start, part in _channel_chunks(raw, chunk):
        local_max = F.max_pool2d(part, 3, stride=1, padding=1)
        here = (channel >= start) & (channel < start + part.shape[1])
        picked = local_max.gather(1, (channel - start).clamp(0, part.shape[1] - 1))
        at_channel = torch.where(here, picked, at_channel)
    return ((strongest >= at_channel) & (strongest > 0))[:, 0], channel[:, 0]


def refine_offsets(raw: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, channel: torch.Tensor) -> torch.Tensor:
    """Sub-cell offsets (N, 2) (dx, dy) in [-0.5, 0.5] of (D, h, w) ``raw`` at locations (rows, cols).

    Along each axis the three values ``l, c, r`` of ``channel`` (N,) — the location's
    strongest channel — (rectified; 0 outside the map) give the parabola vertex
    ``0.5 * (l - r) / (l - 2c + r)``; 0 where the parabola does not open downwards.
    """
    h, w = raw.shape[1:]

    def at(dy: int, dx: int) -> torch.Tensor:
        r, c = rows + dy, cols + dx
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        values = F.relu(raw[channel, r.clamp(0, h - 1), c.clamp(0, w - 1)])
        return torch.where(inside, values, torch.zeros_like(values))

    centre = at(0, 0)
    offsets = []
    for before, after in ((at(0, -1), at(0, 1)), (at(-1, 0), at(1, 0))):
        curvature = before - 2 * centre + after
        safe = torch.where(curvature < 0, curvature, -torch.ones_like(curvature))
        vertex = torch.where(curvature < 0, 0.5 * (before - after) / safe, torch.zeros_like(curvature))
        offsets.append(vertex.clamp(-0.5, 0.5))
    return torch.stack(offsets, dim=-1)


def detect_keypoints(
    raw: torch.Tensor,
    stride: int,
    image_size: tuple[int, int],
    threshold: float,
    nms_radius: int,
    border: int,
    max_keypoints: int | None,
    allowed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """D2-Net keypoints of one (D, h, w) raw map → ((N, 2) float pixel (x, y), (N,) scores), strongest first.

    Args:
        stride: map stride s in pixels.
        image_size: (W, H) of the image the map was computed on (before padding).
        threshold: keep scores gamma > threshold.
        nms_radius: pixels; non-maximum suppression on the score grid with a radius of
            ``ceil(nms_radius / s)`` cells (0 = off).
        border: drop keypoints closer than this to the image border (pixels).
        allowed: optional (H, W) bool; keypoints whose rounded pixel is False are dropped
            (before the NMS, so they suppress nothing).
    """
    width, height = image_size
    detections, channel = _hard_detections(raw[None])
    rows, cols = detections[0].nonzero(as_tuple=True)
    offsets = refine_offsets(raw, rows, cols, channel[0, rows, cols])
    centre = (stride - 1) / 2.0
    px = (cols + offsets[:, 0]) * stride + centre
    py = (rows + offsets[:, 1]) * stride + centre
    low = max(border, 0)
    valid = (px >= low) & (px <= width - 1 - low) & (py >= low) & (py <= height - 1 - low)
    if allowed is not None:
        rx = px.round().long().clamp(0, width - 1)
        ry = py.round().long().clamp(0, height - 1)
        valid &= allowed.to(raw.device)[ry, rx]
    rows, cols, px, py = rows[valid], cols[valid], px[valid], py[valid]
    score = soft_detection_score(raw[None])[0]
    grid = torch.zeros_like(score)
    grid[rows, cols] = score[rows, cols]
    values = nms(grid[None], math.ceil(nms_radius / stride))[0][rows, cols]
    keep = values > threshold
    values, points = values[keep], torch.stack([px[keep], py[keep]], dim=1)
    order = torch.argsort(values, descending=True, stable=True)
    if max_keypoints is not None:
        order = order[:max_keypoints]
    return points[order], values[order]


def grid_keypoints(
    score: torch.Tensor,
    stride: int,
    image_size: tuple[int, int],
    step: int,
    border: int,
    max_keypoints: int | None,
    allowed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points every ``step`` px from pixel (s-1)/2 (so on cell centres when s divides ``step``),
    at least ``border`` px inside the image and ``allowed`` (H, W) there, scored by the (h, w)
    ``score`` of their nearest cell → ((N, 2) pixel (x, y), (N,) scores), strongest first."""
    width, height = image_size
    first = (stride - 1) / 2.0

    def axis(size: int) -> torch.Tensor:
        last = size - 1 - border
        count = math.floor((last - first) / step) + 1 if last >= first else 0
        values = first + step * torch.arange(max(count, 0), dtype=torch.float32)
        return values[values >= border]

    gy, gx = torch.meshgrid(axis(height), axis(width), indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    if allowed is not None and points.shape[0]:
        points = points[allowed.cpu()[points[:, 1].round().long(), points[:, 0].round().long()]]
    cells = ((points - first) / stride).round().long()
    values = score.cpu()[cells[:, 1].clamp(0, score.shape[0] - 1), cells[:, 0].clamp(0, score.shape[1] - 1)]
    order = torch.argsort(values, descending=True, stable=True)
    if max_keypoints is not None:
        order = order[:max_keypoints]
    return points[order], values[order]
