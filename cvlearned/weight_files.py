"""Shipped weight files: the manifest, sha256 verification and strict loading.

``weights/manifest.json`` (installed as ``cvlearned.weights`` package data) is the one
source of truth about every shipped file: its model (registry name), family, one-line
summary, the recipe that reproduces it (``cvlearned/training/recipes/<recipe>.sh``), sha256,
size in bytes, licence and model card. The feature and matcher registries are built from
it. Nothing is ever downloaded: a user who owns another checkpoint passes its path instead.
"""

from __future__ import annotations

import hashlib
import io
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
    """One manifest record.

    ``family`` names the code that loads the file (``superpoint``, ``hardnet``, ``ucn``,
    ``xfeat``, ``orinet``, ``lightglue``); a matcher's record also names its network preset
    (``matcher_preset``) and the registered feature whose descriptors it matches (``feature``).
    """

    file: str
    model: str
    family: str
    summary: str
    recipe: str
    sha256: str
    size: int
    licence: str
    model_card: str
    matcher_preset: str | None = None
    feature: str | None = None


def weights_dir() -> Path:
    """Folder of the shipped weights (the installed ``cvlearned.weights`` package)."""
    return Path(str(resources.files("cvlearned.weights")))


def load_manifest() -> dict[str, WeightsEntry]:
    """File name → :class:`WeightsEntry` for every shipped weight file."""
    raw = json.loads((weights_dir() / "manifest.json").read_text(encoding="utf-8"))
    return {name: WeightsEntry(file=name, **fields) for name, fields in raw["weights"].items()}


def shipped_file(model: str) -> str:
    """Name of the shipped weight file of registry name ``model`` (e.g. ``"xfeat-lite"``).

    Raises:
        WeightsError: no file of ``model`` ships (the message lists the shipped models).
    """
    manifest = load_manifest()
    for name, entry in manifest.items():
        if entry.model == model:
            return name
    shipped = sorted(entry.model for entry in manifest.values())
    raise WeightsError(f"no weight file ships for model {model!r} (shipped: {', '.join(shipped)}); "
                       "pass the path of a checkpoint of your own")


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
    _verify_bytes(_read_weight_bytes(path, sha256), path, sha256, size)
    return path


def shipped_weights(file: str) -> Path:
    """Path of a verified shipped weight file named in the manifest."""
    entry = _manifest_entry(file)
    return verify_file(weights_dir() / file, entry.sha256, entry.size)


def load_state_dict(path: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """Load a checkpoint's tensors (``torch.load(weights_only=True)`` on the CPU).

    The file is read once and the bytes that were checked are the bytes loaded: against
    ``sha256`` when given, and a shipped file (in :func:`weights_dir`) always against its
    manifest hash and size. Accepts a plain state dict or a dict with a ``"state_dict"`` /
    ``"model"`` entry.

    Raises:
        WeightsError: missing, empty, text, truncated or corrupt file, a hash mismatch, or a
            floating-point tensor with NaN or infinite values.
    """
    path = Path(path)
    data = _read_weight_bytes(path, sha256)
    entry = _shipped_entry(path)
    if entry is not None:
        _verify_bytes(data, path, entry.sha256, entry.size)
    if sha256 is not None:
        _verify_bytes(data, path, sha256)
    state = _unwrap_state_dict(_torch_load(data, path), path)
    _check_finite(state, path)
    return state


def _manifest_entry(file: str) -> WeightsEntry:
    """The manifest record of ``file``; WeightsError listing the shipped files when it has none."""
    manifest = load_manifest()
    if file not in manifest:
        raise WeightsError(f"{file!r} is not in the weights manifest; shipped files: {sorted(manifest)}")
    return manifest[file]


def _shipped_entry(path: Path) -> WeightsEntry | None:
    """The manifest entry of ``path`` when it is a shipped file, else None."""
    if path.resolve().parent != weights_dir().resolve():
        return None
    return load_manifest().get(path.name)


def _read_weight_bytes(path: Path, sha256: str | None = None) -> bytes:
    """The whole file (weight files are a few MB); WeightsError when it is missing or unreadable."""
    expected = f" (expected sha256 {sha256})" if sha256 else ""
    if not path.is_file():
        raise WeightsError(f"weight file {path} not found{expected}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read weight file {path}: {exc}") from exc


def _verify_bytes(data: bytes, path: Path, sha256: str, size: int | None = None) -> None:
    """WeightsError unless ``data`` (read from ``path``) has ``size`` bytes and this sha256."""
    if size is not None and len(data) != size:
        raise WeightsError(
            f"weight file {path} has {len(data)} bytes, expected {size} "
            f"(sha256 {sha256}); the file is truncated or not the shipped one"
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise WeightsError(f"weight file {path} has sha256 {actual}, expected {sha256}; "
                           "the file is corrupt or was replaced")


def _torch_load(data: bytes, path: Path) -> Any:
    """``torch.load(weights_only=True)`` of ``data``; WeightsError saying what the file is instead."""
    import torch

    if not data:
        raise WeightsError(f"weight file {path} is empty (0 bytes); expected a checkpoint written by torch.save")
    if _looks_like_text(data):
        head = data[:40].decode("utf-8", "replace")
        lfs = "; it is a Git LFS pointer: run `git lfs pull`" if data.startswith(b"version https://git-lfs") else ""
        raise WeightsError(f"weight file {path} is a text file (starts with {head!r}), not a checkpoint written by "
                           f"torch.save{lfs}")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable files
        raise WeightsError(f"cannot read weight file {path} ({len(data)} bytes; truncated, corrupt or not written "
                           f"by torch.save, or it holds objects other than tensors): {exc}") from exc


def _looks_like_text(data: bytes) -> bool:
    """True when the first 4 KiB are printable UTF-8 (a checkpoint is a zip or a binary pickle)."""
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\n\r" for ch in text)


def _unwrap_state_dict(checkpoint: Any, path: Path) -> dict[str, Any]:
    """The state dict itself, also from a ``{"state_dict": ...}`` or ``{"model": ...}`` checkpoint."""
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict):
        raise WeightsError(f"weight file {path} does not contain a state dict")
    return checkpoint


def _check_finite(state: dict[str, Any], path: Path) -> None:
    """WeightsError naming the first floating-point tensor with NaN or infinite values."""
    import torch

    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise WeightsError(f"weight file {path}: tensor {name!r} has {bad} NaN or infinite values")


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
