"""The ``cvlearned bench`` command: run, print the table, write markdown/JSON/plots."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import cv2

from cvlearned.environment import describe_machine
from cvlearned.evaluation.bench import BenchSettings, run_bench
from cvlearned.evaluation.datasets_spec import load_dataset
from cvlearned.evaluation.feature_options import parse_labelled_feature
from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.evaluation.pair_eval import PoseEstimation
from cvlearned.evaluation.plots import plot_auc_bars, plot_curves
from cvlearned.evaluation.report import markdown_table, write_json
from cvlearned.registry import list_features
from cvlearned.visualization import draw_matches


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned bench``."""
    parser.add_argument("--features", default=None,
                        help="comma-separated feature names (default: all registered)")
    parser.add_argument("--dataset", default="synthetic-scenes",
                        help="synthetic-homography[:split=illumination] | synthetic-scenes[:layout=room] | "
                             "hpatches:PATH | kitti:PATH | pairs:PATH | scannet1500:PATH | megadepth1500:PATH")
    parser.add_argument("--max-pairs", type=int, default=None, help="at most N pairs (synthetic default: 12)")
    parser.add_argument("--max-keypoints", type=int, default=None, help="keypoints per image (None: feature default)")
    parser.add_argument("--extra", action="append", default=[], metavar="LABEL=NAME:key=value,...",
                        help="also run a feature created with parameters, shown as LABEL "
                             "(e.g. weights that do not ship); repeatable")
    parser.add_argument("--keypoints", default=None, metavar="FEATURE",
                        help="every feature describes this feature's keypoints (e.g. sift): compares "
                             "descriptors alone; ms/image then times compute() only")
    parser.add_argument("--ratio", type=float, default=0.8, help="Lowe ratio (0 disables)")
    parser.add_argument("--no-mutual", action="store_true", help="disable the mutual nearest-neighbour check")
    parser.add_argument("--estimator", choices=("ransac", "magsac"), default="ransac")
    parser.add_argument("--threshold", type=float, default=1.0, help="essential-matrix RANSAC threshold (px)")
    parser.add_argument("--ransac-runs", type=int, default=1,
                        help="essential-matrix estimations per pair, each on a shuffled match order; "
                             "AUCs are the mean over runs, 'AUC@10 sd' their spread")
    parser.add_argument("--size", default="640x480", help="WxH of synthetic images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="folder for results.md/.json and plots")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Execute ``cvlearned bench`` with parsed ``args``."""
    features: list[Any] = args.features.split(",") if args.features else list_features()
    features += [parse_labelled_feature(spec) for spec in args.extra]
    width, height = (int(v) for v in args.size.lower().split("x"))
    settings = BenchSettings(
        matching=MatchingOptions(mutual=not args.no_mutual, ratio=args.ratio or None),
        estimation=PoseEstimation(method=args.estimator, threshold_px=args.threshold, runs=args.ransac_runs,
                                  seed=args.seed),
        max_keypoints=args.max_keypoints,
        keypoints=args.keypoints,
    )
    pairs = load_dataset(args.dataset, max_pairs=args.max_pairs, seed=args.seed, size=(width, height))
    if args.max_pairs is not None:
        pairs = pairs[: args.max_pairs]
    visuals: dict[str, Any] = {}

    def keep_first(name: str, index: int, ex0: Any, ex1: Any) -> None:
        if index == 0:
            visuals[name] = (ex0, ex1)

    results = run_bench(features, pairs, settings, progress=not args.no_progress, on_extractions=keep_first)
    header = {"command": "cvlearned bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
              "dataset": args.dataset, "pairs": len(pairs),
              **({"keypoints": f"every feature describes the {args.keypoints} keypoints"} if args.keypoints else {}),
              **describe_machine()}
    table = markdown_table(results)
    text = "\n".join(f"- {k}: {v}" for k, v in header.items()) + "\n\n" + table + "\n"
    print(text)
    if args.out is not None:
        _write_outputs(args.out, header, text, results, pairs, visuals, settings)
    return 0


def _write_outputs(out: Path, header: dict, text: str, results: dict, pairs: Any, visuals: dict,
                   settings: BenchSettings) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(text, encoding="utf-8")
    write_json(out / "results.json", header, results)
    plot_curves(results, "pck_curve", "threshold (px)", "PCK (NN among keypoints)", out / "pck_curves.png")
    plot_curves(results, "mma_curve", "threshold (px)", "mean matching accuracy", out / "mma_curves.png")
    plot_auc_bars(results, out / "pose_auc.png")
    if len(pairs):
        pair = pairs[0]
        for name, (ex0, ex1) in visuals.items():
            matches, _ = settings.matching.match(ex0.descriptors, ex1.descriptors, norm=ex0.norm)
            canvas = draw_matches(pair.image0, ex0.keypoints, pair.image1, ex1.keypoints, matches,
                                  title=f"{name}: {len(matches)} matches")
            cv2.imwrite(str(out / f"matches_{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.jpg"), canvas)
    print(f"wrote {out}/results.md, results.json and plots")
