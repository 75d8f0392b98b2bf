"""Patch-descriptor throughput (patches/s) of the HardNet presets, and end-to-end compute().

    python benchmarks/descriptor_throughput.py --threads 1 2 --out benchmarks/results/throughput

Network only: the inference network HardNet uses (BatchNorm folded into the convs,
channels_last on the CPU) on random (N, 1, 32, 32) patches, batch N = ``--batch``, median
of ``--repeats`` timed runs after a warm-up. Both presets are timed with the same
architecture code (``hardnet`` with an untrained network of the published shape when its
weights do not ship: timing does not depend on the weight values). End to end:
``hardnet-lite.compute(image, keypoints)`` for the SIFT keypoints (at most 2048) of a 640x480 rendered
scene (patch extraction + network), keypoints/s. CUDA is timed too when available.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path


def _median_seconds(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--batch", type=int, default=512,
                        help="patches per forward pass (HardNet's compute() default: 512)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    import cv2
    import torch

    import cvlearned
    from cvlearned.environment import cpu_name
    from cvlearned.models.hardnet import FusedHardNet, build_net
    from cvlearned.synthetic import make_scene_pairs

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for threads in args.threads if device == "cpu" else [torch.get_num_threads()]:
            torch.set_num_threads(threads)
            for preset in ("hardnet", "hardnet-lite"):
                torch.manual_seed(0)
                net = FusedHardNet(build_net(preset).eval()).to(device).eval()
                if device == "cpu":
                    net = net.to(memory_format=torch.channels_last)
                x = torch.rand(args.batch, 1, 32, 32, device=device)
                sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
                with torch.inference_mode():
                    s = _median_seconds(lambda: net(x), args.repeats, sync)
                rows.append({"what": f"{preset} network", "device": device, "threads": threads,
                             "per_second": args.batch / s, "unit": "patches/s"})
            feature = cvlearned.create("hardnet-lite", device=device)
            gray = cv2.cvtColor(make_scene_pairs(n_pairs=1, size=(640, 480))[0].image0, cv2.COLOR_BGR2GRAY)
            keypoints = cv2.SIFT_create(2048).detect(gray, None)
            s = _median_seconds(lambda: feature.compute(gray, keypoints), args.repeats)
            rows.append({"what": "hardnet-lite compute() incl. patch extraction", "device": device,
                         "threads": threads, "per_second": len(keypoints) / s, "unit": "keypoints/s"})
    machine = f"{cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    if torch.cuda.is_available():
        machine += f", {torch.cuda.get_device_name(0)}"
    lines = [f"Descriptor throughput, {datetime.date.today().isoformat()}, {machine}, batch {args.batch}", "",
             "| what | device | torch threads | throughput |", "|---|---|---|---|"]
    lines += [f"| {r['what']} | {r['device']} | {r['threads']} | {r['per_second']:,.0f} {r['unit']} |" for r in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(text + "\n", encoding="utf-8")
        (out / "results.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
