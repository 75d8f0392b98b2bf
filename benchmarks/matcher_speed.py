"""Matcher time per pair against SIFT's detectAndCompute time per image, interleaved.

    python benchmarks/matcher_speed.py --keypoints 2048 --repeats 10 \
        --out benchmarks/results/matcher-speed/results.md

One rendered 640x480 pair (``cvlearned.synthetic.make_scene_pairs``, layout box, seed 0):
SIFT (detection threshold 0.02 instead of 0.04, so that both images have 2048 keypoints)
keeps the 2048 strongest keypoints of each image. Every round times, in turn, SIFT's
``detectAndCompute`` on image 0, then one ``match(kp0, d0, kp1, d1, size0, size1)`` of each
matcher on the pair (the public call, ``cv2.DMatch`` s included): ``mnn``, ``ratio`` and a
learned matcher (``--matcher``: a shipped one, default ``lightglue-lite-sift``, or
``untrained``, randomly initialised with seed 0) with early stopping and pruning (its
defaults) and with both disabled (every layer on every point, as the ONNX export). Speed
drifts on a shared host, so the rounds are interleaved, medians reported and the load
average printed. The layers the network ran with early stopping on are printed (for an
untrained network they say nothing about a trained one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keypoints", type=int, default=2048, help="SIFT keypoints per image")
    parser.add_argument("--repeats", type=int, default=10, help="interleaved timed rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here (markdown)")
    parser.add_argument("--matcher", default="lightglue-lite-sift",
                        help="shipped learned matcher for SIFT, or 'untrained' (default lightglue-lite-sift)")
    args = parser.parse_args(argv)

    import torch

    import cvlearned
    from cvlearned.environment import describe_machine
    from cvlearned.matchers.base import make_pair_info
    from cvlearned.matchers.config import LightGlueConfig
    from cvlearned.matchers.learned import LightGlueMatcher, network_points
    from cvlearned.matchers.lightglue import LightGlueNet
    from cvlearned.synthetic import make_scene_pairs

    if args.threads:
        torch.set_num_threads(args.threads)
    pair = make_scene_pairs(n_pairs=1, layout="box", size=(640, 480), seed=0)[0]
    sift = cvlearned.create("sift", max_keypoints=args.keypoints, detection_threshold=0.02)
    (kp0, d0), (kp1, d1) = (sift.detectAndCompute(image, None) for image in (pair.image0, pair.image1))
    if min(len(kp0), len(kp1)) < args.keypoints:
        parser.error(f"SIFT finds only {len(kp0)} / {len(kp1)} keypoints on the pair, fewer than --keypoints")
    size = (pair.image0.shape[1], pair.image0.shape[0])
    load = os.getloadavg()[0]
    if args.matcher == "untrained":
        torch.manual_seed(0)
        net, label = LightGlueNet(LightGlueConfig(preset="lightglue-lite")), "untrained lightglue-lite"
    else:
        net, label = cvlearned.create_matcher(args.matcher).net, args.matcher
    static_net = LightGlueNet(dataclasses.replace(net.config, depth_confidence=-1, width_confidence=-1))
    static_net.load_state_dict(net.state_dict())
    matchers = {
        "mnn": cvlearned.create_matcher("mnn"),
        "ratio (0.8)": cvlearned.create_matcher("ratio"),
        f"{label}, early stop + pruning": LightGlueMatcher(net.eval(), "sift"),
        f"{label}, all layers": LightGlueMatcher(static_net.eval(), "sift"),
    }
    with torch.no_grad():  # layers the untrained network runs with early stopping on
        info = make_pair_info(kp0, kp1, size, size)
        t0, t1 = torch.from_numpy(d0)[None], torch.from_numpy(d1)[None]
        layers = net.match_adaptive(network_points(info, 0, False), t0, network_points(info, 1, False), t1)[2]

    def run_all() -> dict[str, float]:
        times = {"SIFT detectAndCompute (1 image)": _timed(lambda: sift.detectAndCompute(pair.image0, None))}
        for name, matcher in matchers.items():
            times[name] = _timed(lambda m=matcher: m.match(kp0, d0, kp1, d1, size, size))
        return times

    run_all()  # warm-up
    rounds = [run_all() for _ in range(args.repeats)]
    sift_ms = statistics.median(r["SIFT detectAndCompute (1 image)"] for r in rounds)
    lines = [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: python benchmarks/matcher_speed.py "
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "- " + "; ".join(f"{k}: {v}" for k, v in describe_machine().items())
        + f"; torch threads: {torch.get_num_threads()}; load average (1 min) at start: {load:.2f}",
        f"- pair: rendered box scene 640x480 (seed 0); SIFT (detection_threshold 0.02) keypoints "
        f"{len(kp0)} / {len(kp1)}; "
        f"{args.repeats} interleaved rounds after one warm-up, medians",
        f"- {label} ran {layers} of {net.depth} layers on this pair with early stopping on",
        "",
        "| step | median ms | vs SIFT detectAndCompute |",
        "|---|---:|---:|",
    ]
    for name in rounds[0]:
        median = statistics.median(r[name] for r in rounds)
        lines.append(f"| {name} | {median:.1f} | {median / sift_ms:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
