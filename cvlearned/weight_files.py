"""Shipped weight files: the manifest, sha256 verification and strict loading.

``weights/manifest.json`` (installed as ``cvlearned.weights`` package data) maps each file
name to its model, sha256, size in bytes, licence and model card. Nothing is ever
downloaded: a user who owns another checkpoint passes its path instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


class WeightsError(ValueError):
    """A weight file is missing, corrupt, or does not fit the model."""


@dataclass(frozen=True)
class WeightsEntry:
    """One manifest record."""

    file: str
    model: str
    sha256: str
    size: int
    licence: str
    model_card: str


def weights_dir() -> Path:
    """Folder of the shipped weights (the installed ``cvlearned.weights`` package)."""
    return Path(str(resources.files("cvlearned.weights")))


def load_manifest() -> dict[str, WeightsEntry]:
    """File name → :class:`WeightsEntry` for every shipped weight file."""
    raw = json.loads((weights_dir() / "manifest.json").read_text(encoding="utf-8"))
    return {name: WeightsEntry(file=name, **fields) for name, fields in raw["weights"].items()}


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, streamed in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike, sha256: str, size: int | None = None) -> Path:
    """Check that ``path`` exists and has the expected size and sha256.

    Raises:
        WeightsError: naming the file and the expected hash.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file {path} not found (expected sha256 {sha256})")
    if size is not None and path.stat().st_size != size:
        raise WeightsError(
            f"weight file {path} has {path.stat().st_size} bytes, expected {size} "
            f"(sha256 {sha256}); the file is truncated or not the shipped one"
        )
    actual = sha256_of(path)
    if actual != sha256:
        raise WeightsError(f"weight file {path} has sha256 {actual}, expected {sha256}; the file is corrupt or was replaced")
    return path


def shipped_weights(file: str) -> Path:
    """Path of a verified shipped weight file named in the manifest."""
    manifest = load_manifest()
    if file not in manifest:
        raise WeightsError(f"{file!r} is not in the weights manifest; shipped files: {sorted(manifest)}")
    entry = manifest[file]
    return verify_file(weights_dir() / file, entry.sha256, entry.size)


def load_state_dict(path: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """Load a checkpoint's tensors (``torch.load(weights_only=True)`` on the CPU).

    Accepts a plain state dict or a dict with a ``"state_dict"``/``"model"`` entry.
    """
    import torch

    path = Path(path)
    if sha256 is not None:
        verify_file(path, sha256)
    if not path.is_file():
        raise WeightsError(f"weight file {path} not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable files
        raise WeightsError(f"cannot read weight file {path}: {exc}") from exc
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict):
        raise WeightsError(f"weight file {path} does not contain a state dict")
    return checkpoint


def load_into(module: Any, state_dict: dict[str, Any], source: str | os.PathLike) -> None:
    """``module.load_state_dict(state_dict, strict=True)`` with an error naming the file."""
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"weights in {source} do not fit {type(module).__name__}: {exc}") from exc


def infer_preset(state_dict: dict[str, Any], presets: Any, build_net: Any) -> str | None:
    """The first of ``presets`` whose ``build_net(name)`` has exactly the keys and shapes of
    ``state_dict`` (None when none fits): a user's file selects its architecture."""
    for name in presets:
        expected = build_net(name).state_dict()
        if set(expected) == set(state_dict) and all(
            tuple(expected[k].shape) == tuple(state_dict[k].shape) for k in expected
        ):
            return name
    return None
