"""Command line: cvlearned {demo,bench,features,data,train,extract,pairs,match}.

Mistakes are reported on one line (cvlearned: error: ...) with exit status 1, or 2 for
wrong options; --debug shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

from cvlearned.cli_args import HelpFormatter, show_progress


#: model name -> module whose ``main(argv)`` trains it
TRAINERS = {
    "hardnet": "cvlearned.training.patches.train_hardnet",
    "matcher": "cvlearned.training.matcher.train_matcher",
    "orinet": "cvlearned.training.patches.train_orinet",
    "superpoint": "cvlearned.training.superpoint.train_superpoint",
    "xfeat": "cvlearned.training.xfeat.train_xfeat",
    "ucn": "cvlearned.training.ucn.train_ucn",
}

#: sub-commands run by ``cvlearned.folder_cli.run_<name>``
FOLDER_COMMANDS = ("extract", "pairs", "match")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with one sub-command per job."""
    from cvlearned.datasets import DATASETS
    from cvlearned.demo import add_arguments as demo_arguments
    from cvlearned.evaluation.bench_command import add_arguments as bench_arguments
    from cvlearned.folder_cli import add_extract_arguments, add_match_arguments, add_pairs_arguments
    from cvlearned.reconstruction_cli import add_pose_pairs_arguments, add_reconstruct_arguments

    parser = argparse.ArgumentParser(prog="cvlearned", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     help="one of these (cvlearned COMMAND --help for its options)")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)
        # SUPPRESS: "cvlearned --debug demo" is not reset by the sub-command's own default
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the full traceback of an error")
        return sub

    demo_arguments(command("demo", "two-view pose demo on a rendered pair or your images"))
    bench_arguments(command("bench", "benchmark features on ground-truth pairs"))
    command("features", "list registered features")
    train = command("train", "train a model (options: cvlearned train MODEL --help), or reproduce a shipped "
                             "weight file step by step (cvlearned train --recipe NAME)")
    train.add_argument("--recipe", metavar="NAME", help="run the recipe of a shipped weight file (NAME: e.g. "
                       "xfeat-lite-v1 or xfeat-lite; cvlearned/training/recipes/), from the repository root")
    train.add_argument("--data", metavar="DIR", help="with --recipe (required to run one): the data folder the "
                       "recipe reads (photos/, multiview/)")
    train.add_argument("--dry-run", action="store_true", help="with --recipe: print the recipe, run nothing")
    train.add_argument("model", nargs="?", choices=sorted(TRAINERS), help="model to train")
    train.add_argument("options", nargs=argparse.REMAINDER, help="options of the model's trainer")
    train.set_defaults(train_parser=train)
    add_extract_arguments(command("extract", "extract a folder of images into features.h5 (hloc layout)"))
    add_pairs_arguments(command("pairs", "write pairs.txt: exhaustive or sequential pairs of images"))
    add_match_arguments(command("match", "match the pairs of pairs.txt into matches.h5 (hloc layout)"))
    data = command("data", "list or download benchmark datasets, reconstruct your images, make pose pairs")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION",
                                        help="list, download, reconstruct or pose-pairs")
    data_commands.add_parser("list", help="known datasets, their sources and loaders")
    download = data_commands.add_parser("download", help="download and extract a dataset (needs internet)",
                                        formatter_class=HelpFormatter)
    download.add_argument("name", choices=sorted(DATASETS), metavar="NAME",
                          help=f"dataset: {', '.join(sorted(DATASETS))}")
    download.add_argument("--dir", required=True, help="folder the dataset is extracted into")
    download.add_argument("--force", action="store_true", help="download again even if the folder has it")
    download.add_argument("--no-progress", action="store_true", help="no download progress bar")
    add_reconstruct_arguments(data_commands.add_parser(
        "reconstruct", formatter_class=HelpFormatter, help="COLMAP reconstruction of each scene folder of images",
        description="COLMAP reconstruction of each scene folder: cameras, poses, 3-D points with tracks"))
    add_pose_pairs_arguments(data_commands.add_parser(
        "pose-pairs", formatter_class=HelpFormatter, help="pairs.txt of validation pose pairs from a reconstruction",
        description="pairs.txt (for cvlearned bench --dataset pairs:DIR) sampled from a reconstructed scene"))
    return parser


def version_text() -> str:
    """``cvlearned X (OpenCV Y, torch Z)`` without importing torch."""
    import cv2

    from cvlearned import __version__

    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "not installed"
    return f"cvlearned {__version__} (OpenCV {cv2.__version__}, torch {torch})"


#: errors reported as one line (library code raises these for bad input or data)
USER_ERRORS = (ValueError, TypeError, OSError, RuntimeError, ImportError)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cvlearned`` console script: the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        check_train_arguments(args)
    try:
        return run_command(args)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"cvlearned: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("cvlearned: interrupted", file=sys.stderr)
        return 130


def check_train_arguments(args: argparse.Namespace) -> None:
    """``cvlearned train``: a MODEL (its options follow it) or ``--recipe NAME``, never both,
    and the recipe options only with ``--recipe`` (exits 2 with train's usage otherwise)."""
    recipe_given = args.recipe is not None or "--recipe" in args.options
    if (args.model is None) != recipe_given:
        args.train_parser.error("give a MODEL to train or --recipe NAME, not both or neither")
    if args.model is not None and (args.dry_run or args.data is not None):
        args.train_parser.error("--data and --dry-run go with --recipe; a MODEL's options follow it")


def run_command(args: argparse.Namespace) -> int:
    """Execute the parsed command; errors propagate."""
    if args.command == "demo":
        from cvlearned.demo import run

        return run(args)
    if args.command == "bench":
        from cvlearned.evaluation.bench_command import run

        return run(args)
    if args.command == "train" and args.recipe is not None:
        from cvlearned.training.recipe import run_recipe

        return run_recipe(args.recipe, args.data, args.dry_run)
    if args.command == "train":
        import importlib

        return importlib.import_module(TRAINERS[args.model]).main(args.options)
    if args.command in FOLDER_COMMANDS:
        from cvlearned import folder_cli

        return getattr(folder_cli, f"run_{args.command}")(args)
    if args.command == "features":
        from cvlearned.registry import feature_spec, list_features

        names = list_features()
        width = max(map(len, names))
        for name in names:
            spec = feature_spec(name)
            print(f"{name:{width}s}  {spec.kind:9s}  {spec.summary}")
        return 0
    if args.data_command in ("reconstruct", "pose-pairs"):
        from cvlearned import reconstruction_cli

        return getattr(reconstruction_cli, f"run_{args.data_command.replace('-', '_')}")(args)
    from cvlearned.datasets import data_command

    if args.data_command == "list":
        args.name = None
    else:
        args.progress = show_progress(args.no_progress)
    return data_command(args)


if __name__ == "__main__":
    sys.exit(main())
