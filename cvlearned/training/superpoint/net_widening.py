"""Function-preserving widening of a trained plain conv net into a wider one of the same layout.

Used to start the full-width ``superpoint`` preset from the trained ``superpoint-lite``
(same layer names, every layer at most as wide). For each conv weight (C_out, C_in, k, k)
the narrow weights fill the leading block; inputs that only the wide net has feed the
narrow net's outputs with zero weight, so those outputs (and hence the network's output,
whose channel counts match) are exactly the narrow net's. Outputs that only the wide net
has keep the wide net's random initialisation, which breaks the symmetry between them;
their zero outgoing weights receive gradients from the first step on, so the extra units
start learning at once (in the spirit of Net2WiderNet, Chen et al. 2016).
"""

from __future__ import annotations

from typing import Mapping

import torch

__all__ = ["widen_state_dict"]


def widen_state_dict(narrow: Mapping[str, torch.Tensor], wide: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Embed ``narrow`` into a copy of ``wide`` (freshly initialised) → a state dict for the wide net.

    Both must have the same keys; each narrow tensor no larger than its wide one in every
    dimension. Conv weights are (C_out, C_in, kh, kw) with equal kernel sizes; biases (C_out,).
    """
    if set(narrow) != set(wide):
        missing, extra = sorted(set(wide) - set(narrow)), sorted(set(narrow) - set(wide))
        raise ValueError(f"layouts differ: missing {missing}, unexpected {extra}")
    out: dict[str, torch.Tensor] = {}
    for key, big in wide.items():
        small = narrow[key]
        if small.dim() != big.dim() or any(s > b for s, b in zip(small.shape, big.shape)) or (
            small.dim() == 4 and small.shape[2:] != big.shape[2:]
        ):
            raise ValueError(f"{key}: {tuple(small.shape)} does not fit into {tuple(big.shape)}")
        new = big.detach().clone()
        block = tuple(slice(0, s) for s in small.shape)
        new[block] = small.to(new.dtype)
        if new.dim() == 4:
            new[: small.shape[0], small.shape[1]:] = 0.0  # new inputs must not reach the old outputs
        out[key] = new
    return out
