"""Train the XFeat-family detector-descriptor (``cvlearned train xfeat``).

    cvlearned train superpoint --stage adapt --out runs/xfeat --images DIR --detector weights/superpoint-lite-v7.pt
    cvlearned train xfeat --out runs/xfeat --export runs/xfeat/final.pt

The first command writes the pseudo-labelled crops ``runs/xfeat/adapt.npz`` (SuperPoint's
homographic adaptation with the given detector); the second trains on them
(:mod:`cvlearned.training.xfeat.xfeat_training`), logs to ``runs/xfeat/train.log`` and resumes from
``runs/xfeat/checkpoint.pt``. ``--labels`` reads the crops from another file.
"""

from __future__ import annotations

import time
from pathlib import Path

from cvlearned.cli_args import trainer_parser

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    import torch

    from cvlearned.training.common.trainer_cli import export_final, start_run
    from cvlearned.training.superpoint.superpoint_joint import load_adapted
    from cvlearned.training.xfeat.xfeat_config import load_config
    from cvlearned.training.xfeat.xfeat_training import train_xfeat

    parser = trainer_parser("xfeat", __doc__)
    parser.add_argument("--config", help="YAML config (default: cvlearned's xfeat-lite recipe)")
    parser.add_argument("--out", required=True, help="run folder (checkpoint, log, final.pt)")
    parser.add_argument("--labels", help="pseudo-labelled crops (default: OUT/adapt.npz)")
    parser.add_argument("--export", help="also write the final state dict here")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps in this run (resumable)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    cfg = load_config(args.config)
    out = Path(args.out)
    labels = Path(args.labels) if args.labels else out / "adapt.npz"
    if not labels.is_file():
        parser.exit(2, f"cvlearned train xfeat: error: {labels} does not exist (run the superpoint adapt stage)\n")
    run = start_run(args, cfg, out, "cvlearned.train_xfeat")
    images, points = load_adapted(labels)
    net, _ = train_xfeat(cfg, images, points, run.out, run.log, max_steps_this_run=args.max_steps)
    export_final(run, net, log_export=False)
    print(f"xfeat training done in {time.time() - run.started:.1f} s -> {run.out / 'final.pt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
