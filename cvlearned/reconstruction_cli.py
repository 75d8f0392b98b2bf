"""``cvlearned data reconstruct`` and ``cvlearned data pose-pairs`` (options and runners)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cvlearned.cli_args import feature_name, positive_int, show_progress

__all__ = ["add_pose_pairs_arguments", "add_reconstruct_arguments", "run_pose_pairs", "run_reconstruct"]

#: where reconstructions go without --out (ignored by git: /runs/)
DEFAULT_OUT = Path("runs/reconstructions")


def add_reconstruct_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned data reconstruct``."""
    from cvlearned.reconstruction import MATCHERS
    from cvlearned.reconstruction_io import CAMERA_MODELS

    parser.add_argument("images", type=Path,
                        help="a scene folder of images (or with images/ inside), or a folder of such scenes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="one sub-folder per scene is written here")
    parser.add_argument("--feature", type=feature_name, default="sift",
                        help="'sift': COLMAP's SIFT and matcher; another registered feature: cvlearned "
                             "extraction and matching through the COLMAP adapter")
    parser.add_argument("--matcher", choices=MATCHERS, default="exhaustive",
                        help="image pairs to match: all, or each image with the next --window ones (videos)")
    parser.add_argument("--window", type=positive_int, default=10, metavar="N", help="sequential matching overlap")
    parser.add_argument("--max-side", type=positive_int, default=None, metavar="N",
                        help="extract features on images downscaled to this longest side (keypoints stay in "
                             "original pixels; default: full size, COLMAP caps at 3200)")
    parser.add_argument("--camera-model", choices=tuple(CAMERA_MODELS), default="SIMPLE_RADIAL",
                        help="COLMAP camera model of --feature sift (other features: pinhole)")
    parser.add_argument("--single-camera", action="store_true",
                        help="all images of a scene share one camera (default: COLMAP decides from size and EXIF)")
    parser.add_argument("--seed", type=int, default=0, help="COLMAP's random seed")
    parser.add_argument("--verbose", action="store_true", help="show COLMAP's log")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_pose_pairs_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned data pose-pairs``."""
    parser.add_argument("reconstruction", type=Path, help="a scene folder written by cvlearned data reconstruct")
    parser.add_argument("--out", type=Path, required=True, help="folder for pairs.txt, pairs_info.tsv and images/")
    parser.add_argument("--max-pairs", type=positive_int, default=100, metavar="N", help="pairs to write at most")
    parser.add_argument("--min-covisible", type=positive_int, default=50, metavar="K",
                        help="3-D points a pair must share")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair sampling")


def run_reconstruct(args: argparse.Namespace) -> int:
    """Run ``cvlearned data reconstruct``: one line per scene; exit status 1 if a scene has no model."""
    from cvlearned.reconstruction import ReconstructOptions, SceneReport, reconstruct_scenes

    options = ReconstructOptions(feature=args.feature, matcher=args.matcher, window=args.window,
                                 max_side=args.max_side, camera_model=args.camera_model,
                                 single_camera=args.single_camera, seed=args.seed)
    def report(scene_report: SceneReport) -> None:
        print(scene_report.describe(), flush=True)

    reports = reconstruct_scenes(args.images, args.out, options, show_progress(args.no_progress), args.verbose,
                                 report)
    failed = [r.name for r in reports if r.status != "ok"]
    print(f"{len(reports) - len(failed)}/{len(reports)} scenes reconstructed into {args.out}"
          + (f"; without a model: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def run_pose_pairs(args: argparse.Namespace) -> int:
    """Run ``cvlearned data pose-pairs``."""
    from cvlearned.pose_pair_export import write_pose_pairs

    pairs = write_pose_pairs(args.reconstruction, args.out, args.max_pairs, args.min_covisible, args.seed)
    angles = [p.angle_deg for p in pairs]
    print(f"{len(pairs)} pose pairs (rotation {min(angles):.1f}-{max(angles):.1f} deg) written to "
          f"{args.out / 'pairs.txt'}; benchmark: cvlearned bench --dataset pairs:{args.out}")
    return 0
