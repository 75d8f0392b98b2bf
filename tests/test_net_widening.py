"""Function-preserving widening (superpoint-lite → superpoint) used to start the full preset."""

from __future__ import annotations

import pytest
import torch

from cvlearned.models.superpoint import build_net
from cvlearned.training.superpoint.net_widening import widen_state_dict


def _widened_pair(seed: int = 0):
    torch.manual_seed(seed)
    lite, full = build_net("superpoint-lite").eval(), build_net("superpoint").eval()
    full.load_state_dict(widen_state_dict(lite.state_dict(), full.state_dict()), strict=True)
    return lite, full


@pytest.mark.parametrize("seed", [0, 1])
def test_widened_net_computes_the_narrow_function(seed):
    lite, full = _widened_pair(seed)
    x = torch.rand(2, 1, 48, 64)
    with torch.no_grad():
        (logits_a, desc_a), (logits_b, desc_b) = lite(x), full(x)
    torch.testing.assert_close(logits_b, logits_a, rtol=0, atol=1e-5)
    torch.testing.assert_close(desc_b, desc_a, rtol=0, atol=1e-5)


def test_new_units_are_random_and_their_zero_outgoing_weights_get_gradients():
    lite, full = _widened_pair()
    c = lite.conv1a.out_channels
    assert full.conv1a.weight[c:].abs().sum() > 0  # new units keep their random incoming weights
    assert torch.count_nonzero(full.conv1b.weight[:c, c:]) == 0
    logits, desc = full(torch.rand(1, 1, 48, 64))
    (logits.square().mean() + desc.sum(dim=1).mean()).backward()
    assert full.conv1b.weight.grad[:c, c:].abs().sum() > 0


def test_layouts_that_do_not_fit_raise():
    lite, full = build_net("superpoint-lite").state_dict(), build_net("superpoint").state_dict()
    with pytest.raises(ValueError, match="conv1a.weight"):
        widen_state_dict(full, lite)  # wide into narrow
    with pytest.raises(ValueError, match="missing"):
        widen_state_dict({k: v for k, v in lite.items() if k != "convDb.bias"}, full)
