"""Where each learned feature's detectAndCompute spends its time, stage by stage.

    python benchmarks/profile_stages.py                       # bundled photos, 640x480 and 1280x960
    python benchmarks/profile_stages.py --images DIR --count 5 --threads 1,2

The stages are timed by wrapping, for the duration of the run only, the functions and
methods that implement them (:func:`stage_hooks`); the model code carries no timers. A
stage's time is *exclusive*: a wrapped call inside another (the network inside
``SuperPoint.dense``) counts for the inner stage only, and ``other`` is the rest of
detectAndCompute (Python glue, copies, descriptor validation). Every image is run by every
feature in turn (``--repeats`` rounds after a warm-up pass), so drift on a shared machine
hits all features alike. Prints a markdown table (median ms per image; a stage's median
need not add up to the total's) and writes it to
``benchmarks/results/profile-stages-<date>.md`` with the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FEATURES = ("hardnet", "hardnet-lite", "superpoint", "superpoint-lite", "ucn", "ucn-lite")
STAGES = ("image preparation", "detection (SIFT)", "network", "NMS/selection", "patch extraction",
          "descriptor sampling", "keypoint conversion", "other")
BUNDLED = ("astronaut", "chelsea", "coffee", "motorcycle", "rocket")
RESULTS = Path(__file__).resolve().parent / "results"


class StageClock:
    """Exclusive wall time (seconds) per stage of wrapped, possibly nested, calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._children: list[float] = []  # time spent in wrapped calls below each open call

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with its own time (minus wrapped calls inside it) added to ``stage``."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._children.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.seconds[stage] += elapsed - self._children.pop()
                if self._children:
                    self._children[-1] += elapsed

        return timed

    def reset(self) -> None:
        self.seconds.clear()


def stage_hooks(feature: Any) -> list[tuple[Any, str, str]]:
    """(object, attribute, stage) triples naming the callables that implement each stage."""
    import cvlearned.feature2d as feature2d
    import cvlearned.models.hardnet as hardnet
    import cvlearned.models.heatmap as heatmap
    import cvlearned.models.superpoint as superpoint
    import cvlearned.models.ucn as ucn
    import cvlearned.models.xfeat as xfeat

    hooks = [(feature, "_prepare", "image preparation"), (feature, "_prepare_mask", "image preparation"),
             (feature2d, "_unscale", "keypoint conversion")]
    if isinstance(feature, hardnet.HardNet):
        return hooks + [
            (feature, "_detect_raw", "detection (SIFT)"),
            (hardnet, "build_pyramid", "patch extraction"), (hardnet, "extract_patches", "patch extraction"),
            (feature, "_run", "network"),
        ]
    if isinstance(feature, superpoint.SuperPoint):
        return hooks + [
            (feature, "dense", "image preparation"), (feature._net, "forward", "network"),
            (superpoint, "heatmap_from_logits", "NMS/selection"), (feature, "_keypoints", "NMS/selection"),
            (heatmap, "sample_descriptors", "descriptor sampling"),
            (feature, "_to_keypoints", "keypoint conversion"),
        ]
    if isinstance(feature, ucn.UCN):
        return hooks + [
            (feature, "_detector_keypoints", "detection (SIFT)"), (ucn, "sanitize_detected", "keypoint conversion"),
            (feature, "raw_map", "image preparation"), (feature._net, "forward_raw", "network"),
            (feature, "_map_keypoints", "NMS/selection"), (feature, "_describe", "descriptor sampling"),
        ]
    if isinstance(feature, xfeat.XFeat):  # the reliability upsampling counts as image preparation
        return hooks + [
            (feature, "dense_batch", "image preparation"), (feature._net, "forward", "network"),
            (xfeat, "heatmap_from_logits", "NMS/selection"), (feature, "_keypoints", "NMS/selection"),
            (heatmap, "sample_descriptors", "descriptor sampling"),
            (feature, "_to_keypoints", "keypoint conversion"),
        ]
    raise TypeError(f"no stage hooks for {type(feature).__name__}")


@contextlib.contextmanager
def timed_stages(feature: Any, clock: StageClock) -> Iterator[None]:
    """Wrap the stage callables of ``feature`` with ``clock``; restore them on exit."""
    restore: list[Callable[[], None]] = []
    try:
        for owner, name, stage in stage_hooks(feature):
            own = name in vars(owner)
            original = getattr(owner, name)
            setattr(owner, name, clock.wrap(stage, original))
            restore.append(functools.partial(setattr, owner, name, original) if own
                           else functools.partial(delattr, owner, name))
        yield
    finally:
        for undo in reversed(restore):
            undo()


def load_images(folder: str | None, count: int, size: tuple[int, int]) -> list[Any]:
    """``count`` BGR images resized to ``size`` (W, H): from ``folder`` or scikit-image's bundled photos."""
    import cv2

    from cvlearned.synthetic.photos import bundled_photo, load_photo_folder

    if folder:
        images = [image for _, image in load_photo_folder(folder, limit=count)]
    else:
        images = [bundled_photo(name) for name in BUNDLED[:count]]
    if not images:
        raise ValueError(f"no images in {folder}")
    return [cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images]


def profile(features: dict[str, Any], images: list[Any], repeats: int) -> dict[str, dict[str, float]]:
    """{feature: {stage or "total": median ms per image}}, interleaved image by image."""
    clock = StageClock()
    samples: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in features}
    for image in images:  # warm-up: lazy initialisation, allocator, caches
        for feature in features.values():
            feature.detectAndCompute(image, None)
    for _ in range(repeats):
        for image in images:
            for name, feature in features.items():
                clock.reset()
                with timed_stages(feature, clock):
                    start = time.perf_counter()
                    feature.detectAndCompute(image, None)
                    total = time.perf_counter() - start
                timed = sum(clock.seconds.values())
                for stage in STAGES:
                    seconds = total - timed if stage == "other" else clock.seconds.get(stage, 0.0)
                    samples[name][stage].append(seconds * 1000.0)
                samples[name]["total"].append(total * 1000.0)
    return {n: {k: statistics.median(v) for k, v in s.items()} for n, s in samples.items()}


def table(rows: list[tuple[str, int, str, dict[str, float]]]) -> str:
    """Markdown table: one row per (size, threads, feature), one column per stage."""
    head = "| size | threads | feature | total | " + " | ".join(STAGES) + " |"
    rule = "|---|---:|---|---:|" + "---:|" * len(STAGES)
    lines = [head, rule]
    for size, threads, name, ms in rows:
        cells = " | ".join("-" if ms[s] < 0.05 else f"{ms[s]:.1f}" for s in STAGES)
        lines.append(f"| {size} | {threads} | {name} | {ms['total']:.1f} | {cells} |")
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` → (640, 480)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, e.g. 640x480, got {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"size must be at least 16x16, got {text!r}")
    return w, h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", default=",".join(FEATURES), help="comma-separated learned features")
    parser.add_argument("--images", default=None, help="a folder of images (default: scikit-image's photos)")
    parser.add_argument("--count", type=int, default=3, help="images per size")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--sizes", type=lambda t: [parse_size(s) for s in t.split(",")],
                        default=[(640, 480), (1280, 960)], help="comma-separated WxH")
    parser.add_argument("--threads", type=lambda t: [int(v) for v in t.split(",")], default=[1, 2],
                        help="comma-separated torch thread counts")
    parser.add_argument("--max-keypoints", type=int, default=2048)
    parser.add_argument("--note", default="", help="a line added to the results file (e.g. machine load)")
    parser.add_argument("--output", default=None, help="results file (default: results/profile-stages-<date>.md)")
    args = parser.parse_args(argv)

    import torch

    import cvlearned
    from cvlearned.environment import describe_machine

    names = [n.strip() for n in args.features.split(",") if n.strip()]
    features = {n: cvlearned.create(n, max_keypoints=args.max_keypoints) for n in names}
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for size in args.sizes:
            medians = profile(features, load_images(args.images, args.count, size), args.repeats)
            rows += [(f"{size[0]}x{size[1]}", threads, n, medians[n]) for n in names]
            print(f"done: {size[0]}x{size[1]}, {threads} thread(s)", file=sys.stderr)

    machine = describe_machine()
    source = args.images or "scikit-image photos " + ", ".join(BUNDLED[:args.count])
    header = [
        f"# detectAndCompute by stage ({machine['date']})", "",
        "- " + "; ".join(f"{k}: {v}" for k, v in machine.items()),
        f"- {args.count} images ({source}) per size, {args.repeats} interleaved rounds, "
        f"max_keypoints {args.max_keypoints}; median ms per image, exclusive stage times",
        f"- command: `python benchmarks/profile_stages.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
    ] + ([f"- {args.note}"] if args.note else [])
    text = "\n".join(header) + "\n\n" + table(rows) + "\n"
    print(text)
    output = Path(args.output) if args.output else RESULTS / f"profile-stages-{machine['date']}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
