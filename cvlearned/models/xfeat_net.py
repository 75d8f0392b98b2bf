"""The XFeat network (Potje et al., "XFeat: Accelerated Features for Lightweight Image
Matching", CVPR 2024), written from the paper's description.

    input     gray in [0, 1], instance-normalised (per image zero mean, unit variance)
    backbone  featherweight early layers: 4 and 8 channels at full and 1/2 resolution,
              24 at 1/4 (plus a 4x4 average-pool + 1x1 skip of the input), 64 at 1/8 and
              1/16, 128 → 64 at 1/32; the 1/16 and 1/32 maps are upsampled bilinearly and
              summed with the 1/8 map, then fused by two 3x3 and one 1x1 convolution
    descriptor 64 channels at 1/8, L2-normalised
    reliability 1x1 convolutions + sigmoid → (B, 1, H/8, W/8) in [0, 1]: how likely the
              cell's descriptor matches correctly
    keypoints  a separate branch on the raw input: each 8x8 cell's 64 pixels (pixel-unshuffle)
              through 1x1 convolutions → 65 logits (64 positions + dustbin), as SuperPoint's
              detector head, so the heatmap is ``heatmap_from_logits`` of
              :mod:`cvlearned.models.superpoint`

Every "basic layer" is a convolution without bias, batch norm and ReLU;
:meth:`XFeatNet.fuse_batchnorm` folds the batch norms into the convolutions for inference.
Input H and W must be multiples of 8 (the 1/16 and 1/32 maps may be odd-sized: they are
upsampled to the 1/8 map's size).
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["XFeatNet", "BasicLayer", "count_macs", "count_parameters", "instance_normalise"]

CELL = 8


class BasicLayer(nn.Sequential):
    """conv(k, stride, no bias) → BatchNorm → ReLU; after :meth:`fuse` conv(bias) → ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(cout, affine=False),
            nn.ReLU(inplace=True),
        )

    def fuse(self) -> nn.Sequential:
        """An equal-output (in eval mode) conv-with-bias + ReLU."""
        conv, bn = cast(nn.Conv2d, self[0]), cast(nn.BatchNorm2d, self[1])
        assert bn.running_var is not None and bn.running_mean is not None  # track_running_stats
        scale = 1.0 / torch.sqrt(bn.running_var + bn.eps)
        # torch annotates Conv2d's kernel_size / stride / padding attributes as tuple[int, ...]
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,  # type: ignore[arg-type]
                          padding=conv.padding, bias=True)  # type: ignore[arg-type]
        assert fused.bias is not None
        with torch.no_grad():
            fused.weight.copy_(conv.weight * scale[:, None, None, None])
            fused.bias.copy_(-bn.running_mean * scale)
        return nn.Sequential(fused, nn.ReLU(inplace=True))


def _fuse_all(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, BasicLayer):
            setattr(module, name, child.fuse())
        else:
            _fuse_all(child)


def instance_normalise(image: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per image and channel zero mean, unit (biased) variance: ``nn.InstanceNorm2d`` without
    affine parameters, written out so that the ONNX export accepts a dynamic channel axis."""
    mean = image.mean(dim=(2, 3), keepdim=True)
    centred = image - mean
    return centred / torch.sqrt(centred.square().mean(dim=(2, 3), keepdim=True) + eps)


class XFeatNet(nn.Module):
    """(B, 1, H, W) gray in [0, 1] → (keypoint logits (B, 65, H/8, W/8), descriptors
    (B, D, H/8, W/8) unit-norm along D, reliability (B, 1, H/8, W/8) in [0, 1])."""

    def __init__(self, descriptor_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        c = width
        self.descriptor_dim = descriptor_dim
        self.skip1 = nn.Sequential(nn.AvgPool2d(4, stride=4), nn.Conv2d(1, 24, 1))
        self.block1 = nn.Sequential(BasicLayer(1, 4), BasicLayer(4, 8, stride=2), BasicLayer(8, 8),
                                    BasicLayer(8, 24, stride=2))
        self.block2 = nn.Sequential(BasicLayer(24, 24), BasicLayer(24, 24))
        self.block3 = nn.Sequential(BasicLayer(24, c, stride=2), BasicLayer(c, c), BasicLayer(c, c, 1))
        self.block4 = nn.Sequential(BasicLayer(c, c, stride=2), BasicLayer(c, c), BasicLayer(c, c))
        self.block5 = nn.Sequential(BasicLayer(c, 2 * c, stride=2), BasicLayer(2 * c, 2 * c),
                                    BasicLayer(2 * c, 2 * c), BasicLayer(2 * c, c, 1))
        self.fusion = nn.Sequential(BasicLayer(c, c), BasicLayer(c, c), nn.Conv2d(c, descriptor_dim, 1))
        self.reliability_head = nn.Sequential(BasicLayer(descriptor_dim, c, 1), BasicLayer(c, c, 1),
                                              nn.Conv2d(c, 1, 1))
        self.keypoint_head = nn.Sequential(BasicLayer(CELL * CELL, c, 1), BasicLayer(c, c, 1), BasicLayer(c, c, 1),
                                           nn.Conv2d(c, CELL * CELL + 1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = instance_normalise(image)
        x2 = self.block2(self.block1(x) + self.skip1(x))
        x3 = self.block3(x2)
        x4 = self.block4(x3)
        x5 = self.block5(x4)
        size = x3.shape[-2:]
        x4 = F.interpolate(x4, size=size, mode="bilinear", align_corners=False)
        x5 = F.interpolate(x5, size=size, mode="bilinear", align_corners=False)
        raw = self.fusion(x3 + x4 + x5)
        reliability = torch.sigmoid(self.reliability_head(raw))
        logits = self.keypoint_head(F.pixel_unshuffle(x, CELL))
        return logits, F.normalize(raw, p=2.0, dim=1), reliability

    def fuse_batchnorm(self) -> XFeatNet:
        """Fold every batch norm into its convolution (inference only; call in eval mode); returns self."""
        _fuse_all(self)
        return self


def count_macs(net: nn.Module, height: int = 480, width: int = 640) -> int:
    """Multiply-accumulates of the convolutions in one forward pass of a (1, 1, height, width) image."""
    total = 0

    def count(module: nn.Conv2d, _inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * module.in_channels * kh * kw // module.groups

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net(torch.zeros(1, 1, height, width))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters of ``net``."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
