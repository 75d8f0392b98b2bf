#!/usr/bin/env bash
# Recipe for weights/hardnet-lite-sfm-v1.pt (model hardnet-lite-sfm; card weights/hardnet-lite-sfm-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 2 steps, COLMAP SIFT reconstructions of 8 multiview scenes (cvlearned/training/configs/sfm-scenes.sh; time not stated), then the hardnet-lite recipe from scratch (2,200 steps of batch 128) with 82,565 SfM patch pairs added: 1,188 s including mining on a shared 2-core CPU, 1 torch thread.
# Usage (from the repository root): cvlearned train --recipe hardnet-lite-sfm-v1 --data DIR   or: bash cvlearned/training/recipes/hardnet-lite-sfm-v1.sh DATA_DIR
# Inputs: DATA/photos; DATA/multiview/{relief,mary_rose,skull,kitti07,vespasian,alexander_the_great,ethiopian_head,apotheosis_homer}; COLMAP (cvlearned data reconstruct). Output: runs/recipes/hardnet-lite-sfm-v1/hardnet-lite-sfm-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/hardnet-lite-sfm-v1"
mkdir -p "$OUT"

# step 1: the reconstructions (COLMAP SIFT, --max-side 640 --single-camera --window 8). The script
# writes them to runs/reconstructions (its fixed output folder, shared by the recipes that use
# it), which is why step 2 keeps --reconstructions runs/reconstructions.
cvlearned/training/configs/sfm-scenes.sh "$DATA"

# step 2: hardnet-lite.yaml's recipe (2,200 steps of 128 pairs, hardest-in-batch triplet loss,
# AdamW lr 2e-3 with warm-up and linear decay, seed 0) from scratch, with the SfM pairs of the 8
# scenes (3 pairs per 3-D point) in the pool; 1,188 s including mining.
python -m cvlearned.training.patches.train_hardnet --config cvlearned/training/configs/hardnet-lite-sfm-all3.yaml \
    --images "$DATA/photos" --out "$OUT/hardnet-lite-sfm-all3" --reconstructions runs/reconstructions \
    --export "$OUT/hardnet-lite-sfm-all3/export.pt"

# The card's last step (cp runs/hardnet-lite-sfm-all3/export.pt weights/hardnet-lite-sfm-v1.pt) is
# not done: shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/hardnet-lite-sfm-all3/export.pt" "$OUT/hardnet-lite-sfm-v1.pt"
echo "wrote $OUT/hardnet-lite-sfm-v1.pt"
sha256sum "$OUT/hardnet-lite-sfm-v1.pt"
