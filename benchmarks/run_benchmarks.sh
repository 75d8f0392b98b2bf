#!/usr/bin/env bash
# The benchmark runs quoted in README.md ("Benchmarks"): baselines and shipped learned features.
# Usage: benchmarks/run_benchmarks.sh [SHARED_DATA_DIR]   (default: ../shared/data)
# Real-photo homographies use only the photos every trainer holds out (photos_split=val).
# Pose pairs: 20 RANSAC runs per pair, so each AUC comes with its spread over runs.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
FEATURES=sift,daisy,kaze,akaze,orb,hardnet-lite,superpoint-lite,ucn-lite
cvlearned bench --features $FEATURES --dataset synthetic-scenes --max-pairs 30 --max-keypoints 2048 --ransac-runs 20 --no-progress \
    --out benchmarks/results/synthetic-scenes
cvlearned bench --features $FEATURES --dataset synthetic-homography --max-pairs 30 --max-keypoints 2048 --no-progress \
    --out benchmarks/results/synthetic-homography
cvlearned bench --features $FEATURES --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" --max-pairs 30 \
    --max-keypoints 2048 --no-progress --out benchmarks/results/photos-homography
cvlearned bench --features $FEATURES --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" --max-keypoints 2048 --ransac-runs 20 \
    --no-progress --out benchmarks/results/tum_fr2_desk
