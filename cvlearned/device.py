"""Device selection for the PyTorch-based features."""

from __future__ import annotations

from typing import Any

#: what ``device=`` accepts (the messages list them)
VALID_DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def resolve_device(device: Any = "auto") -> Any:
    """``"auto"``/None → CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
    ``"mps"`` (or such a ``torch.device``) → that ``torch.device``, checked to be available.

    Raises:
        ValueError: an unknown device name, or a device this machine does not have (the
            message lists the valid names).
        TypeError: ``device`` is neither a str nor a ``torch.device``.
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; valid devices: {list(VALID_DEVICES)}") from None
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; valid devices: {list(VALID_DEVICES)}")
    _check_available(resolved, device)
    return resolved


def _check_available(resolved: Any, requested: Any) -> None:
    """ValueError when the CUDA device (index) or MPS that ``resolved`` names is not present."""
    import torch

    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {requested!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device {requested!r} requested but only cuda:0..cuda:{count - 1} exist")
    elif resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {requested!r} requested but MPS is not available; use 'cpu' or 'auto'")
