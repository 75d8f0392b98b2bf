"""Is a feature's pose AUC really above or below a reference's? Paired bootstrap over pairs.

    python benchmarks/pose_difference.py benchmarks/results/ucn-tum_fr2_desk/results.json \
        benchmarks/results/ucn-synthetic-scenes/results.json --reference sift --threshold 10

Reads ``results.json`` files written by ``cvlearned bench`` (any ``--ransac-runs``) and, for
every feature against ``--reference`` on the same pairs, prints AUC@T of both, their
difference, its 95 % percentile-bootstrap interval over pairs (the same resample for both
features; see cvlearned.evaluation.metrics.paired_auc) and the share of resamples in which
the feature is not worse. An interval that contains 0 means these pairs cannot tell the two
apart. ``--out FILE`` also writes the markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cvlearned.evaluation.bench import pose_run_errors
from cvlearned.evaluation.metrics import paired_auc_difference, pose_error


def feature_errors(result: dict) -> tuple[list[str], np.ndarray]:
    """One feature's entry of results.json → (pair names, (pairs, runs) pose errors)."""
    pairs = result["pairs"]
    if not pairs or "rot_err_deg" not in pairs[0]:
        raise SystemExit("results.json has no per-pair pose errors (not a pose dataset?)")
    return [str(p.get("pair", i)) for i, p in enumerate(pairs)], pose_error(*pose_run_errors(pairs))


def compare(path: Path, reference: str, threshold: float, resamples: int, seed: int) -> list[str]:
    """Markdown rows, one per feature of ``path`` other than ``reference``."""
    data = json.loads(path.read_text())
    results = data["results"]
    if reference not in results:
        raise SystemExit(f"{path}: no feature {reference!r} (has {', '.join(results)})")
    ref_names, ref_err = feature_errors(results[reference])
    dataset = data.get("header", {}).get("dataset", path.parent.name)
    kind, _, location = dataset.partition(":")
    if "/" in location:  # pairs:../shared/data/pose_pairs/tum_fr2_desk -> pairs:tum_fr2_desk
        dataset = f"{kind}:{Path(location).name}"
    rows = []
    for label, result in results.items():
        if label == reference:
            continue
        names, err = feature_errors(result)
        if names != ref_names:
            raise SystemExit(f"{path}: {label} and {reference} were not measured on the same pairs")
        d = paired_auc_difference(err, ref_err, threshold, resamples, seed=seed)
        rows.append(f"| {dataset} | {label} | {d.auc_a:.3f} | {d.auc_b:.3f} | {d.difference:+.3f} | "
                    f"[{d.low:+.3f}, {d.high:+.3f}] | {d.share_not_worse:.2f} | {len(names)} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="results.json files of cvlearned bench")
    parser.add_argument("--reference", default="sift", help="feature to compare against (default sift)")
    parser.add_argument("--threshold", type=float, default=10.0, help="AUC threshold in degrees (default 10)")
    parser.add_argument("--resamples", type=int, default=5000, help="bootstrap resamples (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args(argv)
    t = f"{args.threshold:g}"
    lines = [f"| dataset | feature | AUC@{t} | {args.reference} AUC@{t} | difference | 95% interval | "
             f"share not worse | pairs |", "|---|---|---:|---:|---:|---|---:|---:|"]
    for path in args.results:
        lines += compare(path, args.reference, args.threshold, args.resamples, args.seed)
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
