"""The convolutional spatial transformer of the Universal Correspondence Network.

UCN (Choy, Gwak, Savarese, Chandraker, NIPS 2016, Sec. 3.2) normalises each location's
neighbourhood before a convolution, like a per-location spatial transformer: a small
convolutional branch predicts one 2x2 transform ``A(p)`` per feature-map location ``p``;
the K x K neighbourhood of ``p`` is resampled under it, and a K x K convolution with
stride K combines the resampled patches (laid out side by side without overlap) back to
one output per location.

Geometry (feature-map units: location (i, j) sits at (x, y) = (j, i)): the patch entry
(a, b), a, b in 0..K-1, of location (i, j) samples the map bilinearly at

    (x, y) = (j, i) + A(i, j) @ (b - r, a - r),   r = (K - 1) / 2,

with zeros outside the map. K is odd (3 by default) so the neighbourhood is centred on
its location; at ``A = I`` the samples fall on integer positions and the module equals an
ordinary K x K convolution with padding r and the same weights (the ``transform=None``
ablation, which runs exactly that convolution).

Transform parametrisations (the branch's last 1x1 conv has zero weights and an identity
bias, so ``A = I`` everywhere at initialisation):

- ``"rotation_scale"`` (default): 3 numbers (u, v, z) per location; angle from
  (cos, sin) = (u, v) / ||(u, v)|| (measured from +x towards +y, i.e. clockwise on screen),
  scale ``2 ** tanh(z)`` in (1/2, 2); ``A = scale * [[cos, -sin], [sin, cos]]``.
- ``"affine"``: 4 numbers, ``A = [[a, b], [c, d]]`` unconstrained.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TRANSFORMS", "ConvSpatialTransformer", "neighbourhood_offsets", "params_to_matrices"]

TRANSFORMS = ("rotation_scale", "affine")
_N_PARAMS = {"rotation_scale": 3, "affine": 4}
_IDENTITY = {"rotation_scale": (1.0, 0.0, 0.0), "affine": (1.0, 0.0, 0.0, 1.0)}
#: locations laid out at once when autograd is off (bounds the (B, C, h*K, w*K) buffer)
_BAND_LOCATIONS = 1 << 15


def neighbourhood_offsets(kernel: int, device: torch.device | None = None) -> torch.Tensor:
    """(K, K, 2) offsets (dx, dy) of a centred K x K neighbourhood; entry (a, b) = (b - r, a - r)."""
    r = (kernel - 1) / 2.0
    steps = torch.arange(kernel, dtype=torch.float32, device=device) - r
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    return torch.stack([dx, dy], dim=-1)


class ConvSpatialTransformer(nn.Module):
    """(B, C, h, w) features → (B, out_channels, h, w), each location's neighbourhood
    resampled under its own predicted transform before a K x K convolution.

    Args:
        in_channels, out_channels: widths of the input and of the combining convolution.
        kernel: odd neighbourhood side K.
        transform: ``"rotation_scale"``, ``"affine"``, or None (no transformer: a plain
            K x K convolution with padding (K-1)/2, for the ablation).
        hidden: width of the transform branch (3x3 conv + BN + ReLU, then a 1x1 conv).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3,
                 transform: str | None = "rotation_scale", hidden: int = 16) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be a positive odd int, got {kernel}")
        if transform is not None and transform not in TRANSFORMS:
            raise ValueError(f"transform must be None or one of {list(TRANSFORMS)}, got {transform!r}")
        self.kernel = kernel
        self.transform = transform
        self.combine = nn.Conv2d(in_channels, out_channels, kernel, stride=kernel, bias=False)
        self.params: nn.Sequential | None = None
        if transform is not None:
            last = nn.Conv2d(hidden, _N_PARAMS[transform], 1)
            self.params = nn.Sequential(
                nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
                last,
            )
            self.reset_transform()

    def reset_transform(self) -> None:
        """Make the predicted transform the identity everywhere (zero weights, identity bias)."""
        if self.params is None:
            return
        assert self.transform is not None  # set together with params
        last = cast(nn.Conv2d, self.params[-1])
        assert last.bias is not None
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor(_IDENTITY[self.transform]))

    def transforms(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → (B, h, w, 2, 2) per-location matrices A (identity without a transformer)."""
        b, _, h, w = x.shape
        if self.params is None:
            return torch.eye(2, dtype=x.dtype, device=x.device).expand(b, h, w, 2, 2)
        assert self.transform is not None  # set together with params
        return params_to_matrices(self.params(x), self.transform)

    def layout(self, x: torch.Tensor, matrices: torch.Tensor, rows: tuple[int, int] | None = None) -> torch.Tensor:
        """Resample every K x K neighbourhood of (B, C, h, w) ``x`` under (B, h, w, 2, 2)
        ``matrices`` → (B, C, h*K, w*K), patch of (i, j) at rows i*K.., columns j*K..;
        ``rows=(r0, r1)`` lays out only locations i in [r0, r1) (B, C, (r1-r0)*K, w*K)."""
        b, _, h, w = x.shape
        r0, r1 = rows if rows is not None else (0, h)
        k = self.kernel
        offsets = neighbourhood_offsets(k, x.device).to(matrices.dtype)  # (K, K, 2)
        moved = torch.einsum("nhwij,abj->nhwabi", matrices[:, r0:r1], offsets)  # (B, r1-r0, w, K, K, 2)
        ys, xs = torch.meshgrid(
            torch.arange(r0, r1, dtype=moved.dtype, device=x.device),
            torch.arange(w, dtype=moved.dtype, device=x.device), indexing="ij",
        )
        px = moved[..., 0] + xs[None, :, :, None, None]
        py = moved[..., 1] + ys[None, :, :, None, None]
        # align_corners=False: map index x lies at (2x + 1) / w - 1 (also right for w == 1)
        grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], dim=-1)
        grid = grid.permute(0, 1, 3, 2, 4, 5).reshape(b, (r1 - r0) * k, w * k, 2)
        return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.params is None:
            return F.conv2d(x, self.combine.weight, self.combine.bias, padding=self.kernel // 2)
        matrices = self.transforms(x)
        h, w = x.shape[-2:]
        band = h if torch.is_grad_enabled() else max(1, _BAND_LOCATIONS // max(w, 1))
        if band >= h:
            return self.combine(self.layout(x, matrices))
        # without autograd, lay out bands of rows: same result, bounded memory on large images
        return torch.cat([self.combine(self.layout(x, matrices, (r, min(r + band, h)))) for r in range(0, h, band)],
                         dim=2)


def params_to_matrices(params: torch.Tensor, transform: str) -> torch.Tensor:
    """(B, P, h, w) branch outputs → (B, h, w, 2, 2) transforms (see the module docstring)."""
    p = params.permute(0, 2, 3, 1)
    if transform == "affine":
        return p.reshape(*p.shape[:3], 2, 2)
    if transform != "rotation_scale":
        raise ValueError(f"unknown transform {transform!r}")
    norm = torch.sqrt(p[..., 0] ** 2 + p[..., 1] ** 2).clamp_min(1e-6)
    cos, sin = p[..., 0] / norm, p[..., 1] / norm
    scale = torch.exp2(torch.tanh(p[..., 2]))
    rows = [torch.stack([cos, -sin], dim=-1), torch.stack([sin, cos], dim=-1)]
    return scale[..., None, None] * torch.stack(rows, dim=-2)
