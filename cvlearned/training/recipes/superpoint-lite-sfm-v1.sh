#!/usr/bin/env bash
# Recipe for weights/superpoint-lite-sfm-v1.pt (model superpoint-lite-sfm; card weights/superpoint-lite-sfm-v1.md).
# Reproduces the shipped file step by step as recorded in the card: 3 steps, COLMAP SIFT reconstructions (cvlearned/training/configs/sfm-scenes.sh; time not stated), homographic adaptation with superpoint-lite-v7 (740 s), joint fine-tuning from v7 with SfM crop pairs (2,000 steps, 2,259 s) on a shared 2-core CPU, 1 torch thread.
# Usage (from the repository root): cvlearned train --recipe superpoint-lite-sfm-v1 --data DIR   or: bash cvlearned/training/recipes/superpoint-lite-sfm-v1.sh DATA_DIR
# Inputs: DATA/photos; DATA/multiview/{relief,mary_rose,skull,kitti07,vespasian,alexander_the_great,ethiopian_head,apotheosis_homer}; COLMAP (cvlearned data reconstruct); the shipped weights/superpoint-lite-v7.pt (detector of step 2 and initialisation of step 3; its own recipe: cvlearned/training/recipes/superpoint-lite-v7.sh). Output: runs/recipes/superpoint-lite-sfm-v1/superpoint-lite-sfm-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/superpoint-lite-sfm-v1"
mkdir -p "$OUT"

# step 1: the reconstructions (COLMAP SIFT, --max-side 640 --single-camera --window 8), written by
# the script to its fixed folder runs/reconstructions, which the joint stage reads by default
# (--reconstructions runs/reconstructions).
cvlearned/training/configs/sfm-scenes.sh "$DATA"

# step 2: adapt stage: 256 training photos, 2 crops of 320x240 each, 40 homographies, pseudo-labels
# by the v7 detector; 740 s.
cvlearned train superpoint --stage adapt --config cvlearned/training/configs/superpoint-lite-sfm.yaml \
    --out "$OUT/sp-sfm" --images "$DATA/photos" --detector weights/superpoint-lite-v7.pt --threads 1

# step 3: joint stage from v7: v7's recipe (batch 4 homography pairs, InfoNCE weight 0.15,
# repeatability term 1.0, AdamW lr 1e-3, 100 warm-up steps, linear decay, 2,000 steps, seed 0)
# plus 2 SfM crop pairs per step (weight 0.15, sparse InfoNCE); 2,259 s.
cvlearned train superpoint --stage joint --config cvlearned/training/configs/superpoint-lite-sfm.yaml \
    --out "$OUT/sp-sfm" --init weights/superpoint-lite-v7.pt --threads 1

# The card's last step (cp runs/sp-sfm/joint/final.pt weights/superpoint-lite-sfm-v1.pt) is not
# done: shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/sp-sfm/joint/final.pt" "$OUT/superpoint-lite-sfm-v1.pt"
echo "wrote $OUT/superpoint-lite-sfm-v1.pt"
sha256sum "$OUT/superpoint-lite-sfm-v1.pt"
