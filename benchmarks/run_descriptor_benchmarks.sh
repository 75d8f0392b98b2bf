#!/usr/bin/env bash
# Descriptors alone on the same SIFT keypoints (issue "HardNet / SOSNet / LIFT family"): every
# feature describes the keypoints SIFT detects once per image (cvlearned bench --keypoints sift);
# 20 RANSAC runs per pose pair give each AUC's spread.
# Usage: benchmarks/run_descriptor_benchmarks.sh [SHARED_DATA_DIR] [extra cvlearned bench options...]
#   e.g. --extra "LABEL=hardnet-lite:weights=runs/x/export.pt" to add weights that do not ship.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
shift || true
FEATURES=sift,daisy,kaze,hardnet-lite,hardnet
COMMON=(--keypoints sift --features $FEATURES --max-keypoints 2048 --ransac-runs 20 --no-progress "$@")
cvlearned bench "${COMMON[@]}" --dataset synthetic-scenes --max-pairs 30 \
    --out benchmarks/results/descriptors-synthetic-scenes
cvlearned bench "${COMMON[@]}" --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" --max-pairs 30 \
    --out benchmarks/results/descriptors-photos-homography
cvlearned bench "${COMMON[@]}" --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" \
    --out benchmarks/results/descriptors-tum_fr2_desk
