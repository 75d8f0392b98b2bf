"""Throughput and peak memory of ``cvlearned extract`` on generated 640x480 JPEGs (issue 26).

    python benchmarks/extract_throughput.py --count 40 --runs sift:1:1,superpoint-lite:1:1,superpoint-lite:1:8
    python benchmarks/extract_throughput.py --count 1000 --runs sift:2:1 --out benchmarks/results/extract/memory-1000.md

Each run ``FEATURE:WORKERS:BATCH`` is one ``cvlearned extract IMAGES --feature FEATURE
--workers WORKERS --batch-size BATCH`` in its own process on the same images (bundled
scikit-image photos, each image a random rotation and crop of one, written once to a
temporary folder); the table gives images/s from the command's wall time (including its
start-up, model loading and the HDF5 writes) and its peak resident memory (the larger
``ru_maxrss`` of the process and of its decoding workers). Writes a markdown table with the date and machine.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from cvlearned.environment import describe_machine
from cvlearned.synthetic.photos import bundled_photo, bundled_photo_names


def write_images(folder: Path, count: int, seed: int = 0) -> None:
    """``count`` 640x480 JPEGs: random rotations and crops of the bundled photos."""
    rng = np.random.default_rng(seed)
    names = bundled_photo_names()
    for i in range(count):
        photo = cv2.resize(bundled_photo(names[i % len(names)]), (960, 720))
        rotation = cv2.getRotationMatrix2D((480, 360), float(rng.uniform(-30, 30)), float(rng.uniform(1.0, 1.3)))
        rotation[:, 2] -= (160 + rng.uniform(-60, 60), 120 + rng.uniform(-60, 60))
        image = cv2.warpAffine(photo, rotation, (640, 480), borderMode=cv2.BORDER_REFLECT)
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])


#: runs the command line in the child and prints its own peak memory (the larger of the
#: process's and its DataLoader workers' ru_maxrss, in kB)
_CHILD = ("import resource, sys\n"
          "from cvlearned.cli import main\n"
          "code = main(sys.argv[1:])\n"
          "usage = resource.getrusage\n"
          "print('PEAK', max(usage(resource.RUSAGE_SELF).ru_maxrss, usage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
          "sys.exit(code)\n")


def run(images: Path, out: Path, feature: str, workers: int, batch: int) -> tuple[float, float]:
    """One ``cvlearned extract`` process → (seconds, its peak resident memory in GB)."""
    command = [sys.executable, "-c", _CHILD, "extract", str(images), "--feature", feature, "--out", str(out),
               "--workers", str(workers), "--batch-size", str(batch), "--device", "cpu", "--no-progress"]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_kb = int(done.stdout.rsplit("PEAK", 1)[1].split()[0])
    return seconds, peak_kb / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40, help="generated images")
    parser.add_argument("--runs", required=True, help="comma-separated FEATURE:WORKERS:BATCH")
    parser.add_argument("--out", type=Path, help="markdown file to write (default: print only)")
    args = parser.parse_args(argv)
    runs = [(name, int(w), int(b)) for name, w, b in (spec.split(":") for spec in args.runs.split(","))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images"
        images.mkdir()
        write_images(images, args.count)
        for index, (name, workers, batch) in enumerate(runs):
            seconds, peak_gb = run(images, Path(tmp) / f"f{index}.h5", name, workers, batch)
            rows.append(f"| {name} | {workers} | {batch} | {seconds:.1f} | {args.count / seconds:.2f} | "
                        f"{peak_gb:.2f} |")
            print(rows[-1], flush=True)
    text = "\n".join([
        f"# cvlearned extract throughput ({datetime.date.today().isoformat()})", "",
        f"- {describe_machine()}",
        f"- {args.count} generated 640x480 JPEGs; command per row: `cvlearned extract IMAGES --feature F "
        "--workers W --batch-size B --device cpu --no-progress` (own process; peak = the larger ru_maxrss of "
        "the process and its decoding workers)",
        f"- `python benchmarks/extract_throughput.py --count {args.count} --runs {args.runs}`", "",
        "| feature | workers | batch | seconds | images/s | peak GB |", "|---|---:|---:|---:|---:|---:|", *rows, "",
    ])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
