"""Train SuperPoint, one command per stage (``cvlearned train superpoint --stage ...``).

    cvlearned train superpoint --stage shapes     --out runs/sp        # Synthetic Shapes set
    cvlearned train superpoint --stage magicpoint --out runs/sp        # detector on shapes
    cvlearned train superpoint --stage adapt      --out runs/sp --images DIR   # pseudo-labels
    cvlearned train superpoint --stage joint      --out runs/sp --images DIR \\
        --export runs/sp/export.pt                                     # detector + descriptor

Every stage reads what the previous one wrote in ``--out`` (``shapes.npz``,
``magicpoint/final.pt``, ``adapt.npz``) and writes into it; training stages resume from
their ``checkpoint.pt``. A second round of homographic adaptation (the SuperPoint paper's
iteration) starts a new ``--out`` from a trained model:

    cvlearned train superpoint --stage adapt --out runs/sp2 --images DIR --detector runs/sp/joint/final.pt
    cvlearned train superpoint --stage joint --out runs/sp2 --images DIR --init runs/sp/joint/final.pt

``--init none`` trains the joint stage from random weights on an existing ``adapt.npz``;
``--init LITE.pt --widen`` starts the full-width ``superpoint`` preset from a trained
``superpoint-lite``, computing exactly its function (:mod:`cvlearned.training.superpoint.net_widening`).
A config's ``sfm.scenes`` (reconstructions of ``cvlearned data reconstruct``, relative to
``--reconstructions``) add real crop pairs to the joint stage, e.g. fine-tuning the shipped
weights:

    cvlearned train superpoint --stage joint --out runs/sp-sfm --images DIR \\
        --config cvlearned/training/configs/superpoint-lite-sfm.yaml --init weights/superpoint-lite-v7.pt

Photos are split by name: every 10th file (sorted) is held out.
Logs go to ``<stage folder>/train.log``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cvlearned.cli_args import trainer_parser
from cvlearned.training.superpoint.superpoint_config import SuperPointTrainConfig, load_config

__all__ = ["STAGES", "main"]

STAGES = ("shapes", "magicpoint", "adapt", "joint")


def _stage_shapes(cfg: SuperPointTrainConfig, out: Path, args: argparse.Namespace) -> None:
    from cvlearned.synthetic.shapes import load_or_make_shapes

    images, points = load_or_make_shapes(out / "shapes.npz", cfg.shapes.count, cfg.shapes.size, cfg.seed, True)
    print(f"{len(images)} synthetic images, {sum(len(p) for p in points)} corners -> {out / 'shapes.npz'}")


def _stage_magicpoint(cfg: SuperPointTrainConfig, out: Path, args: argparse.Namespace) -> None:
    from cvlearned.synthetic.shapes import load_or_make_shapes
    from cvlearned.training.common.run_state import export_weights
    from cvlearned.training.common.trainer_cli import start_run
    from cvlearned.training.superpoint.magicpoint import train_magicpoint

    run = start_run(args, cfg, out / "magicpoint", "cvlearned.train_superpoint.magicpoint")
    images, points = load_or_make_shapes(out / "shapes.npz", cfg.shapes.count, cfg.shapes.size, cfg.seed, True)
    net, _ = train_magicpoint(cfg, images, points, run.out, run.log)
    export_weights(net, run.out / "final.pt")  # --export is the joint stage's


def _photos(cfg: SuperPointTrainConfig, args: argparse.Namespace, split: str):
    from cvlearned.synthetic.photos import load_photo_folder
    from cvlearned.synthetic.photos import split_photos

    if not args.images:
        raise SystemExit("--images DIR is required for this stage")
    return split_photos(load_photo_folder(args.images, max_side=2 * max(cfg.adapt.image_size)), split)


def _stage_adapt(cfg: SuperPointTrainConfig, out: Path, args: argparse.Namespace) -> None:
    from cvlearned.training.superpoint.homographic_adaptation import adapt_photos, load_detector

    net = load_detector(cfg.preset, args.detector or out / "magicpoint" / "final.pt")
    adapt_photos(net, _photos(cfg, args, "train"), cfg, out / "adapt.npz", progress=True)


def _stage_joint(cfg: SuperPointTrainConfig, out: Path, args: argparse.Namespace) -> None:
    from cvlearned.training.common.sfm_crops import sfm_crop_source
    from cvlearned.training.common.trainer_cli import export_final, start_run
    from cvlearned.training.superpoint.superpoint_joint import load_adapted, train_joint

    run = start_run(args, cfg, out / "joint", "cvlearned.train_superpoint.joint")
    log = run.log
    init = None if args.init == "none" else args.init or out / "magicpoint" / "final.pt"
    if args.widen and init is None:
        raise SystemExit("--widen needs --init PATH")
    images, points = load_adapted(out / "adapt.npz")
    sfm = sfm_crop_source(cfg.sfm, args.reconstructions, (images.shape[2], images.shape[1]))
    if sfm is not None:
        log.info("SfM crops: %d image pairs of %s", len(sfm), ", ".join(cfg.sfm.scenes))
    net, _ = train_joint(cfg, images, points, run.out, log, init=init, widen=args.widen, sfm=sfm)
    export_final(run, net)


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = trainer_parser("superpoint", __doc__)
    parser.add_argument("--stage", required=True, choices=STAGES,
                        help=f"the stage to run; they run in the order {', '.join(STAGES)}")
    parser.add_argument("--config", help="YAML config (default: cvlearned's superpoint-lite recipe)")
    parser.add_argument("--out", required=True, help="run folder shared by the stages")
    parser.add_argument("--images", help="folder of training photos (stages adapt, joint)")
    parser.add_argument("--export", help="joint stage: also write the final state dict here")
    parser.add_argument("--detector", help="adapt stage: weights that label the photos (default: --out's MagicPoint)")
    parser.add_argument("--init", help="joint stage: initial weights (default: --out's MagicPoint; "
                        "'none': random initialisation, trained on the pseudo-labels alone)")
    parser.add_argument("--widen", action="store_true",
                        help="joint stage: --init is a narrower preset's file (superpoint-lite for superpoint), "
                             "embedded function-preservingly")
    parser.add_argument("--reconstructions", default="runs/reconstructions",
                        help="joint stage: folder holding the config's sfm.scenes (default: runs/reconstructions)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    cfg = load_config(args.config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    {"shapes": _stage_shapes, "magicpoint": _stage_magicpoint, "adapt": _stage_adapt, "joint": _stage_joint}[
        args.stage
    ](cfg, out, args)
    print(f"stage {args.stage} done in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
