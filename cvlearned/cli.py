"""Command line: ``cvlearned {demo,bench,features,data,train}``."""

from __future__ import annotations

import argparse
import sys


#: model name -> module whose ``main(argv)`` trains it
TRAINERS = {
    "hardnet": "cvlearned.training.train_hardnet",
    "orinet": "cvlearned.training.train_orinet",
    "superpoint": "cvlearned.training.train_superpoint",
    "ucn": "cvlearned.training.train_ucn",
}


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with one sub-command per job."""
    from cvlearned.demo import add_arguments as demo_arguments
    from cvlearned.evaluation.bench_command import add_arguments as bench_arguments

    parser = argparse.ArgumentParser(prog="cvlearned", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_arguments(commands.add_parser("demo", help="two-view pose demo on a rendered pair or your images"))
    bench_arguments(commands.add_parser("bench", help="benchmark features on ground-truth pairs"))
    commands.add_parser("features", help="list registered features")
    train = commands.add_parser("train", help="train a model (options: cvlearned train MODEL --help)")
    train.add_argument("model", choices=sorted(TRAINERS))
    train.add_argument("options", nargs=argparse.REMAINDER, help="options of the model's trainer")
    data = commands.add_parser("data", help="download benchmark datasets (needs internet)")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    data_commands.add_parser("list", help="known datasets")
    download = data_commands.add_parser("download", help="download and extract a dataset")
    download.add_argument("name")
    download.add_argument("--dir", required=True)
    download.add_argument("--force", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cvlearned`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from cvlearned.demo import run

        return run(args)
    if args.command == "bench":
        from cvlearned.evaluation.bench_command import run

        return run(args)
    if args.command == "train":
        import importlib

        return importlib.import_module(TRAINERS[args.model]).main(args.options)
    if args.command == "features":
        from cvlearned.registry import feature_spec, list_features

        for name in list_features():
            spec = feature_spec(name)
            print(f"{name:14s} {spec.kind:9s} {spec.summary}")
        return 0
    from cvlearned.datasets import data_command

    if args.data_command == "list":
        args.name = None
    return data_command(args)


if __name__ == "__main__":
    sys.exit(main())
