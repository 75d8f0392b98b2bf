"""Benchmark plots with matplotlib (Agg backend, files only): PCK/MMA curves, AUC bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(results: dict[str, dict[str, Any]], key: str, xlabel: str, ylabel: str, path: Path) -> bool:
    """Plot ``summary[key]`` ({threshold: value}) for each feature; False if none has it."""
    curves = {n: r["summary"][key] for n, r in results.items() if key in r["summary"]}
    if not curves:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, curve in curves.items():
        xs = [float(t) for t in curve]
        ax.plot(xs, list(curve.values()), marker="o", markersize=3, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_auc_bars(results: dict[str, dict[str, Any]], path: Path) -> bool:
    """Grouped bars of pose AUC@5/10/20 per feature; False if no pose results."""
    keys = ("auc@5", "auc@10", "auc@20")
    rows = {n: [r["summary"][k] for k in keys] for n, r in results.items() if "auc@5" in r["summary"]}
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(rows), 4))
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        ax.bar([i + j * width for i in range(len(rows))], [v[j] for v in rows.values()], width, label=key)
    ax.set_xticks([i + width for i in range(len(rows))], list(rows))
    ax.set(ylabel="pose AUC", ylim=(0, 1))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
