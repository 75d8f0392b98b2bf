#!/usr/bin/env bash
# Recipe for weights/ucn-lite-v1.pt (model ucn-lite; card weights/ucn-lite-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 1 step, 1,200 steps of 2 pairs (homography pairs of the photos and 200 rendered scenes), 1,290.6 s including 72 s of scene rendering on a shared 2-core CPU, 1 torch thread.
# Usage (from the repository root): cvlearned train --recipe ucn-lite-v1 --data DIR   or: bash cvlearned/training/recipes/ucn-lite-v1.sh DATA_DIR
# Inputs: DATA/photos. Output: runs/recipes/ucn-lite-v1/ucn-lite-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/ucn-lite-v1"
mkdir -p "$OUT"

# step 1: correspondence contrastive loss (margin 1) with active hard negatives, Adam lr 1e-3
# (50 warm-up steps, linear decay), weight decay 1e-4, 1,200 steps, seed 0; 1,290.6 s.
cvlearned train ucn --config cvlearned/training/configs/ucn-lite.yaml --out "$OUT/ucn-lite" \
    --images "$DATA/photos" --export "$OUT/ucn-lite/export-ucn-lite-v1.pt" --threads 1 --no-progress

# The card's last step (cp runs/ucn-lite/export-ucn-lite-v1.pt weights/ucn-lite-v1.pt) is not done:
# shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/ucn-lite/export-ucn-lite-v1.pt" "$OUT/ucn-lite-v1.pt"
echo "wrote $OUT/ucn-lite-v1.pt"
sha256sum "$OUT/ucn-lite-v1.pt"
