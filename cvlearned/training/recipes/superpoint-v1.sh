#!/usr/bin/env bash
# Recipe for weights/superpoint-v1.pt (model superpoint; card weights/superpoint-v1.md).
# Reproduces the shipped file step by step as recorded in the card: the pseudo-labels v7 trained on (v6's homographic adaptation, superpoint-lite-v7's step 9: 839 s), then 1 joint stage of the full-width net widened from superpoint-lite-v7 (1,500 steps x 4 pairs, 5,542 s on a 2-core CPU, 2 torch threads).
# Usage (from the repository root): cvlearned train --recipe superpoint-v1 --data DIR   or: bash cvlearned/training/recipes/superpoint-v1.sh DATA_DIR
# Inputs: DATA/photos; the shipped weights/superpoint-lite-v7.pt (initialisation, widened; its own recipe: cvlearned/training/recipes/superpoint-lite-v7.sh); superpoint-lite-v6.pt from the git history (commit 146a5be, sha256 8c2bc382..., as the v7 card gives it) for the labels of v7's step 9 (runs/sp-consist-r2/adapt.npz). Output: runs/recipes/superpoint-v1/superpoint-v1.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/superpoint-v1"
mkdir -p "$OUT"

# step 1: the labels the card starts from, runs/sp-consist-r2/adapt.npz "made in v7's step 9":
# v7's step-9 adapt command as weights/superpoint-lite-v7.md (and its history) records it, with v6 taken from the git
# history as that card gives it (git show 146a5be:weights/superpoint-lite-v6.pt); 107.0
# pseudo-labels per 320x240 crop, 839 s. (The v7 recipe writes the same stage from its own,
# retrained v6 into runs/recipes/superpoint-lite-v7/sp-consist-r2/.)
git show 146a5be:weights/superpoint-lite-v6.pt > "$OUT/superpoint-lite-v6.pt"
sha256sum "$OUT/superpoint-lite-v6.pt" | grep -q '^8c2bc382' \
    || { echo "superpoint-lite-v6.pt from git does not have the v7 card's sha256 8c2bc382..." >&2; exit 1; }
cvlearned train superpoint --stage adapt --config cvlearned/training/configs/superpoint-lite-infonce-consistency.yaml \
    --out "$OUT/sp-consist-r2" --images "$DATA/photos" --detector "$OUT/superpoint-lite-v6.pt" --threads 1

# step 2: joint stage of the full-width net, initialised from v7 widened function-preservingly
# (--widen), on v7's labels with v7's loss (cross-entropy + 0.15 x InfoNCE + 1.0 x repeatability),
# 1,500 steps x 4 pairs, Adam lr 1e-3 (100 warm-up steps, linear decay); 5,542 s (3.7 s/step).
# The card's photo folder is /work/shared/data/photos (= ../shared/data/photos from the repository root).
mkdir -p "$OUT/sp-full" && cp "$OUT/sp-consist-r2/adapt.npz" "$OUT/sp-full/"   # made in v7's step 9
cvlearned train superpoint --stage joint --config cvlearned/training/configs/superpoint-infonce-consistency.yaml \
  --out "$OUT/sp-full" --images "$DATA/photos" --init weights/superpoint-lite-v7.pt --widen --threads 2

# The card's last step (cp runs/sp-full/joint/final.pt weights/superpoint-v1.pt) is not done:
# shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/sp-full/joint/final.pt" "$OUT/superpoint-v1.pt"
echo "wrote $OUT/superpoint-v1.pt"
sha256sum "$OUT/superpoint-v1.pt"
