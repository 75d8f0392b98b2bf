"""HardNet descriptors under in-plane rotation: learned (OriNet) vs SIFT vs no orientation.

    python benchmarks/orientation_rotation.py --images /work/shared/data/photos \
        --out benchmarks/results/orientation

Pairs: every held-out photo (every 10th file sorted by name, never used for training),
longest side ``--side`` px, against itself rotated by ``angle`` degrees about the image
centre (``cv2.getRotationMatrix2D``, counter-clockwise on screen; same canvas size, so the
corners leave the view). Configurations (at most ``--max-keypoints`` keypoints per image):

* SIFT keypoints (OpenCV SIFT) described by hardnet-lite with ``orientation="learned"``
  (one keypoint per location, angle from OriNet), ``"keypoint"`` (SIFT's own orientation)
  and ``"upright"``; the SIFT descriptor on the same SIFT keypoints as a reference;
* FAST keypoints (``cv2.FastFeatureDetector_create()``, the strongest N) with
  ``orientation="learned"`` vs ``"upright"`` (FAST has no orientation).

Matches: mutual nearest neighbour + Lowe ratio 0.8. Reported per angle: MMA@3 (fraction
of matches within 3 px of the ground truth) and the LIFT matching score (correct matches
@3 px / mean number of keypoints in the shared region). A last table gives the learned
orientation's error: every image-0 keypoint (SIFT, FAST) is mapped into the rotated image,
OriNet predicts both angles, and the error is ``angle1 - (angle0 - angle)`` (median |error|).
Prints markdown with the date and the machine; ``--out`` also writes results.md/.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def _machine() -> str:
    from cvlearned.environment import cpu_name

    return f"{cpu_name()}, {os.cpu_count()} logical CPUs, torch threads=1, {platform.system()} {platform.release()}"


def rotation(size: tuple[int, int], angle: float) -> np.ndarray:
    """3x3 homography of ``cv2.getRotationMatrix2D`` about the image centre."""
    import cv2

    w, h = size
    H = np.eye(3)
    H[:2] = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
    return H


def _pair_metrics(k0, d0, k1, d1, H, size) -> tuple[float, float, int]:
    from cvlearned.evaluation.matching import match_descriptors
    from cvlearned.evaluation.metrics import mean_matching_accuracy
    from cvlearned.evaluation.metrics.repeatability import matching_score
    from cvlearned.evaluation.warps import HomographyWarp

    if d0 is None or d1 is None:
        return 0.0, 0.0, 0
    m, _ = match_descriptors(d0, d1, mutual=True, ratio=0.8)
    p0 = np.array([k0[i].pt for i in m[:, 0]], np.float64).reshape(-1, 2)
    p1 = np.array([k1[j].pt for j in m[:, 1]], np.float64).reshape(-1, 2)
    mma = float(mean_matching_accuracy(p0, p1, H, thresholds=[3])[0]) if len(m) else 0.0
    ms = matching_score(np.array([k.pt for k in k0]).reshape(-1, 2), np.array([k.pt for k in k1]).reshape(-1, 2), m,
                        HomographyWarp(H, size, size), threshold=3.0)
    return mma, float(ms), len(m)


def _orientation_errors(feature, gray0, gray1, keypoints, H, angle) -> np.ndarray:
    """|learned angle1 - (learned angle0 - angle)| for keypoints mapped by H (inside image 1)."""
    import cv2

    from cvlearned.models.orinet import angular_difference
    from cvlearned.patches import extract_patches

    h, w = gray1.shape[:2]
    pts = np.array([k.pt for k in keypoints], np.float64).reshape(-1, 2)
    q = np.c_[pts, np.ones(len(pts))] @ H.T
    inside = (q[:, 0] >= 0) & (q[:, 0] <= w - 1) & (q[:, 1] >= 0) & (q[:, 1] <= h - 1)
    k0 = [keypoints[i] for i in np.nonzero(inside)[0]]
    k1 = [cv2.KeyPoint(float(q[i, 0]), float(q[i, 1]), keypoints[i].size, -1) for i in np.nonzero(inside)[0]]
    if not k0:
        return np.zeros(0)
    ps = feature.config.patch_scale
    a0 = feature.predict_orientations(extract_patches(gray0, k0, 32, ps, upright=True))
    a1 = feature.predict_orientations(extract_patches(gray1, k1, 32, ps, upright=True))
    return np.abs(angular_difference(a1, a0 - angle))


def main(argv: list[str] | None = None) -> int:
    import cv2
    import torch

    torch.set_num_threads(1)
    import cvlearned
    from cvlearned.synthetic.photos import load_photo_folder, split_photos

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, help="photo folder; its held-out split (every 10th) is used")
    parser.add_argument("--angles", default="0,15,30,45,90,135,180")
    parser.add_argument("--side", type=int, default=640)
    parser.add_argument("--max-keypoints", type=int, default=1000)
    parser.add_argument("--limit", type=int, help="use only the first N held-out photos")
    parser.add_argument("--orinet-weights", help="OriNet state dict (default: the shipped orinet-v1.pt)")
    parser.add_argument("--learned-only", action="store_true",
                        help="run only the learned-orientation rows (to compare weights)")
    parser.add_argument("--out", help="folder for results.md and results.json")
    args = parser.parse_args(argv)
    angles = [float(a) for a in args.angles.split(",")]

    photos = split_photos(load_photo_folder(args.images, max_side=args.side), "val")[: args.limit]
    n = args.max_keypoints
    common = dict(max_keypoints=n, device="cpu", orinet_weights=args.orinet_weights)
    fast = cv2.FastFeatureDetector_create()
    configs = {
        "SIFT kp + HardNet, learned": cvlearned.HardNet_create(orientation="learned", **common),
        "SIFT kp + HardNet, SIFT orientation": cvlearned.HardNet_create(orientation="keypoint", **common),
        "SIFT kp + HardNet, upright": cvlearned.HardNet_create(orientation="upright", **common),
        "SIFT kp + SIFT descriptor (reference)": cvlearned.create("sift", max_keypoints=n),
        "FAST kp + HardNet, learned": cvlearned.HardNet_create(detector=fast, orientation="learned", **common),
        "FAST kp + HardNet, upright": cvlearned.HardNet_create(detector=fast, orientation="upright", **common),
    }
    if args.learned_only:
        configs = {c: f for c, f in configs.items() if c.endswith("learned")}
    learned_sift = configs["SIFT kp + HardNet, learned"]
    learned_fast = configs["FAST kp + HardNet, learned"]
    mma = {c: {a: [] for a in angles} for c in configs}
    ms = {c: {a: [] for a in angles} for c in configs}
    nmatch = {c: {a: [] for a in angles} for c in configs}
    ori_err = {"SIFT": {a: [] for a in angles}, "FAST": {a: [] for a in angles}}
    t0 = time.time()
    for _, image in photos:
        gray0 = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        h, w = gray0.shape
        first = {c: f.detectAndCompute(gray0, None) for c, f in configs.items()}
        for angle in angles:
            H = rotation((w, h), angle)
            gray1 = cv2.warpAffine(gray0, H[:2], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            for c, f in configs.items():
                k0, d0 = first[c]
                k1, d1 = f.detectAndCompute(gray1, None)
                a, s, m = _pair_metrics(k0, d0, k1, d1, H, (w, h))
                mma[c][angle].append(a)
                ms[c][angle].append(s)
                nmatch[c][angle].append(m)
            for name, feat, key in (("SIFT", learned_sift, "SIFT kp + HardNet, learned"),
                                    ("FAST", learned_fast, "FAST kp + HardNet, learned")):
                ori_err[name][angle].append(_orientation_errors(feat, gray0, gray1, first[key][0], H, angle))
    elapsed = time.time() - t0

    def table(title: str, values: dict, fmt: str = "{:.3f}") -> list[str]:
        head = "| " + title + " | " + " | ".join(f"{a:g}°" for a in angles) + " | mean |"
        lines = [head, "|---" + "|---:" * (len(angles) + 1) + "|"]
        for c, per in values.items():
            row = [float(np.mean(per[a])) for a in angles]
            lines.append(f"| {c} | " + " | ".join(fmt.format(v) for v in row) + " | " + fmt.format(np.mean(row)) + " |")
        return lines

    err_summary = {
        name: {a: float(np.median(np.concatenate(per[a]))) if per[a] else float("nan") for a in angles}
        for name, per in ori_err.items()
    }
    lines = [
        f"HardNet-lite descriptors under in-plane rotation: {len(photos)} held-out photos "
        f"(longest side {args.side} px) vs the same photo rotated about its centre; "
        f"<= {n} keypoints per image; mutual NN + ratio 0.8; correct = within 3 px.",
        "",
        f"Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; machine: {_machine()}; "
        f"evaluation time {elapsed:.0f} s.",
        "",
        f"Command: `python {' '.join(sys.argv)}`",
        "",
        "MMA@3 (mean over photos):",
        "",
        *table("configuration", mma),
        "",
        "Matching score @3 px (correct matches / mean keypoints in the shared region):",
        "",
        *table("configuration", ms),
        "",
        "Matches per pair (mutual NN + ratio 0.8):",
        "",
        *table("configuration", nmatch, "{:.0f}"),
        "",
        "Learned orientation error, median |angle1 - (angle0 - rotation)| in degrees (same keypoints mapped by H):",
        "",
        *table("keypoints", {k: {a: [v] for a, v in per.items()} for k, per in err_summary.items()}, "{:.1f}"),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(text + "\n", encoding="utf-8")
        summary = {
            "angles": angles,
            "photos": len(photos),
            "mma3": {c: {str(a): float(np.mean(v[a])) for a in angles} for c, v in mma.items()},
            "matching_score3": {c: {str(a): float(np.mean(v[a])) for a in angles} for c, v in ms.items()},
            "matches": {c: {str(a): float(np.mean(v[a])) for a in angles} for c, v in nmatch.items()},
            "orientation_median_error_deg": {k: {str(a): v for a, v in per.items()} for k, per in err_summary.items()},
            "elapsed_s": elapsed,
        }
        (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
