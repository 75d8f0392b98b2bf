#!/usr/bin/env bash
# Recipe for weights/ucn-v2.pt (model ucn; card weights/ucn-v2.md).
# Reproduces the shipped file step by step as recorded in the card: 2 steps, v1 (ucn-infonce.yaml, 2,400 steps: 4,842 s + 72 s of scene rendering), then v1's step-2400 checkpoint trained on to step 4,000 with the learning rate restarted at 4e-4 (ucn-infonce-4000.yaml: 4,678 s on 1 thread).
# Usage (from the repository root): cvlearned train --recipe ucn-v2 --data DIR   or: bash cvlearned/training/recipes/ucn-v2.sh DATA_DIR
# Inputs: DATA/photos (the chain starts from random weights; the intermediate ucn-v1.pt is written to $OUT, not to weights/). Output: runs/recipes/ucn-v2/ucn-v2.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/ucn-v2"
mkdir -p "$OUT"

# step 1 (v1): InfoNCE over the whole map (temperature 0.1), AdamW lr 1e-3 (50 warm-up steps,
# linear decay), 2,400 steps of 2 pairs, seed 0; 4,842 s + 72 s rendering.
# NOT RECORDED IN THE CARD: how the card's run was stopped after step 200; it was resumed from its
# checkpoint "by the same command with --threads 2" (steps are seeded per step, so the pairs are the
# same). This recipe runs the command once, with the card's --threads 1.
cvlearned train ucn --config cvlearned/training/configs/ucn-infonce.yaml --out "$OUT/ucn-infonce" \
    --images "$DATA/photos" --export "$OUT/ucn-infonce/export.pt" --threads 1 --no-progress
cp "$OUT/ucn-infonce/export.pt" "$OUT/ucn-v1.pt"            # v1: 2,400 steps (card: weights/ucn-v1.pt)

# step 2 (v2): steps 2,401-4,000 from v1's checkpoint, learning rate restarted at 4e-4 with linear
# decay to 0, new pairs, same validation pairs; 4,678 s on one thread.
mkdir -p "$OUT/ucn-infonce-4000" && cp "$OUT/ucn-infonce/checkpoint.pt" "$OUT/ucn-infonce-4000/"
cvlearned train ucn --config cvlearned/training/configs/ucn-infonce-4000.yaml --out "$OUT/ucn-infonce-4000" \
    --images "$DATA/photos" --export "$OUT/ucn-infonce-4000/export.pt" --threads 1 --no-progress

# The card's last step (cp runs/ucn-infonce-4000/export.pt weights/ucn-v2.pt) is not done: shipped
# weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/ucn-infonce-4000/export.pt" "$OUT/ucn-v2.pt"
echo "wrote $OUT/ucn-v2.pt"
sha256sum "$OUT/ucn-v2.pt"
