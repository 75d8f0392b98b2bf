#!/usr/bin/env bash
# Recipe for weights/orinet-v1.pt (model orinet; card weights/orinet-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 1 step, patch-pair mining (89 s) and 2,400 steps of batch 64 (656 s); 12 min 36 s for the whole command on a shared 2-core CPU, 1 torch thread.
# Usage (from the repository root): cvlearned train --recipe orinet-v1 --data DIR   or: bash cvlearned/training/recipes/orinet-v1.sh DATA_DIR
# Inputs: DATA/photos; the shipped weights/hardnet-lite-v1.pt, the frozen descriptor of the loss (orinet.yaml: descriptor_preset hardnet-lite, descriptor_weights null = the shipped file; its own recipe: cvlearned/training/recipes/hardnet-lite-v1.sh). Output: runs/recipes/orinet-v1/orinet-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/orinet-v1"
mkdir -p "$OUT"

# step 1: mining of 49,263 upright training pairs + 1,000 validation pairs (89 s), then 2,400
# steps of 64 pairs, AdamW lr 3e-3 (50 warm-up steps, linear decay), seed 0 (656 s).
# The card's photo folder is /work/shared/data/photos (= ../shared/data/photos from the repository root).
cvlearned train orinet --config cvlearned/training/configs/orinet.yaml \
    --images "$DATA/photos" --out "$OUT/orinet" --export "$OUT/orinet/export-orinet-v1.pt"

# The card's last step (cp runs/orinet/export-orinet-v1.pt weights/orinet-v1.pt) is not done:
# shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/orinet/export-orinet-v1.pt" "$OUT/orinet-v1.pt"
echo "wrote $OUT/orinet-v1.pt"
sha256sum "$OUT/orinet-v1.pt"
