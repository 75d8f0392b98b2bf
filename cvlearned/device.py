"""Device selection for the PyTorch-based features."""

from __future__ import annotations

from typing import Any


def resolve_device(device: Any = "auto") -> Any:
    """``"auto"`` → CUDA when available, else CPU; anything else → ``torch.device(device)``.

    Raises:
        ValueError: CUDA was requested but is not available.
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return resolved
