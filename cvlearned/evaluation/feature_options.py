"""``LABEL=NAME:key=value,...``: a registered feature created with parameters, under a label.

Benchmarks use it to compare settings or weight files that do not ship, e.g.
``"hardnet-lite (scenes)=hardnet-lite:weights=runs/x/export.pt"``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["parse_labelled_feature"]


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"None": None, "True": True, "False": False}.get(text, text)


def parse_labelled_feature(spec: str) -> tuple[str, str, dict[str, Any]]:
    """``LABEL=NAME:key=value,...`` → (label, registry name, params); values become int,
    float, None, True/False or stay strings."""
    label, sep, rest = spec.partition("=")
    if not sep or not label.strip() or not rest.strip():
        raise ValueError(f"expected LABEL=NAME[:key=value,...], got {spec!r}")
    name, _, options = rest.partition(":")
    params = {}
    for item in filter(None, options.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"feature options are key=value, got {item!r} in {spec!r}")
        params[key.strip()] = _value(value.strip())
    return label.strip(), name.strip(), params
