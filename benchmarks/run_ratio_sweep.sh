#!/usr/bin/env bash
# Lowe-ratio sweep on the real pose pairs: every descriptor on the same SIFT keypoints, mutual
# nearest neighbours with ratio R (0 = none), 20 RANSAC runs per pair. Shows how much of a pose
# comparison depends on the matcher setting each descriptor's distances were not tuned for.
# Usage: benchmarks/run_ratio_sweep.sh [SHARED_DATA_DIR] [extra options for cvlearned bench...]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
shift || true
for RATIO in 0 0.95 0.9 0.8 0.7; do
  cvlearned bench --keypoints sift --features sift,daisy,ucn --max-keypoints 2048 --ransac-runs 20 --ratio $RATIO \
      --no-progress "$@" --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" --out "benchmarks/results/ratio-sweep-tum/ratio-$RATIO"
done
