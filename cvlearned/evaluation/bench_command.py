"""The ``cvlearned bench`` command: run, print the table, write markdown/JSON/plots."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from cvlearned.cli_args import (
    dataset_spec,
    feature_list,
    feature_name,
    image_size,
    labelled_feature,
    matcher_list,
    positive_int,
    show_progress,
)
from cvlearned.environment import describe_machine
from cvlearned.evaluation.bench import BenchSettings, run_bench
from cvlearned.evaluation.bench_pictures import PICTURE_PAIRS, write_match_pictures
from cvlearned.evaluation.datasets_spec import load_dataset
from cvlearned.evaluation.matching import MatchingOptions
from cvlearned.evaluation.pair_eval import PoseEstimation
from cvlearned.evaluation.plots import plot_auc_bars, plot_curves
from cvlearned.evaluation.report import markdown_table, write_json
from cvlearned.matchers.spec import DEFAULT_MATCHER, parse_matcher
from cvlearned.registry import list_features


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cvlearned bench``; names, dataset and sizes are checked while parsing."""
    parser.add_argument("--features", type=feature_list, default=None, metavar="NAME,...",
                        help="comma-separated feature names (default: all registered)")
    parser.add_argument("--dataset", type=dataset_spec, default="synthetic-scenes", metavar="SPEC",
                        help="synthetic-homography[:split=illumination] | synthetic-scenes[:layout=room] | "
                             "hpatches:PATH | kitti:PATH | pairs:PATH | scannet1500:PATH | megadepth1500:PATH")
    parser.add_argument("--max-pairs", type=positive_int, default=None, metavar="N",
                        help="at most N pairs (default: 12 synthetic, all real)")
    parser.add_argument("--max-keypoints", type=positive_int, default=None, metavar="N",
                        help="keypoints per image (default: each feature's own)")
    parser.add_argument("--extra", type=labelled_feature, action="append", default=[],
                        metavar="LABEL=NAME:key=value,...",
                        help="also run a feature created with parameters, shown as LABEL "
                             "(e.g. weights that do not ship); repeatable")
    parser.add_argument("--keypoints", type=feature_name, default=None, metavar="FEATURE",
                        help="every feature describes this feature's keypoints (e.g. sift): compares "
                             "descriptors alone; ms/image then times compute() only")
    parser.add_argument("--matcher", type=matcher_list, default=[parse_matcher(DEFAULT_MATCHER)], metavar="SPEC,...",
                        help="matchers, each a registered name (mnn | ratio | a shipped learned one) or "
                             "lightglue:PATH (a LightGlue weight file); with several, rows are feature+matcher "
                             "(default: ratio, i.e. mutual NN + Lowe ratio 0.8)")
    parser.add_argument("--ratio", type=float, default=0.8, help="Lowe ratio of the ratio matcher (0 disables)")
    parser.add_argument("--no-mutual", action="store_true",
                        help="plain matchers (mnn, ratio) skip the mutual nearest-neighbour check")
    parser.add_argument("--estimator", choices=("ransac", "magsac"), default="ransac",
                        help="essential-matrix estimator: cv2.RANSAC or cv2.USAC_MAGSAC")
    parser.add_argument("--threshold", type=float, default=1.0, help="essential-matrix RANSAC threshold (px)")
    parser.add_argument("--ransac-runs", type=positive_int, default=1, metavar="N",
                        help="essential-matrix estimations per pair, each on a shuffled match order; "
                             "AUCs are the mean over runs, 'AUC@10 sd' their spread")
    parser.add_argument("--size", type=image_size, default="640x480", metavar="WxH", help="WxH of synthetic images")
    parser.add_argument("--seed", type=int, default=0, help="seed of synthetic pairs and RANSAC")
    parser.add_argument("--out", type=Path, default=None, help="folder for results.md/.json and plots")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (they are drawn only when stderr is a terminal)")


def run(args: argparse.Namespace) -> int:
    """Execute ``cvlearned bench`` with parsed ``args``."""
    features: list[Any] = [*(args.features or list_features()), *args.extra]
    settings = BenchSettings(
        matching=MatchingOptions(mutual=not args.no_mutual, ratio=args.ratio or None),
        matchers=tuple(args.matcher),
        estimation=PoseEstimation(method=args.estimator, threshold_px=args.threshold, runs=args.ransac_runs,
                                  seed=args.seed),
        max_keypoints=args.max_keypoints,
        keypoints=args.keypoints,
    )
    pairs = load_dataset(args.dataset, max_pairs=args.max_pairs, seed=args.seed, size=args.size)
    if args.max_pairs is not None:
        pairs = pairs[: args.max_pairs]
    visuals: dict[str, dict[int, Any]] = {}

    def keep_first(label: str, index: int, ex0: Any, ex1: Any, matches: Any) -> None:
        if index < PICTURE_PAIRS:
            visuals.setdefault(label, {})[index] = (ex0, ex1, matches)

    results = run_bench(features, pairs, settings, progress=show_progress(args.no_progress),
                        on_extractions=keep_first)
    header = {"command": "cvlearned bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
              "dataset": args.dataset, "pairs": len(pairs),
              "matchers": ", ".join(c.label for c in settings.matchers),
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
    data = f"{header['dataset']}, {len(pairs)} pairs"
    plot_curves(results, "pck_curve", "threshold (px)", "PCK (NN among keypoints)", out / "pck_curves.png",
                f"Sparse PCK: descriptor NN within threshold, {data}")
    plot_curves(results, "mma_curve", "threshold (px)", "mean matching accuracy", out / "mma_curves.png",
                f"Mean matching accuracy of the matches, {data}")
    plot_auc_bars(results, out / "pose_auc.png", f"Pose AUC of max(rotation, translation) error, {data}")
    pictures = write_match_pictures(out, header["dataset"], results, pairs, visuals)
    print(f"wrote {out}/results.md, results.json and plots"
          + (f"; match pictures of the first {min(PICTURE_PAIRS, len(pairs))} pairs: {out}/matches_*.jpg"
             if pictures else ""))
