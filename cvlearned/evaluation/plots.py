"""Benchmark plots with matplotlib (Agg backend, files only): PCK/MMA curves, AUC bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _styles(n: int) -> list[dict[str, Any]]:
    """``n`` distinct (colour, marker, line style) combinations: tab10 colours, then
    dashed lines with other markers, so more than ten features stay distinguishable."""
    plt = _pyplot()
    colours = plt.get_cmap("tab10").colors
    markers, dashes = "osD^v<>ph*", ("-", "--", ":")
    return [{"color": colours[i % 10], "marker": markers[(i // 10 + i) % len(markers)],
             "linestyle": dashes[(i // 10) % len(dashes)]} for i in range(n)]


def _save(fig: Any, ax: Any, title: str, path: Path) -> None:
    """Title, legend outside the axes (right), save at 110 dpi with everything inside the figure."""
    plt = _pyplot()
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_curves(results: dict[str, dict[str, Any]], key: str, xlabel: str, ylabel: str, path: Path,
                title: str = "") -> bool:
    """Plot ``summary[key]`` ({threshold: value}) for each feature, titled ``title`` (name the
    dataset there); False if no feature has it."""
    curves = {n: r["summary"][key] for n, r in results.items() if key in r["summary"]}
    if not curves:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for (name, curve), style in zip(curves.items(), _styles(len(curves))):
        xs = [float(t) for t in curve]
        ax.plot(xs, list(curve.values()), markersize=3.5, linewidth=1.3, label=name, **style)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, 1))
    ax.grid(alpha=0.3)
    _save(fig, ax, title, path)
    return True


def plot_auc_bars(results: dict[str, dict[str, Any]], path: Path, title: str = "") -> bool:
    """Grouped bars of pose AUC@5/10/20 per feature, titled ``title``; False if no pose results."""
    keys = ("auc@5", "auc@10", "auc@20")
    rows = {n: [r["summary"][k] for k in keys] for n, r in results.items() if "auc@5" in r["summary"]}
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(2.0 + 0.75 * len(rows), 4.2))
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        ax.bar([i + j * width for i in range(len(rows))], [v[j] for v in rows.values()], width,
               label=key.replace("auc@", "AUC@") + "°")
    ax.set_xticks([i + width for i in range(len(rows))], list(rows), rotation=30, ha="right")
    ax.set(ylabel="pose AUC", ylim=(0, 1))
    ax.grid(axis="y", alpha=0.3)
    _save(fig, ax, title, path)
    return True
