"""HardNet vs SIFT descriptors on the SAME SIFT keypoints, held-out synthetic homography pairs.

    python benchmarks/hardnet_vs_sift.py --images /work/shared/data/photos --n-pairs 100

Pairs come from the held-out photos (every 10th file sorted by name, never used for
training) via ``make_homography_pairs(split=...)``. For every pair, SIFT keypoints are
detected once per image (cvlearned's ``sift``, OpenCV defaults, at most ``--max-keypoints``)
and described both by SIFT and by HardNet (``compute`` on exactly those keypoints). Matches:
mutual nearest neighbour + Lowe ratio 0.8 (``match_descriptors``). Reported: MMA@1/3/5 px
(mean over pairs), matches per pair, and homography accuracy (RANSAC 3 px; mean corner
error <= 1/3/5 px). Prints a markdown table with the date and the machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np


def _machine() -> str:
    from cvlearned.environment import cpu_name

    return f"{cpu_name()}, {os.cpu_count()} logical CPUs, torch threads=1, {platform.system()} {platform.release()}"


def evaluate(pairs, hardnet, sift, thresholds=(1, 3, 5)) -> dict[str, dict[str, float]]:
    from cvlearned.evaluation.matching import match_descriptors
    from cvlearned.evaluation.metrics import (
        estimate_homography,
        homography_accuracy,
        homography_corner_error,
        mean_matching_accuracy,
    )

    stats: dict[str, dict[str, list]] = {
        name: {"mma": [], "matches": [], "corner": []} for name in ("SIFT", "HardNet")
    }
    n_kp = []
    for pair in pairs:
        k0, sd0 = sift.detectAndCompute(pair.image0, None)
        k1, sd1 = sift.detectAndCompute(pair.image1, None)
        n_kp.append((len(k0) + len(k1)) / 2)
        hk0, hd0 = hardnet.compute(pair.image0, k0) if k0 else ((), None)
        hk1, hd1 = hardnet.compute(pair.image1, k1) if k1 else ((), None)
        assert len(hk0) == len(k0) and len(hk1) == len(k1), "HardNet must describe every SIFT keypoint"
        h, w = pair.image0.shape[:2]
        for name, d0, d1 in (("SIFT", sd0, sd1), ("HardNet", hd0, hd1)):
            m, _ = match_descriptors(d0, d1, mutual=True, ratio=0.8)
            p0 = np.array([k0[i].pt for i in m[:, 0]], np.float64).reshape(-1, 2)
            p1 = np.array([k1[j].pt for j in m[:, 1]], np.float64).reshape(-1, 2)
            stats[name]["mma"].append(mean_matching_accuracy(p0, p1, pair.H_0to1, thresholds))
            stats[name]["matches"].append(len(m))
            H_est = estimate_homography(p0, p1, threshold_px=3.0)
            stats[name]["corner"].append(homography_corner_error(H_est, pair.H_0to1, (w, h)))
    out: dict[str, dict[str, float]] = {}
    for name, s in stats.items():
        mma = np.mean(np.stack(s["mma"]), axis=0)
        acc = homography_accuracy(s["corner"], thresholds)
        out[name] = {
            **{f"MMA@{t}": float(v) for t, v in zip(thresholds, mma)},
            "matches": float(np.mean(s["matches"])),
            **{f"H@{t}px": float(acc[t]) for t in thresholds},
        }
    out["_keypoints_per_image"] = {"mean": float(np.mean(n_kp))}
    return out


def markdown(results: dict[str, dict[str, float]], header: str) -> str:
    cols = ["MMA@1", "MMA@3", "MMA@5", "matches", "H@1px", "H@3px", "H@5px"]
    lines = [header, "", "| descriptor | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name in ("SIFT", "HardNet"):
        r = results[name]
        cells = [f"{r[c]:.1f}" if c == "matches" else f"{r[c]:.3f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    import cvlearned
    from cvlearned.models.hardnet import HardNet
    from cvlearned.synthetic.homography import make_homography_pairs
    from cvlearned.synthetic.photos import load_photo_folder
    from cvlearned.training.patches.patch_pairs import split_photos

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, help="photo folder; its held-out split (every 10th) is used")
    parser.add_argument("--n-pairs", type=int, default=100)
    parser.add_argument("--split", default="viewpoint", choices=["viewpoint", "illumination"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-keypoints", type=int, default=2000)
    parser.add_argument("--preset", default="hardnet-lite")
    parser.add_argument("--weights", help="state dict to evaluate (default: the shipped file of the preset)")
    args = parser.parse_args(argv)

    photos = split_photos(load_photo_folder(args.images, max_side=1024), "val")
    pairs = make_homography_pairs(photos=photos, n_pairs=args.n_pairs, split=args.split, seed=args.seed)
    sift = cvlearned.create("sift", max_keypoints=args.max_keypoints)
    hardnet = HardNet(preset=args.preset, weights=args.weights, device="cpu")
    t0 = time.time()
    results = evaluate(pairs, hardnet, sift)
    header = (
        f"HardNet ({args.preset}, weights={args.weights or 'shipped'}) vs SIFT on the same SIFT keypoints "
        f"(<= {args.max_keypoints}/image, mean {results['_keypoints_per_image']['mean']:.0f}); "
        f"{len(pairs)} '{args.split}' pairs (640x480, seed {args.seed}) from {len(photos)} held-out photos; "
        f"mutual NN + ratio 0.8; RANSAC 3 px.\n\n"
        f"Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; machine: {_machine()}; "
        f"evaluation time {time.time() - t0:.0f} s.\n\nCommand: `python {' '.join(sys.argv)}`"
    )
    print(markdown(results, header))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
