"""What every network-backed feature (HardNet, SuperPoint, UCN) shares: its presets'
display names, the network, ``empty`` and moving it between devices."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from cvlearned.device import resolve_device
from cvlearned.feature2d import Feature2D
from cvlearned.weight_files import load_state_dict, shipped_file, shipped_weights

__all__ = ["NetworkFeature", "memory_format_for", "same_size_batches", "BATCH_PIXELS"]


class NetworkFeature(Feature2D):
    """A :class:`Feature2D` computed by one torch network.

    Subclasses set ``presets`` (name -> preset with ``display_name``) and ``default_preset``
    (used while ``config.preset`` is None); their ``_configure`` sets ``self._lock``,
    ``self._device`` and ``self._net`` and marks ``self._loaded = True``. Override
    :meth:`_place` when more than ``self._net`` moves with the device.
    """

    presets: ClassVar[dict[str, Any]] = {}
    default_preset: ClassVar[str] = ""

    # set by the subclasses (their config has preset, weights and device; _configure sets the rest)
    config: Any
    _lock: Any  # threading.RLock
    _device: torch.device
    _net: Any  # torch.nn.Module

    def getDefaultName(self) -> str:  # noqa: N802
        return f"Feature2D.{self.presets[self.config.preset or self.default_preset].display_name}"

    def descriptorSize(self) -> int:  # noqa: N802
        return int(self._net.descriptor_dim)

    def empty(self) -> bool:
        return not getattr(self, "_loaded", False)

    @property
    def net(self) -> Any:
        """The underlying ``torch.nn.Module`` (eval mode)."""
        return self._net

    def to(self, device: Any) -> NetworkFeature:
        """Move the network(s) to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ...); returns self."""
        resolved = resolve_device(device)
        with self._lock:
            self._place(resolved)
            self._device = resolved
            self.config = dataclasses.replace(self.config, device=str(device))
        return self

    def _load_weights(self, infer_preset: Callable[[dict[str, Any]], str | None] = lambda state: None,
                      ) -> tuple[str, dict[str, Any], Any]:
        """(preset, state dict, source) for ``config.weights``: None = the verified shipped file
        of ``config.preset`` (``default_preset`` when None); a path = that file, whose preset is
        ``config.preset``, else ``infer_preset(state)``, else ``default_preset``."""
        cfg = self.config
        if cfg.weights is None:
            preset = cfg.preset or self.default_preset
            source: Any = shipped_weights(shipped_file(preset))
            return preset, load_state_dict(source), source
        state = load_state_dict(cfg.weights)
        return cfg.preset or infer_preset(state) or self.default_preset, state, cfg.weights

    def _place(self, device: Any) -> None:
        """Move the network to ``device``, channels_last on the CPU (:func:`memory_format_for`)."""
        self._net = self._net.to(device).to(memory_format=memory_format_for(device))


def memory_format_for(device: Any) -> torch.memory_format:
    """``torch.channels_last`` on the CPU, where oneDNN's convolutions run it 1.4-1.8x faster
    (UCN, SuperPoint: benchmarks/results/profile-stages-2026-12-02.md), else contiguous."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


#: at most this many pixels go through a network in one batch of the list form of
#: ``detectAndCompute`` (6 images of 640x480): the activations of superpoint's full-width
#: encoder stay near the 2.4 GB of one 2-megapixel strip (superpoint.STRIP_PIXELS)
BATCH_PIXELS = 1 << 21


def same_size_batches(grays: Sequence[np.ndarray], max_pixels: int = BATCH_PIXELS) -> list[list[int]]:
    """Indices of ``grays`` grouped by (H, W) in order of first appearance, each group cut
    into batches of at most ``max_pixels`` pixels (at least one image each)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, gray in enumerate(grays):
        groups.setdefault(gray.shape, []).append(index)
    batches = []
    for shape, indices in groups.items():
        per_batch = max(1, max_pixels // max(1, int(np.prod(shape))))
        batches += [indices[i:i + per_batch] for i in range(0, len(indices), per_batch)]
    return batches
