#!/usr/bin/env bash
# Recipe for weights/hardnet-lite-v1.pt (model hardnet-lite; card weights/hardnet-lite-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 1 step, patch-pair mining (152 s) and 2,200 steps of batch 128 from scratch (962 s on a shared 2-core CPU, 1 torch thread).
# Usage (from the repository root): cvlearned train --recipe hardnet-lite-v1 --data DIR   or: bash cvlearned/training/recipes/hardnet-lite-v1.sh DATA_DIR
# Inputs: DATA/photos. Output: runs/recipes/hardnet-lite-v1/hardnet-lite-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/hardnet-lite-v1"
mkdir -p "$OUT"

# step 1: mining of 95,537 training pairs + 1,000 validation pairs (152 s), then 2,200 steps of
# 128 pairs, hardest-in-batch triplet loss, AdamW lr 2e-3 (100 warm-up steps, linear decay),
# seed 0 (962 s). The card's photo folder is /work/shared/data/photos (= ../shared/data/photos
# from the repository root).
python -m cvlearned.training.patches.train_hardnet --config cvlearned/training/configs/hardnet-lite.yaml \
    --images "$DATA/photos" --out "$OUT/hardnet-lite" --export "$OUT/hardnet-lite/export-hardnet-lite-v1.pt"

# The card's last step (cp runs/hardnet-lite/export-hardnet-lite-v1.pt weights/hardnet-lite-v1.pt)
# is not done: shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/hardnet-lite/export-hardnet-lite-v1.pt" "$OUT/hardnet-lite-v1.pt"
echo "wrote $OUT/hardnet-lite-v1.pt"
sha256sum "$OUT/hardnet-lite-v1.pt"
