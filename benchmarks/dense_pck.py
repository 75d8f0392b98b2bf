"""Dense correspondence PCK (the UCN paper's Fig. 5 protocol) of any features, one run.

    python benchmarks/dense_pck.py --features sift,daisy,kaze,ucn-lite,ucn-lite-nost \
        --extra "ucn-lite (random negatives)=ucn-lite:weights=runs/ucn-rn/final.pt" \
        --dataset "synthetic-homography:photos=../shared/data/photos,photos_split=val" \
        --dataset synthetic-scenes --max-pairs 10 --out benchmarks/results/dense-pck

For every pair with ground truth (homography pairs; rendered scenes with depth, occluded
points masked): **dense** = query points every 8 px of image 0 (location centres) matched by nearest
neighbour over every stride-4 location of image 1 (UCN's own dense map; SIFT, DAISY,
KAZE computed on the same stride-4 grid of keypoints, size 16 px, upright);
**sparse** = SIFT keypoints (2048 per image), each feature's descriptors on them, nearest
neighbour among image 1's keypoints. PCK@k = fraction of queries within k px (k = 1..20).
See cvlearned.evaluation.dense_pck. ``--extra LABEL=NAME:key=value,...`` adds a feature
created with parameters (e.g. ablation weights that do not ship). Writes results.md,
results.json and one PCK-curve plot per dataset and set-up; prints the markdown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
from pathlib import Path

import numpy as np

from cvlearned.cli_args import dataset_spec, feature_list, labelled_feature

THRESHOLDS = np.arange(1, 21, dtype=np.float64)
SHOWN = (1, 3, 5, 10, 20)


def _table(results: dict, key: str) -> list[str]:
    lines = ["| feature | " + " | ".join(f"PCK@{t}" for t in SHOWN) + " | queries |", "|---" * (len(SHOWN) + 2) + "|"]
    for label, r in results.items():
        curve = dict(zip(THRESHOLDS.astype(int), r[key]))
        queries = r["dense_queries" if key == "dense" else "sparse_queries"]
        lines.append(f"| {label} | " + " | ".join(f"{curve[t]:.3f}" for t in SHOWN) + f" | {queries} |")
    return lines


def _plot(results: dict, key: str, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, r in results.items():
        ax.plot(THRESHOLDS, r[key], marker="o", markersize=3, label=label)
    ax.set(xlabel="threshold (px)", ylabel="PCK", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=feature_list, default="sift,daisy,kaze",
                        help="registered feature names, comma-separated")
    parser.add_argument("--extra", type=labelled_feature, action="append", default=[],
                        help="LABEL=NAME:key=value,... (repeatable)")
    parser.add_argument("--dataset", type=dataset_spec, action="append", required=True,
                        help="dataset spec as for cvlearned bench")
    parser.add_argument("--max-pairs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="folder for results.md/.json and plots")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    import torch

    import cvlearned
    from cvlearned.environment import cpu_name
    from cvlearned.evaluation.datasets_spec import load_dataset
    from cvlearned.evaluation.dense_pck import evaluate_dense_pck

    torch.set_num_threads(max(1, args.threads))
    features = {name: cvlearned.create(name) for name in args.features}
    for label, name, params in args.extra:
        features[label] = cvlearned.create(name, **params)
    machine = f"{cpu_name()}, {os.cpu_count()} logical CPUs, torch threads={args.threads}, {platform.system()}"
    lines = [f"Dense PCK, {datetime.date.today().isoformat()}, {machine}; command: "
             "`python benchmarks/dense_pck.py "
             + " ".join(argv if argv is not None else __import__("sys").argv[1:]) + "`", ""]
    report: dict = {"date": datetime.date.today().isoformat(), "machine": machine, "datasets": {}}
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    for spec in args.dataset:
        pairs = load_dataset(spec, max_pairs=args.max_pairs, seed=args.seed)
        results = evaluate_dense_pck(features, pairs, THRESHOLDS, progress=not args.no_progress)
        report["datasets"][spec] = results
        slug = re.sub(r"[^a-z0-9]+", "-", spec.split(":")[0].lower()).strip("-")
        if "photos=" in spec:
            slug += "-photos"
        n = next(iter(results.values()))["pairs"] if results else 0
        lines += [f"### {spec} ({n} pairs)", "", "Dense (query every 8 px, NN over every stride-4 location):", ""]
        lines += _table(results, "dense")
        lines += ["", "Sparse (SIFT keypoints, NN among image-1 keypoints):", ""]
        lines += _table(results, "sparse_sift") + [""]
        if out:
            _plot(results, "dense", f"dense PCK: {slug}", out / f"pck-dense-{slug}.png")
            _plot(results, "sparse_sift", f"PCK on SIFT keypoints: {slug}", out / f"pck-sift-keypoints-{slug}.png")
    text = "\n".join(lines)
    print(text)
    if out:
        (out / "results.md").write_text(text + "\n", encoding="utf-8")
        (out / "results.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
