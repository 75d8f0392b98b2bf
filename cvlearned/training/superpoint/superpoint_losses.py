"""SuperPoint's training losses (DeTone et al., 2018, Sec. 3.4).

* Detector: per 8x8 cell, a 65-way cross-entropy whose target is the position of the
  labelled keypoint inside the cell (0..63), or the dustbin (64) when the cell has none.
  Optionally (``joint.subpixel_targets``) the target is a distribution instead: each
  keypoint's unit mass split bilinearly over its four nearest pixels
  (:func:`soft_cell_targets`), so that a heatmap which matches it has its heat-weighted
  centroid, the keypoint refinement at inference, exactly at the sub-pixel label.
* Descriptor: a hinge loss over all pairs of descriptor cells of two views related by a
  homography H: cells whose centres correspond within ``radius`` pixels are positives,
  ``lambda_d * max(0, m_p - d·d')``; all others negatives, ``max(0, d·d' - m_n)``.
* Descriptor, alternative (``descriptor_loss: infonce``): every view-a cell whose centre
  maps into view b has one positive, the view-b cell containing the mapped centre; the
  loss is the dual-softmax cross-entropy of that pair among all view-b cells (row) and
  all view-a cells (column) at temperature tau. Measured against the hinge loss in
  weights/superpoint-lite-v7.md.
* Descriptor, sparse (:func:`sparse_descriptor_loss`, real SfM pairs): InfoNCE of the
  descriptors sampled at known correspondences against all far cells of image 1.
* Detector, optional (``consistency_weight``): a repeatability term in the spirit of
  R2D2's (Revaud et al., 2019), which compares a heatmap with the other view's warped
  one. Ours is the normalised squared difference ``sum (a - b~)^2 / sum (a^2 + b~^2)``
  over view-a pixels that map onto view-b content (b~: view b's full-resolution heatmap
  warped into view a), in [0, 1]: 0 when the peaks sit at the same scene points with
  the same heat, 1 when they never coincide. Unlike R2D2's windowed cosine it also
  counts a peak that has no partner at all in the other view. A uniform heatmap scores 0
  too, so the cross-entropy must stay beside it: at weight 3 the heatmap collapsed below
  the detection threshold (weights/superpoint-lite-v7.md); weight 1 is measured.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from cvlearned.models.heatmap import CELL, sample_descriptors
from cvlearned.training.common.contrastive_losses import correspondence_infonce_loss

__all__ = [
    "cell_labels", "soft_cell_targets", "valid_cells", "detector_loss", "cell_centres", "descriptor_loss",
    "infonce_descriptor_loss", "infonce_terms", "InfoNCETerms",
    "sparse_descriptor_loss", "warp_heatmap", "heatmap_consistency_loss",
]

DUSTBIN = CELL * CELL


def cell_labels(points: np.ndarray, height: int, width: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """(N, 2) keypoint positions (x, y) → (H/8, W/8) int64 targets in 0..64.

    Positions are rounded to the nearest pixel; when several keypoints fall in one cell,
    one is chosen at random (the first one when ``rng`` is None).
    """
    hc, wc = height // CELL, width // CELL
    labels = np.full((hc, wc), DUSTBIN, np.int64)
    pts = np.rint(np.asarray(points, np.float64).reshape(-1, 2)).astype(np.int64)
    keep = (pts[:, 0] >= 0) & (pts[:, 0] < wc * CELL) & (pts[:, 1] >= 0) & (pts[:, 1] < hc * CELL)
    pts = pts[keep]
    if rng is not None:
        pts = pts[rng.permutation(len(pts))]
    for x, y in pts[::-1]:  # the first point of a cell is written last and wins
        labels[y // CELL, x // CELL] = (y % CELL) * CELL + (x % CELL)
    return labels


def soft_cell_targets(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, 2) sub-pixel keypoints (x, y) → (65, H/8, W/8) float32 target distributions.

    Each point's unit mass goes bilinearly to its four nearest pixels (mass beyond the
    image is dropped); channel ``(y % 8) * 8 + x % 8`` of a cell holds a pixel's mass, as in
    :func:`cell_labels`. Where points crowd a cell its pixel masses are scaled to sum to 1;
    the dustbin (channel 64) gets the rest. Integer points, one per cell, give the one-hot
    form of :func:`cell_labels`.
    """
    hc, wc = height // CELL, width // CELL
    mass = np.zeros((hc * CELL, wc * CELL), np.float64)
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    x0, y0 = np.floor(pts[:, 0]), np.floor(pts[:, 1])
    fx, fy = pts[:, 0] - x0, pts[:, 1] - y0
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xs, ys = (x0 + dx).astype(np.int64), (y0 + dy).astype(np.int64)
        keep = (xs >= 0) & (xs < wc * CELL) & (ys >= 0) & (ys < hc * CELL)
        np.add.at(mass, (ys[keep], xs[keep]), weight[keep])
    cells = mass.reshape(hc, CELL, wc, CELL).transpose(1, 3, 0, 2).reshape(CELL * CELL, hc, wc)
    cells = cells / np.maximum(cells.sum(axis=0), 1.0)
    return np.concatenate([cells, 1.0 - cells.sum(axis=0, keepdims=True)]).astype(np.float32)


def valid_cells(valid_pixels: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool/0-1 valid pixels → (B, H/8, W/8) bool: cells that are entirely valid."""
    pooled = -F.max_pool2d(-valid_pixels.float()[:, None], CELL)[:, 0]
    return pooled > 0.5


def detector_loss(logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of (B, 65, Hc, Wc) logits over valid cells against (B, Hc, Wc) class
    targets (:func:`cell_labels`) or (B, 65, Hc, Wc) distributions (:func:`soft_cell_targets`)."""
    ce = F.cross_entropy(logits, labels, reduction="none")
    if valid is None:
        return ce.mean()
    weight = valid.float()
    return (ce * weight).sum() / weight.sum().clamp_min(1.0)


def cell_centres(hc: int, wc: int, device: torch.device | None = None) -> torch.Tensor:
    """(Hc*Wc, 2) pixel centres (x, y) of the descriptor cells, row-major."""
    ys, xs = torch.meshgrid(torch.arange(hc, device=device), torch.arange(wc, device=device), indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).float() * CELL + (CELL - 1) / 2.0


def _apply_h(H: torch.Tensor, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 3, 3) H and (N, 2) points → (..., N, 2) mapped points and (..., N) depths."""
    p = torch.cat([pts, torch.ones_like(pts[:, :1])], 1) @ H.transpose(-1, -2)
    return p[..., :2] / p[..., 2:3].clamp_min(1e-9), p[..., 2]


def _warped_centres(H: torch.Tensor, centres: torch.Tensor, hc: int, wc: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(Hc*Wc, 2) view-a cell centres → their view-b positions and whether they land in view b."""
    warped, depth = _apply_h(H.to(centres), centres)
    inside = (
        (depth > 0)
        & (warped[:, 0] >= -0.5) & (warped[:, 0] <= wc * CELL - 0.5)
        & (warped[:, 1] >= -0.5) & (warped[:, 1] <= hc * CELL - 0.5)
    )
    return warped, inside


def descriptor_loss(
    desc_a: torch.Tensor,
    desc_b: torch.Tensor,
    H: torch.Tensor,
    valid_b: torch.Tensor | None = None,
    radius: float = 8.0,
    pos_margin: float = 1.0,
    neg_margin: float = 0.2,
    lambda_d: float = 250.0,
) -> torch.Tensor:
    """Hinge loss between (D, Hc, Wc) descriptor maps of view a and view b, b = H(a).

    ``H`` (3, 3) maps view-a pixels to view-b pixels; ``valid_b`` (Hc, Wc) marks view-b
    cells with image content. Pairs whose a-cell maps outside view b or whose b-cell is
    invalid are ignored; the loss is the mean over the remaining pairs.
    """
    d, hc, wc = desc_a.shape
    centres = cell_centres(hc, wc, desc_a.device)
    warped, inside = _warped_centres(H, centres, hc, wc)
    positive = torch.cdist(warped, centres) <= radius
    dots = desc_a.reshape(d, -1).t() @ desc_b.reshape(d, -1)
    loss = lambda_d * positive * F.relu(pos_margin - dots) + (~positive) * F.relu(dots - neg_margin)
    weight = inside[:, None].float().expand_as(loss)
    if valid_b is not None:
        weight = weight * valid_b.reshape(1, -1).float()
    return (loss * weight).sum() / weight.sum().clamp_min(1.0)


def infonce_descriptor_loss(
    desc_a: torch.Tensor,
    desc_b: torch.Tensor,
    H: torch.Tensor,
    valid_b: torch.Tensor | None = None,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Dual-softmax InfoNCE between (D, Hc, Wc) descriptor maps of view a and b = H(a).

    The positive of view-a cell i is the view-b cell containing H(centre_i); pairs whose
    positive is outside view b or invalid (``valid_b`` (Hc, Wc)) are ignored, and invalid
    view-b cells are left out of the softmax. Returns the mean of the row and column
    cross-entropies over the positives (0 when there are none).
    """
    return infonce_terms(desc_a, desc_b, H, valid_b, temperature).loss


class InfoNCETerms(NamedTuple):
    """:func:`infonce_terms`: the loss, and per positive pair (Nq of them) its view-a and
    view-b cell (flat, row-major) and the probability the row and column softmax give it."""

    loss: torch.Tensor
    cells_a: torch.Tensor
    cells_b: torch.Tensor
    row_probability: torch.Tensor
    column_probability: torch.Tensor


def infonce_terms(
    desc_a: torch.Tensor, desc_b: torch.Tensor, H: torch.Tensor, valid_b: torch.Tensor | None = None,
    temperature: float = 0.1,
) -> InfoNCETerms:
    """:func:`infonce_descriptor_loss` with the positive pairs and their softmax probabilities
    (for a reliability target, as XFeat's)."""
    d, hc, wc = desc_a.shape
    centres = cell_centres(hc, wc, desc_a.device)
    warped, inside = _warped_centres(H, centres, hc, wc)
    cell = torch.floor((warped + 0.5) / CELL).long()
    cell[:, 0] = cell[:, 0].clamp(0, wc - 1)
    cell[:, 1] = cell[:, 1].clamp(0, hc - 1)
    target = cell[:, 1] * wc + cell[:, 0]
    keep_b = torch.ones(hc * wc, dtype=torch.bool, device=desc_a.device)
    if valid_b is not None:
        keep_b = valid_b.reshape(-1).bool()
    query = inside & keep_b[target]
    if not bool(query.any()):
        empty = torch.zeros(0, dtype=torch.long, device=desc_a.device)
        return InfoNCETerms(desc_a.sum() * 0.0, empty, empty, desc_a.new_zeros(0), desc_a.new_zeros(0))
    sim = desc_a.reshape(d, -1).t() @ desc_b.reshape(d, -1) / temperature  # (Na, Nb)
    rows = sim[query].masked_fill(~keep_b[None, :], float("-inf"))
    cells_a, cells_b = torch.nonzero(query)[:, 0], target[query]
    row_loss = F.cross_entropy(rows, cells_b, reduction="none")
    cols = sim[:, cells_b].t().masked_fill(~inside[None, :], float("-inf"))  # (Nq, Na)
    col_loss = F.cross_entropy(cols, cells_a, reduction="none")
    loss = 0.5 * (row_loss.mean() + col_loss.mean())
    return InfoNCETerms(loss, cells_a, cells_b, torch.exp(-row_loss.detach()), torch.exp(-col_loss.detach()))


def sparse_descriptor_loss(desc_0: torch.Tensor, desc_1: torch.Tensor, pts0: torch.Tensor, pts1: torch.Tensor,
                           radius: float, temperature: float = 0.1) -> torch.Tensor:
    """InfoNCE of sparse correspondences ``pts0`` <-> ``pts1`` (N, 2) pixels (x, y) between
    the (D, Hc, Wc) descriptor maps of two images.

    Descriptors are sampled bilinearly at both ends as at inference
    (:func:`~cvlearned.models.heatmap.sample_descriptors`); each point's positive competes
    with every image-1 cell whose centre is farther than ``radius`` px from ``pts1``
    (:func:`~cvlearned.training.common.contrastive_losses.correspondence_infonce_loss`). Mean over the
    points; 0 when N == 0.
    """
    d, hc, wc = desc_1.shape
    database = desc_1.reshape(d, -1).t()
    return correspondence_infonce_loss(sample_descriptors(desc_0, pts0), sample_descriptors(desc_1, pts1), database,
                                       cell_centres(hc, wc, desc_1.device), pts1, radius, temperature)


def warp_heatmap(heat_b: torch.Tensor, H: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, h, w) view-b maps and (B, 3, 3) H (view a → view b pixels) → view b resampled at
    H(p) for every view-a pixel p (bilinear, (B, h, w)) and where H(p) lies inside view b."""
    b, h, w = heat_b.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=heat_b.device), torch.arange(w, device=heat_b.device), indexing="ij")
    pix = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).to(heat_b.dtype)  # (h*w, 2)
    xy, depth = _apply_h(H.to(heat_b), pix)  # (B, h*w, 2), (B, h*w)
    inside = (depth > 0) & (xy[..., 0] >= 0) & (xy[..., 0] <= w - 1) & (xy[..., 1] >= 0) & (xy[..., 1] <= h - 1)
    grid = torch.stack([2 * xy[..., 0] / (w - 1) - 1, 2 * xy[..., 1] / (h - 1) - 1], -1).reshape(b, h, w, 2)
    warped = F.grid_sample(heat_b[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[:, 0]
    return warped, inside.reshape(b, h, w)


def heatmap_consistency_loss(
    heat_a: torch.Tensor,
    heat_b: torch.Tensor,
    H: torch.Tensor,
    valid_b: torch.Tensor | None = None,
) -> torch.Tensor:
    """Normalised squared difference of (B, h, w) heatmaps of view a and view b = H(a).

    ``H`` (B, 3, 3) maps view-a pixels to view-b pixels; ``valid_b`` (B, h, w) marks view-b
    pixels with image content. Over view-a pixels that map onto view-b content, returns
    ``sum (a - b~)^2 / sum (a^2 + b~^2)`` in [0, 1] (b~: view b resampled at H(p)); 0 when
    no heat falls there.
    """
    warped, inside = warp_heatmap(heat_b, H)
    if valid_b is not None:
        valid_warped, _ = warp_heatmap(valid_b.to(heat_b.dtype), H)
        inside = inside & (valid_warped > 0.999)
    a, b = heat_a[inside], warped[inside]
    return ((a - b) ** 2).sum() / (a**2 + b**2).sum().clamp_min(1e-12)
