"""detectAndCompute time of several features, interleaved image by image in one process.

    python benchmarks/interleaved_speed.py --features sift,superpoint-lite \
        --images ../shared/data/pose_pairs/tum_fr2_desk/images --count 10 --repeats 3

This host's speed drifts by tens of percent between runs minutes apart, so a per-feature
median from separate ``cvlearned bench`` runs can rank two features differently from one
run to the next. Here every image is timed with every feature in turn, ``--repeats``
rounds, after one untimed warm-up pass: drift hits all features alike. Prints the median
ms per image of each feature and its ratio to the first, with the date and machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cvlearned.cli_args import feature_list


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=feature_list, default="sift,superpoint-lite",
                        help="comma-separated registered names")
    parser.add_argument("--images", required=True, help="a folder of images (sorted by name)")
    parser.add_argument("--count", type=int, default=10, help="the first N images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-keypoints", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)

    import torch

    import cvlearned
    from cvlearned.environment import describe_machine
    from cvlearned.synthetic.photos import load_photo_folder

    if args.threads:
        torch.set_num_threads(args.threads)
    names = list(args.features)
    features = {n: cvlearned.create(n, max_keypoints=args.max_keypoints) for n in names}
    images = [image for _, image in load_photo_folder(args.images, limit=args.count)]
    if not images:
        parser.error(f"no images in {args.images}")

    for image in images:  # warm-up: lazy weight loading, allocator, caches
        for feature in features.values():
            feature.detectAndCompute(image, None)
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.repeats):
        for image in images:
            for name, feature in features.items():
                t0 = time.perf_counter()
                feature.detectAndCompute(image, None)
                times[name].append((time.perf_counter() - t0) * 1000.0)

    h, w = images[0].shape[:2]
    print("- " + "; ".join(f"{key}: {value}" for key, value in describe_machine().items())
          + f"; torch threads: {torch.get_num_threads()}")
    print(f"- {len(images)} images of {w}x{h} from {args.images}, {args.repeats} interleaved rounds\n")
    print("| feature | median ms/img | vs " + names[0] + " |\n|---|---:|---:|")
    first = statistics.median(times[names[0]])
    for name in names:
        median = statistics.median(times[name])
        print(f"| {name} | {median:.1f} | {median / first:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
