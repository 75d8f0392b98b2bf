#!/usr/bin/env bash
# Recipe for weights/superpoint-lite-v7.pt (model superpoint-lite; card weights/superpoint-lite-v7.md).
# Reproduces the shipped file step by step as recorded in the card and its history (weights/history/superpoint-lite-v7-history.md): the whole chain from scratch in its 9 steps, Synthetic Shapes (48 s), MagicPoint (2,500 steps, 900 s), homographic adaptation (994 s), joint stage (2,000 steps, 1,752 s) = v2, then rounds v3, v4, v5 (adapt + 2,000 joint steps each), v6 (fifth adapt + joint with the repeatability term) and v7 (adapt by v6 + joint with the term); 62 + 53 + 45 + 55 + 39 + 38 min (about 4.9 h) on a shared 2-core CPU.
# Usage (from the repository root): cvlearned train --recipe superpoint-lite-v7 --data DIR   or: bash cvlearned/training/recipes/superpoint-lite-v7.sh DATA_DIR
# Inputs: DATA/photos (no weight file: the chain starts from random weights; the intermediate v2-v6 files are written to $OUT, not to weights/). Output: runs/recipes/superpoint-lite-v7/superpoint-lite-v7.pt (the card does not say the run is deterministic: compare with its card's metrics, not with the sha256 of weights/manifest.json).
set -euo pipefail
DATA="${1:?usage: bash $0 DATA_DIR (the folder holding photos/ and multiview/)}"
OUT="runs/recipes/superpoint-lite-v7"
mkdir -p "$OUT"
# The card's photo folder is /work/shared/data/photos (= ../shared/data/photos from the repository
# root). Its intermediate files weights/superpoint-lite-v2.pt ... -v6.pt (not shipped any more; in
# the git history) are written to and read from $OUT here.
C=cvlearned/training/configs/superpoint-lite-infonce.yaml

# steps 1-4 (v2). The card's run reused v1's runs/sp-lite outputs of stages 1-3 (made with
# superpoint-lite.yaml, whose stages 1-3 equal this config's); the card lists them as these commands.
# step 1: Synthetic Shapes, 12,000 images of 160x120, seed 0; 48 s.
cvlearned train superpoint --stage shapes     --config $C --out "$OUT/sp-infonce-w015"
# step 2: MagicPoint, 2,500 steps x 24 images, Adam lr 1e-3; 900 s.
cvlearned train superpoint --stage magicpoint --config $C --out "$OUT/sp-infonce-w015"
# step 3: homographic adaptation of the 256 training photos (512 crops, 40 views each); 994 s, 2 threads.
cvlearned train superpoint --stage adapt      --config $C --out "$OUT/sp-infonce-w015" --images "$DATA/photos" --threads 2
# step 4: joint training from MagicPoint, 2,000 steps x 4 pairs, InfoNCE weight 0.15; 1,752 s.
cvlearned train superpoint --stage joint      --config $C --out "$OUT/sp-infonce-w015" --images "$DATA/photos"
cp "$OUT/sp-infonce-w015/joint/final.pt" "$OUT/superpoint-lite-v2.pt"

# step 5, the second round (v3), 2 torch threads: adapt by v2 (937 s), joint from v2 (2,236 s).
cvlearned train superpoint --stage adapt --config $C --out "$OUT/sp-round2" --images "$DATA/photos" \
    --detector "$OUT/superpoint-lite-v2.pt" --threads 2
cvlearned train superpoint --stage joint --config $C --out "$OUT/sp-round2" --images "$DATA/photos" \
    --init "$OUT/superpoint-lite-v2.pt" --threads 2
cp "$OUT/sp-round2/joint/final.pt" "$OUT/superpoint-lite-v3.pt"

# step 6, the third round (v4), 1 torch thread each: adapt by v3 (1,007 s), joint from v3 (1,700 s).
cvlearned train superpoint --stage adapt --config $C --out "$OUT/sp-round3" --images "$DATA/photos" \
    --detector "$OUT/superpoint-lite-v3.pt" --threads 1
cvlearned train superpoint --stage joint --config $C --out "$OUT/sp-round3" --images "$DATA/photos" \
    --init "$OUT/superpoint-lite-v3.pt" --threads 1
cp "$OUT/sp-round3/joint/final.pt" "$OUT/superpoint-lite-v4.pt"

# step 7, the fourth round (v5), 1 torch thread each (runs/sp-round4.sh): adapt by v4 (1,587 s),
# joint from v4 (1,703 s).
cvlearned train superpoint --stage adapt --config $C --out "$OUT/sp-round4" --images "$DATA/photos" \
    --detector "$OUT/superpoint-lite-v4.pt" --threads 1
cvlearned train superpoint --stage joint --config $C --out "$OUT/sp-round4" --images "$DATA/photos" \
    --init "$OUT/superpoint-lite-v4.pt" --threads 1
cp "$OUT/sp-round4/joint/final.pt" "$OUT/superpoint-lite-v5.pt"

# step 8 (v6): v5's own pseudo-labels (the fifth round's adapt stage, runs/sp-round5.sh; 961 s), joint
# from v5 with the repeatability term, 1 torch thread (runs/sp-consist.sh; 1,364 s):
cvlearned train superpoint --stage adapt --config $C --out "$OUT/sp-round5" --images "$DATA/photos" \
    --detector "$OUT/superpoint-lite-v5.pt" --threads 1
mkdir -p "$OUT/sp-consist" && cp "$OUT/sp-round5/adapt.npz" "$OUT/sp-consist/"
cvlearned train superpoint --stage joint --out "$OUT/sp-consist" --images "$DATA/photos" \
    --config cvlearned/training/configs/superpoint-lite-infonce-consistency.yaml \
    --init "$OUT/superpoint-lite-v5.pt" --threads 1
cp "$OUT/sp-consist/joint/final.pt" "$OUT/superpoint-lite-v6.pt"

# step 9 (v7): v6 labels the photos (839 s), joint from v6 with the repeatability term (1,467 s),
# 1 torch thread each (runs/sp-consist-round2.sh):
C2=cvlearned/training/configs/superpoint-lite-infonce-consistency.yaml
cvlearned train superpoint --stage adapt --config $C2 --out "$OUT/sp-consist-r2" --images "$DATA/photos" \
    --detector "$OUT/superpoint-lite-v6.pt" --threads 1
cvlearned train superpoint --stage joint --config $C2 --out "$OUT/sp-consist-r2" --images "$DATA/photos" \
    --init "$OUT/superpoint-lite-v6.pt" --threads 1

# The card's last step (cp runs/sp-consist-r2/joint/final.pt weights/superpoint-lite-v7.pt) is not
# done: shipped weights are never overwritten; the file is copied into $OUT instead.
cp "$OUT/sp-consist-r2/joint/final.pt" "$OUT/superpoint-lite-v7.pt"
echo "wrote $OUT/superpoint-lite-v7.pt"
sha256sum "$OUT/superpoint-lite-v7.pt"
