"""The regression values of a shipped learned matcher and their noise, for its model card.

Match precision and recall (``cvlearned.training.matcher.train_matcher.evaluate``, the static
network) on the generated set of ``tests/regression_sets.bundled_matcher_samples``: seed 0
is the value ``tests/test_matcher_shipped.py`` pins, the standard deviation over seeds
0..N-1 (other generated sets of the same size) is the noise it allows twice.

    python benchmarks/matcher_regression_noise.py lightglue-lite-sift --seeds 10 \
        --out benchmarks/results/matcher-regression/lightglue-lite-sift.md
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

import cvlearned
from cvlearned.training.matcher.train_matcher import evaluate
from cvlearned.weight_files import load_manifest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from regression_sets import bundled_matcher_samples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    records = {entry.model: entry for entry in load_manifest().values() if entry.family == "lightglue"}
    parser.add_argument("matcher", choices=sorted(records))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    matcher = cvlearned.create_matcher(args.matcher)
    feature = cvlearned.create(records[args.matcher].feature)
    rows = []
    for seed in range(args.seeds):
        samples = bundled_matcher_samples(feature, seed)
        result = evaluate(matcher.net, samples)
        rows.append((seed, len(samples), result["val_precision"], result["val_recall"]))
        print(f"seed {seed}: {len(samples)} pairs, precision {rows[-1][2]:.4f}, recall {rows[-1][3]:.4f}", flush=True)
    precision, recall = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    lines = [
        f"# {args.matcher}: regression values on bundled-photo viewpoint pairs",
        "",
        f"- date: {datetime.date.today()}; command: python benchmarks/matcher_regression_noise.py {args.matcher} "
        f"--seeds {args.seeds} --out {args.out}",
        f"- opencv {cv2.__version__}, torch {torch.__version__}, torch threads 1",
        "",
        "| seed | pairs | precision | recall |",
        "|---:|---:|---:|---:|",
        *(f"| {s} | {n} | {p:.4f} | {r:.4f} |" for s, n, p, r in rows),
        "",
        f"regression_precision_bundled: {precision[0]:.4f}",
        f"regression_precision_sd: {precision.std(ddof=1):.4f}",
        f"regression_recall_bundled: {recall[0]:.4f}",
        f"regression_recall_sd: {recall.std(ddof=1):.4f}",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
