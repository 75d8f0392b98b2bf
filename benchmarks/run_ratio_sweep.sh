#!/usr/bin/env bash
# Lowe-ratio sweep on the pose pairs (TUM fr2_desk, 30 rendered scenes): every descriptor on the
# same SIFT keypoints, mutual nearest neighbours with ratio R (0 = none), 20 RANSAC runs per pair.
# Shows how much a pose comparison depends on a matcher setting tuned for SIFT's distances.
# Usage: benchmarks/run_ratio_sweep.sh [SHARED_DATA_DIR] [extra options for cvlearned bench...]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
shift || true
COMMON=(--keypoints sift --features sift,daisy,ucn --max-keypoints 2048 --ransac-runs 20 --no-progress "$@")
for RATIO in 0 0.95 0.9 0.8 0.7; do
  cvlearned bench "${COMMON[@]}" --ratio $RATIO --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" \
      --out "benchmarks/results/ratio-sweep-tum/ratio-$RATIO"
  cvlearned bench "${COMMON[@]}" --ratio $RATIO --dataset synthetic-scenes --max-pairs 30 \
      --out "benchmarks/results/ratio-sweep-scenes/ratio-$RATIO"
done
