"""Benchmark reports: a markdown table (features × metrics) and a JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# (summary key, column title, format) in display order; columns absent from every
# summary are left out of the table.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rot_mean_deg", "rot mean °", "{:.2f}"),
    ("rot_median_deg", "rot med °", "{:.2f}"),
    ("trans_mean_deg", "trans mean °", "{:.2f}"),
    ("trans_median_deg", "trans med °", "{:.2f}"),
    ("auc@5", "AUC@5", "{:.3f}"),
    ("auc@10", "AUC@10", "{:.3f}"),
    ("auc@10_sd", "AUC@10 sd", "{:.3f}"),
    ("auc@20", "AUC@20", "{:.3f}"),
    ("num_failures", "fail", "{:d}"),
    ("mma@1", "MMA@1", "{:.3f}"),
    ("mma@3", "MMA@3", "{:.3f}"),
    ("mma@5", "MMA@5", "{:.3f}"),
    ("pck@5", "PCK@5", "{:.3f}"),
    ("pck@10", "PCK@10", "{:.3f}"),
    ("h_acc@1", "H-acc@1", "{:.3f}"),
    ("h_acc@3", "H-acc@3", "{:.3f}"),
    ("h_acc@5", "H-acc@5", "{:.3f}"),
    ("repeatability", "rep.", "{:.3f}"),
    ("matching_score", "M.score", "{:.3f}"),
    ("keypoints", "kpts", "{:.0f}"),
    ("matches", "matches", "{:.0f}"),
    ("inliers", "inliers", "{:.0f}"),
    ("ms_per_image", "ms/img", "{:.1f}"),
    ("ms_match_per_pair", "match ms/pair", "{:.1f}"),
)


def flat_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Summary with curve points as scalar keys (``mma@3``, ``pck@10``)."""
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    for t, v in summary.get("mma_curve", {}).items():
        flat[f"mma@{t}"] = v
    for t, v in summary.get("pck_curve", {}).items():
        flat[f"pck@{t}"] = v
    return flat


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown table: one row per feature, one column per metric present."""
    flats = {name: flat_summary(r["summary"]) for name, r in results.items()}
    columns = [c for c in COLUMNS if any(c[0] in f for f in flats.values())]
    lines = ["| feature | " + " | ".join(c[1] for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for name, flat in flats.items():
        cells = [_cell(flat.get(key), fmt) for key, _, fmt in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(int(value) if fmt == "{:d}" else value)


def write_json(path: Path, header: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    """Write settings + per-feature summaries and per-pair numbers (inf/NaN as strings)."""
    payload = {"header": header, "results": results}
    path.write_text(json.dumps(_jsonable(payload), indent=1) + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value
