"""YAML → frozen training-config dataclasses, one loader for every trainer.

A YAML mapping overrides only the keys it names, at any depth: nested mappings update
the nested dataclass of the defaults; YAML lists become tuples; an unknown key raises
ValueError naming where it is and the valid keys.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

__all__ = ["replace_from_mapping", "load_yaml_config"]

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")


def replace_from_mapping(default: C, raw: Any, where: str = "config") -> C:
    """``default`` (a dataclass instance) with the keys of mapping ``raw`` replaced, recursively."""
    if raw is None:
        return default
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping, got {raw!r}")
    fields = {f.name for f in dataclasses.fields(default)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; valid: {sorted(fields)}")
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        current = getattr(default, key)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):  # a nested config
            changes[key] = replace_from_mapping(current, value, f"{where}.{key}")
        else:
            changes[key] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(default, **changes)


def load_yaml_config(default: C, path: str | os.PathLike | None, **overrides: Any) -> C:
    """``default`` updated from the YAML file ``path`` (None = none), then from the top-level
    keyword ``overrides`` that are not None."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path} must hold a mapping of config keys")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return replace_from_mapping(default, raw)
