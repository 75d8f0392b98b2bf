#!/usr/bin/env bash
# Both SuperPoint presets side by side with the issue's baselines (SIFT, DAISY, KAZE, ORB), one run
# per dataset, quoted in weights/superpoint-v1.md and README.md.
# Usage: benchmarks/run_superpoint_benchmarks.sh [SHARED_DATA_DIR]   (default: ../shared/data)
# Real-photo homographies use only the photos every trainer holds out (photos_split=val).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
FEATURES=sift,daisy,kaze,orb,superpoint-lite,superpoint
OUT=benchmarks/results/superpoint-presets
cvlearned bench --features $FEATURES --dataset synthetic-scenes --max-pairs 30 --max-keypoints 2048 --ransac-runs 20 --no-progress \
    --out $OUT-scenes
cvlearned bench --features $FEATURES --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" --max-keypoints 2048 --ransac-runs 20 \
    --no-progress --out $OUT-tum
cvlearned bench --features $FEATURES --dataset synthetic-homography --max-pairs 30 --max-keypoints 2048 --no-progress \
    --out $OUT-homography
cvlearned bench --features $FEATURES --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" --max-pairs 30 \
    --max-keypoints 2048 --no-progress --out $OUT-photos
python benchmarks/pose_difference.py $OUT-scenes/results.json $OUT-tum/results.json --reference sift \
    --out $OUT-difference-vs-sift.md
python benchmarks/pose_difference.py $OUT-scenes/results.json $OUT-tum/results.json --reference superpoint-lite \
    --out $OUT-difference-vs-lite.md
