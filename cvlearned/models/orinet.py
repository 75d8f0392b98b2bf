"""OriNet: a small CNN that predicts a patch's dominant orientation (LIFT's orientation
estimator, Yi et al., ECCV 2016; Yi et al., CVPR 2016).

Input: (N, 1, 32, 32) *upright* gray patches (any intensity scale), i.e. patches sampled
with ``KeyPoint.angle = -1`` at the support the descriptor uses (``patch_scale * size``, see
:mod:`cvlearned.patches`). Output: (N, 2) unit vectors ``(cos a, sin a)``.

Conventions:

* ``a`` is an OpenCV keypoint angle: degrees, measured in image coordinates with y
  pointing down, i.e. *clockwise as seen on screen* (:func:`vectors_to_angles` gives
  ``[0, 360)``). Describing the keypoint with ``KeyPoint.angle = a`` samples the patch whose
  x-axis follows the image direction ``(cos a, sin a)``, the same frame as SIFT's angle.
* Equivariance (what training asks for): if the image content is rotated so that every
  image direction ``d`` becomes ``R(phi) d`` (``phi`` in the same clockwise-on-screen
  convention; ``cv2.getRotationMatrix2D(c, alpha, 1)`` has ``phi = -alpha``), the predicted
  angle becomes ``a + phi``.
* Only a disc is seen: the patch is standardised (mean / std) over the inscribed disc of
  radius 16 px (soft 1-px edge) and multiplied by it, so the corners, which a rotation
  moves in and out of the patch, do not influence the prediction.

Architecture (34,738 parameters): four 3x3 conv + BatchNorm + ReLU blocks (16 ch; 32 ch
stride 2; 32 ch stride 2; 64 ch stride 2 → 4x4) and a 4x4 conv to 2 channels, L2-normalised.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "PATCH_SIZE",
    "OriNet",
    "FusedOriNet",
    "disc_mask",
    "vectors_to_angles",
    "angles_to_vectors",
    "rotate_patches",
    "angular_difference",
    "centre_crop",
]

PATCH_SIZE = 32


def disc_mask(size: int = PATCH_SIZE, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(size, size) weights: 1 inside the inscribed disc (radius ``size/2``), linear 1-px edge."""
    c = (size - 1) / 2.0
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                            indexing="ij")
    r = torch.sqrt((xx - c) ** 2 + (yy - c) ** 2)
    return torch.clamp(size / 2.0 - r, 0.0, 1.0).to(dtype)


def _standardise(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Standardise each patch over the disc ``mask`` (weighted mean / std, eps 1e-6) and mask it."""
    m = mask.to(x.dtype)
    total = m.sum()
    mean = (x * m).sum(dim=(2, 3), keepdim=True) / total
    var = (((x - mean) ** 2) * m).sum(dim=(2, 3), keepdim=True) / total
    return (x - mean) / (torch.sqrt(var) + 1e-6) * m


class OriNet(nn.Module):
    """(N, 1, 32, 32) upright patches → (N, 2) unit orientation vectors ``(cos a, sin a)``."""

    mask: torch.Tensor  # (1, 1, 32, 32) disc weights, a buffer registered in __init__

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 32, 64)) -> None:
        super().__init__()
        strides = (1, 2, 2, 2)
        layers: list[nn.Module] = []
        cin = 1
        for cout, stride in zip(widths, strides):
            layers += [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(cin, 2, PATCH_SIZE // 8, bias=True)
        self.register_buffer("mask", disc_mask(PATCH_SIZE)[None, None], persistent=False)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise each patch over the disc (weighted mean / std, eps 1e-6) and mask it."""
        return _standardise(x, self.mask)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if patches.shape[-2:] != (PATCH_SIZE, PATCH_SIZE):
            raise ValueError(f"OriNet expects (N, 1, {PATCH_SIZE}, {PATCH_SIZE}) patches, got {tuple(patches.shape)}")
        x = self.head(self.features(self.standardise(patches.float())))
        return F.normalize(x.reshape(x.shape[0], 2), p=2.0, dim=1, eps=1e-8)

    def predict_angles(self, patches: torch.Tensor | np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N, 1, 32, 32) upright patches → (N,) float64 OpenCV angles in [0, 360) (eval mode)."""
        x = torch.as_tensor(patches).float().reshape(-1, 1, PATCH_SIZE, PATCH_SIZE)
        out = []
        with torch.inference_mode():
            for s in range(0, x.shape[0], batch_size):
                out.append(self(x[s : s + batch_size]).double().numpy())
        vec = np.concatenate(out) if out else np.zeros((0, 2))
        return vectors_to_angles(vec)


class FusedOriNet(nn.Module):
    """Inference copy of an :class:`OriNet` with every BatchNorm folded into its conv.

    Eval-mode BN is ``gamma (x - mean) / sqrt(var + eps) + beta``, so each conv + BN pair
    becomes one conv with bias; same outputs (to float rounding); channels_last on the CPU.
    """

    mask: torch.Tensor  # as OriNet's

    def __init__(self, net: OriNet) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        modules = list(net.features)
        for i, m in enumerate(modules):
            if isinstance(m, nn.Conv2d):
                bn = modules[i + 1]
                assert isinstance(bn, nn.BatchNorm2d)
                assert bn.running_var is not None and bn.running_mean is not None  # track_running_stats
                scale = bn.weight.detach().float() * torch.rsqrt(bn.running_var.detach().float() + bn.eps)
                # torch annotates Conv2d's kernel_size / stride / padding attributes as tuple[int, ...]
                conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,  # type: ignore[arg-type]
                                 bias=True)
                assert conv.bias is not None
                with torch.no_grad():
                    conv.weight.copy_(m.weight.detach().float() * scale.reshape(-1, 1, 1, 1))
                    conv.bias.copy_(bn.bias.detach().float() - bn.running_mean.detach().float() * scale)
                layers.append(conv)
            elif isinstance(m, nn.ReLU):
                layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers).eval()
        self.head = nn.Conv2d(net.head.in_channels, 2, net.head.kernel_size, bias=True)  # type: ignore[arg-type]
        self.head.load_state_dict(net.head.state_dict())
        self.register_buffer("mask", disc_mask(PATCH_SIZE)[None, None], persistent=False)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return _standardise(x, self.mask)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.standardise(patches.float())
        if x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.head(self.features(x))
        return F.normalize(x.reshape(x.shape[0], 2), p=2.0, dim=1, eps=1e-8)


def vectors_to_angles(vec: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, 2) ``(cos, sin)`` → (N,) float64 degrees in [0, 360)."""
    v = vec.detach().cpu().double().numpy() if isinstance(vec, torch.Tensor) else np.asarray(vec, np.float64)
    a = np.mod(np.rad2deg(np.arctan2(v[:, 1], v[:, 0])), 360.0)
    return np.where(a >= 360.0, 0.0, a)


def angles_to_vectors(angles_deg: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N,) degrees → (N, 2) float32 ``(cos, sin)``."""
    a = torch.deg2rad(torch.as_tensor(angles_deg, dtype=torch.float64))
    return torch.stack([torch.cos(a), torch.sin(a)], dim=1).float()


def angular_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed ``a - b`` in degrees, wrapped to [-180, 180)."""
    return np.mod(np.asarray(a, np.float64) - np.asarray(b, np.float64) + 180.0, 360.0) - 180.0


def rotate_patches(big: torch.Tensor, vec: torch.Tensor, out_size: int = PATCH_SIZE) -> torch.Tensor:
    """Differentiable re-sampling of rotated patches from larger upright patches.

    ``big``: (N, 1, Q, Q) upright patches with the same pixel step as the output, centred on
    the keypoint; ``vec``: (N, 2) ``(cos a, sin a)`` (normalised here). Output pixel ``(u, v)``
    samples ``big`` at ``M + R(a) (u - m, v - m)`` (``m = (out_size-1)/2``, ``M = (Q-1)/2``,
    ``R(a) = [[cos, -sin], [sin, cos]]``), bilinear, zeros outside — the patch
    :func:`cvlearned.patches.extract_patches` gives for ``KeyPoint.angle = a``. ``Q`` must be
    at least ``out_size * sqrt(2) + 2`` for the rotated corners to stay inside ``big``.
    Gradients flow to ``vec`` (and ``big``).
    """
    n, _, q, q2 = big.shape
    if q != q2:
        raise ValueError(f"big patches must be square, got {tuple(big.shape)}")
    v = F.normalize(vec.to(big.dtype), p=2.0, dim=1, eps=1e-8)
    c, s = v[:, 0], v[:, 1]
    k = out_size / q
    zero = torch.zeros_like(c)
    theta = torch.stack([torch.stack([c * k, -s * k, zero], 1), torch.stack([s * k, c * k, zero], 1)], 1)
    grid = F.affine_grid(theta, [n, 1, out_size, out_size], align_corners=False)
    return F.grid_sample(big, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def centre_crop(big: torch.Tensor, size: int = PATCH_SIZE) -> torch.Tensor:
    """The central ``size`` x ``size`` crop of (N, C, Q, Q) patches (``Q - size`` even)."""
    q = big.shape[-1]
    if (q - size) % 2:
        raise ValueError(f"cannot centre a {size}-px crop in a {q}-px patch")
    o = (q - size) // 2
    return big[..., o : o + size, o : o + size]
