"""Peak memory (ru_maxrss) and time of one detectAndCompute on a synthetic 8K image.

Usage: python benchmarks/memory_8k.py FEATURE [MAX_SIDE|none] [--json]
Run each feature in its own process: ru_maxrss is the process-wide peak. ``--json`` prints
one JSON line (feature, max_side, keypoints, seconds, peak_gb) instead of the sentence
(tests/test_memory_large_images.py reads it).
"""

from __future__ import annotations

import json
import resource
import sys
import time

import cv2
import numpy as np

import cvlearned


def main() -> None:
    as_json = "--json" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--json"]
    name = args[0]
    max_side = None if len(args) < 2 or args[1] == "none" else int(args[1])
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (1080, 1920), dtype=np.uint8), (0, 0), 2)
    image = cv2.resize(texture, (7680, 4320))
    feature = cvlearned.create(name) if len(args) < 2 else cvlearned.create(name, max_side=max_side)
    start = time.perf_counter()
    keypoints, _ = feature.detectAndCompute(image, None)
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    used_side = feature.getParams()["max_side"]
    if as_json:
        print(json.dumps({"feature": name, "max_side": used_side, "keypoints": len(keypoints),
                          "seconds": round(seconds, 1), "peak_gb": round(peak_gb, 2)}))
    else:
        print(f"{name} max_side={used_side}: {len(keypoints)} keypoints, {seconds:.1f} s, peak {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
