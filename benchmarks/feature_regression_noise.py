"""The regression value of a shipped learned feature and its noise, for its model card.

MMA@3 (mutual NN + ratio 0.8, ``max_keypoints=1000``) on the generated set of
``tests/regression_sets.bundled_regression_mma3``: seed 0 is the value
``check_shipped_model_regression`` pins, the standard deviation over seeds 0..N-1 (other
generated sets of the same size) is the noise it allows twice.

    python benchmarks/feature_regression_noise.py hardnet-lite-sfm --seeds 10 \
        --out benchmarks/results/feature-regression/hardnet-lite-sfm.md
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from regression_sets import bundled_regression_mma3  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("feature", choices=cvlearned.list_features(kind="learned"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    feature = cvlearned.create(args.feature, max_keypoints=1000)
    values = []
    for seed in range(args.seeds):
        values.append(bundled_regression_mma3(feature, seed))
        print(f"seed {seed}: MMA@3 {values[-1]:.4f}", flush=True)
    v = np.array(values)
    lines = [
        f"# {args.feature}: regression value on bundled-photo viewpoint pairs",
        "",
        f"- date: {datetime.date.today()}; command: python benchmarks/feature_regression_noise.py {args.feature} "
        f"--seeds {args.seeds} --out {args.out}",
        f"- opencv {cv2.__version__}, torch {torch.__version__}, torch threads 1",
        "",
        "| seed | MMA@3 |",
        "|---:|---:|",
        *(f"| {s} | {x:.4f} |" for s, x in enumerate(values)),
        "",
        f"regression_mma3_bundled: {v[0]:.4f}",
        f"regression_mma3_bundled_sd: {v.std(ddof=1):.4f}",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
