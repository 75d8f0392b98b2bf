"""``cvlearned extract``, ``cvlearned pairs`` and ``cvlearned match``: a folder of images →
hloc-style ``features.h5``, ``pairs.txt`` and ``matches.h5`` (see :mod:`cvlearned.io`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cvlearned import io
from cvlearned.cli_args import feature_name, matcher_text, positive_int, show_progress
from cvlearned.registry import default_feature

__all__ = ["add_extract_arguments", "add_match_arguments", "add_pairs_arguments", "run_extract", "run_match",
           "run_pairs"]

_RAY_HELP = ("run on Ray actors: a local runtime without ADDRESS, or the cluster at ADDRESS "
             "('auto', HOST:PORT); needs pip install cvlearned[distributed]")


def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned extract``."""
    parser.add_argument("images", type=Path, help="folder of images (searched recursively)")
    parser.add_argument("--feature", type=feature_name, default=default_feature(), help="registered feature")
    parser.add_argument("--out", type=Path, required=True, help="features.h5 to write or complete")
    parser.add_argument("--max-side", type=positive_int, default=None, metavar="N",
                        help="the feature's max_side: larger images are downscaled inside the feature, "
                             "keypoints stay in original pixels (default: the feature's own)")
    parser.add_argument("--workers", type=positive_int, default=2, metavar="W",
                        help="image-decoding processes (DataLoader workers)")
    parser.add_argument("--batch-size", type=positive_int, default=1, metavar="B",
                        help="images per detectAndCompute call: network features run equal-size images "
                             "through the network together (default 1: image by image)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="device of a learned feature")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS", help=_RAY_HELP)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_pairs_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned pairs``."""
    parser.add_argument("mode", choices=("exhaustive", "sequential", "covisible"),
                        help="all pairs; each image (sorted by name) with the next --window ones; or each "
                             "image with the --num images sharing most 3-D points in a reconstruction")
    parser.add_argument("images", type=Path, help="folder of images, or a features.h5 (its image names); "
                        "covisible: a scene folder written by `cvlearned data reconstruct`")
    parser.add_argument("--out", type=Path, required=True, help="pairs.txt to write")
    parser.add_argument("--window", type=positive_int, default=5, metavar="N", help="sequential only: next N images")
    parser.add_argument("--num", type=positive_int, default=20, metavar="N",
                        help="covisible only: pairs per image")


def add_match_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned match``."""
    parser.add_argument("pairs", type=Path, help="pairs.txt: 'name0 name1' per line")
    parser.add_argument("--features", type=Path, required=True, help="features.h5 of the images")
    parser.add_argument("--out", type=Path, required=True, help="matches.h5 to write or complete")
    parser.add_argument("--matcher", type=matcher_text, default="mnn", metavar="NAME",
                        help="registered matcher (cvlearned.list_matchers()) or lightglue:PATH")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS", help=_RAY_HELP)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _rate(count: int, seconds: float, unit: str) -> str:
    return f"{count / seconds:.1f} {unit}/s" if count and seconds > 0 else f"0 {unit}/s"


def run_extract(args: argparse.Namespace) -> int:
    """Run ``cvlearned extract``; prints a summary and every unreadable image (exit status 0)."""
    from cvlearned.folder_extraction import extract_images, list_image_names, make_bulk_feature

    names = list_image_names(args.images)
    progress = show_progress(args.no_progress)
    if args.ray is not None:
        from cvlearned.distributed import extract_with_ray

        report = extract_with_ray(args.images, names, args.feature, args.out, args.max_side, args.device,
                                  address=args.ray, progress=progress, batch_size=args.batch_size)
    else:
        feature = make_bulk_feature(args.feature, args.max_side, args.device)
        report = extract_images(args.images, names, feature, args.feature, args.out, args.workers, progress,
                                batch_size=args.batch_size)
    for error in report.failed.values():
        print(f"unreadable: {error}", file=sys.stderr)
    print(f"{args.feature}: {len(report.extracted)} images extracted "
          f"({_rate(len(report.extracted), report.seconds, 'images')}), {len(report.skipped)} already in "
          f"{args.out}, {len(report.failed)} unreadable")
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    """Run ``cvlearned pairs``."""
    from cvlearned.folder_extraction import list_image_names
    from cvlearned.folder_matching import covisible_pairs, image_pairs

    if args.mode == "covisible":
        from cvlearned.pose_pair_export import covisibility
        from cvlearned.reconstruction_io import load_reconstruction

        rec = load_reconstruction(args.images)
        pairs = covisible_pairs(rec.image_names, covisibility(rec), args.num)
        io.write_pairs(args.out, pairs)
        print(f"{len(pairs)} covisible pairs of {len(rec.image_names)} registered images written to {args.out}")
        return 0
    names = io.feature_names(args.images) if args.images.is_file() else list_image_names(args.images)
    if len(names) < 2:
        raise ValueError(f"need at least 2 images in {args.images}, found {len(names)}")
    pairs = image_pairs(names, args.mode, args.window)
    io.write_pairs(args.out, pairs)
    print(f"{len(pairs)} pairs of {len(names)} images written to {args.out}")
    return 0


def run_match(args: argparse.Namespace) -> int:
    """Run ``cvlearned match``."""
    from cvlearned.folder_matching import match_pairs

    pairs = io.read_pairs(args.pairs)
    progress = show_progress(args.no_progress)
    if args.ray is not None:
        from cvlearned.distributed import match_with_ray

        report = match_with_ray(args.features, pairs, args.out, args.matcher, address=args.ray, progress=progress)
    else:
        report = match_pairs(args.features, pairs, args.out, args.matcher, progress)
    print(f"{args.matcher}: {report.matched} pairs matched ({_rate(report.matched, report.seconds, 'pairs')}), "
          f"{report.num_matches} matches, {report.skipped} pairs already in {args.out} or repeated")
    return 0
