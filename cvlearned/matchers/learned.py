"""The learned matcher behind the matcher interface (imports torch).

``DMatch.distance`` is ``1 - confidence`` (the match probability), as in OpenCV 5.1's
``cv2.LightGlueMatcher``; matches are sorted by ``queryIdx``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from cvlearned.matchers.base import DescriptorMatcher, PairInfo
from cvlearned.matchers.config import PRESETS, LightGlueConfig, check_runtime_params, make_config
from cvlearned.matchers.lightglue import LightGlueNet, positional_inputs
from cvlearned.weight_files import WeightsError, load_state_dict

__all__ = ["LightGlueMatcher", "config_from_state_dict", "network_points"]


def config_from_state_dict(state: dict[str, Any], **params: Any) -> LightGlueConfig:
    """The :class:`LightGlueConfig` whose architecture has the shapes of ``state`` (+ ``params``).

    Raises:
        WeightsError: the tensors fit no preset.
    """
    try:
        width, descriptor_dim = state["input_proj.weight"].shape
        in_dim = state["encoding.proj.weight"].shape[1]
    except KeyError as exc:
        raise WeightsError(f"not a LightGlue matcher state dict (missing {exc.args[0]})") from exc
    depth = len({k.split(".")[1] for k in state if k.startswith("self_blocks.")})
    preset = next((n for n, p in PRESETS.items() if (p.width, p.depth) == (width, depth)), None)
    if preset is None:
        raise WeightsError(f"no preset has width {width} and depth {depth}; presets: {PRESETS}")
    return make_config({"preset": preset, "descriptor_dim": int(descriptor_dim), "scale_orientation": in_dim == 4,
                        **params})


def network_points(pair: PairInfo, side: int, scale_orientation: bool) -> torch.Tensor:
    """(1, N, 2|4) network keypoint inputs of image ``side`` of ``pair``.

    Raises:
        ValueError: the model encodes size and orientation but only points were given.
    """
    points, size = getattr(pair, f"points{side}"), getattr(pair, f"size{side}")
    scale, angle = getattr(pair, f"scale{side}"), getattr(pair, f"angle{side}")
    if scale_orientation and scale is None:
        raise ValueError("this matcher encodes keypoint size and orientation: pass cv2.KeyPoint s, not (N, 2) points")
    xy = torch.from_numpy(points).float()[None]
    wh = None if size is None else torch.tensor([size], dtype=torch.float32)
    if not scale_orientation:
        return positional_inputs(xy, wh)
    return positional_inputs(xy, wh, torch.from_numpy(scale).float()[None], torch.from_numpy(angle).float()[None])


class LightGlueMatcher(DescriptorMatcher):
    """A :class:`~cvlearned.matchers.lightglue.LightGlueNet` matching one feature's descriptors.

    Args:
        net: the network (its ``config`` sets thresholds, early stopping and pruning).
        features: name of the registered feature whose descriptors it was trained on.
        name: registered matcher name.
    """

    needs_pair_info = True

    def __init__(self, net: LightGlueNet, features: str, name: str = "") -> None:
        super().__init__()
        self.net = net.eval()
        self.features = features
        self.name = name or f"{net.config.preset}-{features}"

    @property
    def config(self) -> LightGlueConfig:
        return self.net.config

    def _match(self, desc0: np.ndarray, desc1: np.ndarray, pair: PairInfo | None) -> tuple[np.ndarray, np.ndarray]:
        dim = self.config.descriptor_dim
        if desc0.dtype == np.uint8 or not np.issubdtype(desc0.dtype, np.floating):
            raise TypeError(f"{self.name} matches float descriptors of {self.features!r}, got {desc0.dtype}")
        if desc0.shape[1] != dim:
            raise ValueError(
                f"{self.name} was trained on {dim}-d {self.features!r} descriptors, got {desc0.shape[1]}-d ones"
            )
        if not (np.isfinite(desc0).all() and np.isfinite(desc1).all()):
            raise ValueError(f"{self.name}: descriptors must be finite (got NaN or inf)")
        assert pair is not None  # checked by DescriptorMatcher.match
        so = self.config.scale_orientation
        d0 = torch.from_numpy(np.ascontiguousarray(desc0, np.float32))[None]
        d1 = torch.from_numpy(np.ascontiguousarray(desc1, np.float32))[None]
        matches0, scores0, _ = self.net.match_adaptive(network_points(pair, 0, so), d0, network_points(pair, 1, so), d1)
        query = torch.nonzero(matches0[0] >= 0)[:, 0]
        pairs = torch.stack([query, matches0[0, query]], 1).numpy()
        return pairs, 1.0 - scores0[0, query].double().numpy()

    def __repr__(self) -> str:
        return f"LightGlueMatcher(name={self.name!r}, features={self.features!r}, config={self.config})"


def load_matcher(
    features: str, weights: str | os.PathLike, name: str = "", sha256: str | None = None, **params: Any
) -> LightGlueMatcher:
    """A :class:`LightGlueMatcher` with the state dict in ``weights`` (architecture inferred
    from its shapes; ``params`` are :data:`~cvlearned.matchers.config.RUNTIME_FIELDS`)."""
    check_runtime_params(params)
    state = load_state_dict(weights, sha256)
    net = LightGlueNet(config_from_state_dict(state, **params))
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return LightGlueMatcher(net, features, name)
