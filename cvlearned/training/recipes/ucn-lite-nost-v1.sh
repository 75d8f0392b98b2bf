#!/usr/bin/env bash
# Recipe for weights/ucn-lite-nost-v1.pt (model ucn-lite-nost; card weights/ucn-lite-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 1 step, ucn-lite's command with ucn-lite-nost.yaml (no spatial transformer), 1,200 steps in 787.5 s on a shared 2-core CPU.
# Usage (from the repository root): cvlearned train --recipe ucn-lite-nost-v1 --data DIR   or: bash cvlearned/training/recipes/ucn-lite-nost-v1.sh DATA_DIR
# Inputs: DATA/photos. Output: runs/recipes/ucn-lite-nost-v1/ucn-lite-nost-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/ucn-lite-nost-v1"
mkdir -p "$OUT"

# step 1: "trained by the same command with cvlearned/training/configs/ucn-lite-nost.yaml
# (--out runs/ucn-lite-nost, export runs/ucn-lite-nost/export-ucn-lite-nost-v1.pt)": the card
# describes the command in words; this is ucn-lite's command with those three changes.
# 1,200 steps, 787.5 s.
cvlearned train ucn --config cvlearned/training/configs/ucn-lite-nost.yaml --out "$OUT/ucn-lite-nost" \
    --images "$DATA/photos" --export "$OUT/ucn-lite-nost/export-ucn-lite-nost-v1.pt" --threads 1 --no-progress

# The card records no copy to weights/ucn-lite-nost-v1.pt (ucn-lite's card shows
# cp ... weights/ucn-lite-v1.pt); none is done here: shipped weights are never overwritten, and the
# file is copied into $OUT instead.
cp "$OUT/ucn-lite-nost/export-ucn-lite-nost-v1.pt" "$OUT/ucn-lite-nost-v1.pt"
echo "wrote $OUT/ucn-lite-nost-v1.pt"
sha256sum "$OUT/ucn-lite-nost-v1.pt"
