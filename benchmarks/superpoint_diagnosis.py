"""Where a SuperPoint model loses against SIFT: its detector or its descriptor?

    python benchmarks/superpoint_diagnosis.py [--weights W.pt] [--threshold 0.015] \
        --images ../shared/data/photos --pairs 12

On homography pairs (640x480, viewpoint split) of the held-out photos (every 10th file,
never used for training): the model's keypoints (count, repeatability within 3 px),
cross-checked NN matching with its own descriptor vs the hardnet-lite and SIFT
descriptors computed on the same keypoints (MMA@3), and its descriptor computed on SIFT
keypoints vs SIFT's own (MMA@3). Prints one markdown row per configuration.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np


def _warp(H: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = np.c_[p, np.ones(len(p))] @ H.T
    return q[:, :2] / q[:, 2:]


def mma3(k0, d0, k1, d1, H) -> float:
    """Fraction of cross-checked NN matches within 3 px of the ground truth."""
    from cvlearned.evaluation.metrics import mean_matching_accuracy

    if d0 is None or d1 is None or len(k0) == 0 or len(k1) == 0:
        return 0.0
    matches = cv2.BFMatcher(cv2.NORM_L2, crossCheck=True).match(d0, d1)
    p0 = np.array([k0[m.queryIdx].pt for m in matches]).reshape(-1, 2)
    p1 = np.array([k1[m.trainIdx].pt for m in matches]).reshape(-1, 2)
    return float(mean_matching_accuracy(p0, p1, H, thresholds=[3])[0])


def repeatability3(k0, k1, H, shape) -> float:
    """Fraction of image-0 keypoints landing in image 1 with an image-1 keypoint within 3 px."""
    if not k0 or not k1:
        return 0.0
    w0 = _warp(H, np.array([k.pt for k in k0]))
    h, w = shape
    inside = (w0[:, 0] >= 0) & (w0[:, 0] < w) & (w0[:, 1] >= 0) & (w0[:, 1] < h)
    if not inside.any():
        return 0.0
    d = np.linalg.norm(w0[inside][:, None] - np.array([k.pt for k in k1])[None], axis=2).min(1)
    return float((d <= 3).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="a SuperPoint state dict (default: the shipped superpoint-lite)")
    parser.add_argument("--threshold", type=float, default=0.015)
    parser.add_argument("--images", required=True)
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--refine-radius", type=int, default=0,
                        help="SuperPoint refine_radius (default 0: integer keypoints, as the recorded v2-v5 rows)")
    args = parser.parse_args(argv)

    import torch

    import cvlearned
    from cvlearned.synthetic.homography import make_homography_pairs
    from cvlearned.synthetic.photos import load_photo_folder, split_photos

    torch.set_num_threads(1)
    photos = split_photos(load_photo_folder(args.images, max_side=1024), "val")
    pairs = make_homography_pairs(photos, n_pairs=args.pairs, size=(640, 480), seed=0)
    params = {"detection_threshold": args.threshold, "refine_radius": args.refine_radius,
              **({"weights": args.weights} if args.weights else {})}
    sp = cvlearned.SuperPoint_create(**params)
    hardnet, sift = cvlearned.create("hardnet-lite"), cvlearned.create("sift")
    rows = []
    for p in pairs:
        g0, g1 = (cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) for im in (p.image0, p.image1))
        H = p.H_0to1
        k0, d0 = sp.detectAndCompute(g0, None)
        k1, d1 = sp.detectAndCompute(g1, None)
        s0, sd0 = sift.detectAndCompute(g0, None)
        s1, sd1 = sift.detectAndCompute(g1, None)

        def described(feature, kps0, kps1):  # compute may drop keypoints (e.g. one per location)
            return mma3(*feature.compute(g0, kps0), *feature.compute(g1, kps1), H)

        rows.append((
            len(k0), repeatability3(k0, k1, H, g0.shape), mma3(k0, d0, k1, d1, H),
            described(hardnet, k0, k1), described(sift, k0, k1), described(sp, s0, s1), mma3(s0, sd0, s1, sd1, H),
        ))
    r = np.mean(np.array(rows), axis=0)
    print("| weights | threshold | kpts | rep@3 | MMA@3 own desc | hardnet-lite desc on its kpts "
          "| SIFT desc on its kpts | its desc on SIFT kpts | SIFT on SIFT kpts |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.weights or 'shipped'} | {args.threshold} | {r[0]:.0f} | "
          + " | ".join(f"{v:.3f}" for v in r[1:]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
