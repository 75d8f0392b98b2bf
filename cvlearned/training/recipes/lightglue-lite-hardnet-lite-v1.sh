#!/usr/bin/env bash
# Recipe for weights/lightglue-lite-hardnet-lite-v1.pt (model lightglue-lite-hardnet-lite; card weights/lightglue-lite-hardnet-lite-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 1 step, stage 1 only (homography pre-training), 1,200 steps of 4 pairs, 4,976 s on a shared 2-core CPU, 1 torch thread.
# Usage (from the repository root): cvlearned train --recipe lightglue-lite-hardnet-lite-v1 --data DIR   or: bash cvlearned/training/recipes/lightglue-lite-hardnet-lite-v1.sh DATA_DIR
# Inputs: DATA/photos; the shipped weights/hardnet-lite-v1.pt (the hardnet-lite feature whose keypoints and descriptors are matched, loaded through --feature hardnet-lite; its own recipe: cvlearned/training/recipes/hardnet-lite-v1.sh). Output: runs/recipes/lightglue-lite-hardnet-lite-v1/lightglue-lite-hardnet-lite-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/lightglue-lite-hardnet-lite-v1"
mkdir -p "$OUT"

# step 1: 512x384 homography pairs, the 512 strongest hardnet-lite keypoints per image; 1,200 steps,
# batch 4, AdamW lr 3e-4, 100 warm-up steps, seed 0; 4,976 s. The card's --export writes
# weights/lightglue-lite-hardnet-lite-v1.pt directly; here it writes into $OUT (shipped weights are
# never overwritten).
cvlearned train matcher homography --feature hardnet-lite --images "$DATA/photos" \
    --out "$OUT/lightglue-lite-hardnet-lite-v1" \
    --config cvlearned/training/configs/lightglue-lite-hardnet-lite-homography.yaml \
    --max-minutes 110 --threads 1 --export "$OUT/lightglue-lite-hardnet-lite-v1.pt"

echo "wrote $OUT/lightglue-lite-hardnet-lite-v1.pt"
sha256sum "$OUT/lightglue-lite-hardnet-lite-v1.pt"
