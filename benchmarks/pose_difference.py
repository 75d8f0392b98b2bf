"""Is a feature's pose AUC really above or below a reference's? Paired bootstrap over pairs.

    python benchmarks/pose_difference.py benchmarks/results/ucn-tum_fr2_desk/results.json \
        benchmarks/results/ucn-synthetic-scenes/results.json --reference sift --threshold 10

Reads ``results.json`` files written by ``cvlearned bench`` (any ``--ransac-runs``) and, for
every feature against ``--reference`` on the same pairs, prints AUC@T of both, their
difference, its 95 % percentile-bootstrap interval over pairs (the same resample for both
features; see cvlearned.evaluation.metrics.paired_auc) and the share of resamples in which
the feature is not worse. An interval that contains 0 means these pairs cannot tell the two
apart. ``--out FILE`` also writes the markdown table.

``--pool LABEL`` adds rows over the pairs of all the files together (features measured in
every file); ``--min-rotation DEG`` keeps, in those pooled rows, only the pairs whose true
rotation is at least DEG degrees (``pairs:`` datasets only: the rotation is read from their
pairs.txt), e.g. the wide baselines of SfM pose pairs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cvlearned.datasets import load_pairs_txt
from cvlearned.evaluation.bench import pose_run_errors
from cvlearned.evaluation.metrics import paired_auc_difference, pose_error
from cvlearned.pose_text import rotation_angle_axis


def feature_errors(result: dict) -> tuple[list[str], np.ndarray]:
    """One feature's entry of results.json → (pair names, (pairs, runs) pose errors)."""
    pairs = result["pairs"]
    if not pairs or "rot_err_deg" not in pairs[0]:
        raise SystemExit("results.json has no per-pair pose errors (not a pose dataset?)")
    return [str(p.get("pair", i)) for i, p in enumerate(pairs)], pose_error(*pose_run_errors(pairs))


def dataset_name(data: dict, path: Path) -> str:
    """``pairs:../shared/data/pose_pairs/tum_fr2_desk`` → ``pairs:tum_fr2_desk``."""
    dataset = data.get("header", {}).get("dataset", path.parent.name)
    kind, _, location = dataset.partition(":")
    return f"{kind}:{Path(location).name}" if "/" in location else dataset


def pair_rotations(data: dict, path: Path) -> dict[str, float]:
    """Pair name → true rotation angle (degrees) of a ``pairs:`` dataset's results."""
    kind, _, location = data.get("header", {}).get("dataset", "").partition(":")
    if kind != "pairs":
        raise SystemExit(f"{path}: --min-rotation needs pairs: datasets, got {kind or 'an unknown one'}")
    return {r.name: rotation_angle_axis(r.R)[0] for r in load_pairs_txt(location).records}


def measured(path: Path, reference: str) -> tuple[dict, dict[str, tuple[list[str], np.ndarray]]]:
    """results.json → (its data, label → (pair names, (pairs, runs) errors)), all on the reference's pairs."""
    data = json.loads(path.read_text())
    results = data["results"]
    if reference not in results:
        raise SystemExit(f"{path}: no feature {reference!r} (has {', '.join(results)})")
    errors = {label: feature_errors(result) for label, result in results.items()}
    for label, (names, _) in errors.items():
        if names != errors[reference][0]:
            raise SystemExit(f"{path}: {label} and {reference} were not measured on the same pairs")
    return data, errors


def row(dataset: str, label: str, err: np.ndarray, ref_err: np.ndarray, threshold: float, resamples: int,
        seed: int) -> str:
    d = paired_auc_difference(err, ref_err, threshold, resamples, seed=seed)
    return (f"| {dataset} | {label} | {d.auc_a:.3f} | {d.auc_b:.3f} | {d.difference:+.3f} | "
            f"[{d.low:+.3f}, {d.high:+.3f}] | {d.share_not_worse:.2f} | {len(err)} |")


def compare(path: Path, reference: str, threshold: float, resamples: int, seed: int) -> list[str]:
    """Markdown rows, one per feature of ``path`` other than ``reference``."""
    data, errors = measured(path, reference)
    return [row(dataset_name(data, path), label, err, errors[reference][1], threshold, resamples, seed)
            for label, (_, err) in errors.items() if label != reference]


def compare_pooled(paths: list[Path], pool: str, reference: str, threshold: float, resamples: int, seed: int,
                   min_rotation: float | None) -> list[str]:
    """Rows over the pairs of all ``paths`` together (with at least ``min_rotation`` degrees of
    true rotation when given), for the features measured in every file."""
    per_file = []
    for path in paths:
        data, errors = measured(path, reference)
        keep = np.ones(len(errors[reference][0]), bool)
        if min_rotation is not None:
            rotation = pair_rotations(data, path)
            keep = np.array([rotation[name] >= min_rotation for name in errors[reference][0]])
        per_file.append({label: err[keep] for label, (_, err) in errors.items()})
    labels = [label for label in per_file[0] if all(label in errors for errors in per_file)]
    pooled = {label: np.concatenate([errors[label] for errors in per_file]) for label in labels}
    if len(pooled[reference]) == 0:
        raise SystemExit(f"no pair has a rotation of {min_rotation} degrees or more")
    name = pool if min_rotation is None else f"{pool} (rotation >= {min_rotation:g} deg)"
    return [row(name, label, pooled[label], pooled[reference], threshold, resamples, seed)
            for label in labels if label != reference]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="results.json files of cvlearned bench")
    parser.add_argument("--reference", default="sift", help="feature to compare against (default sift)")
    parser.add_argument("--threshold", type=float, default=10.0, help="AUC threshold in degrees (default 10)")
    parser.add_argument("--resamples", type=int, default=5000, help="bootstrap resamples (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--pool", metavar="LABEL", help="also compare over all files' pairs together, named LABEL")
    parser.add_argument("--min-rotation", type=float, metavar="DEG",
                        help="pooled rows keep pairs with at least DEG degrees of true rotation (pairs: datasets)")
    args = parser.parse_args(argv)
    if args.min_rotation is not None and args.pool is None:
        parser.error("--min-rotation applies to the pooled rows: give --pool LABEL")
    t = f"{args.threshold:g}"
    lines = [f"| dataset | feature | AUC@{t} | {args.reference} AUC@{t} | difference | 95% interval | "
             f"share not worse | pairs |", "|---|---|---:|---:|---:|---|---:|---:|"]
    for path in args.results:
        lines += compare(path, args.reference, args.threshold, args.resamples, args.seed)
    if args.pool is not None:
        lines += compare_pooled(args.results, args.pool, args.reference, args.threshold, args.resamples, args.seed,
                                args.min_rotation)
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
