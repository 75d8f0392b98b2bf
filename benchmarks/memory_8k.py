"""Peak memory (ru_maxrss) and time of one detectAndCompute on a synthetic 8K image.

Usage: python benchmarks/memory_8k.py FEATURE [MAX_SIDE|none]
Run each feature in its own process: ru_maxrss is the process-wide peak.
"""

from __future__ import annotations

import resource
import sys
import time

import cv2
import numpy as np

import cvlearned


def main() -> None:
    name = sys.argv[1]
    max_side = None if len(sys.argv) < 3 or sys.argv[2] == "none" else int(sys.argv[2])
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (1080, 1920), dtype=np.uint8), (0, 0), 2)
    image = cv2.resize(texture, (7680, 4320))
    feature = cvlearned.create(name) if len(sys.argv) < 3 else cvlearned.create(name, max_side=max_side)
    start = time.perf_counter()
    keypoints, _ = feature.detectAndCompute(image, None)
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"{name} max_side={feature.getParams()['max_side']}: {len(keypoints)} keypoints, "
          f"{seconds:.1f} s, peak {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
