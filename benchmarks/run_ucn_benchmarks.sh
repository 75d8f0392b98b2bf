#!/usr/bin/env bash
# The UCN benchmark (issue "UCN"): dense correspondence PCK (the UCN paper's Fig. 5 set-up) and
# pose deviation with every descriptor on the same SIFT keypoints (its Table 6 set-up), against
# SIFT, DAISY and KAZE; 20 RANSAC runs per pose pair give each AUC's spread. Real-photo
# homographies use only the photos every trainer holds out.
# Usage: benchmarks/run_ucn_benchmarks.sh [SHARED_DATA_DIR] [extra options for both tools...]
#   e.g. --extra "LABEL=ucn:weights=runs/x/export.pt" to add weights that do not ship.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
shift || true
FEATURES=sift,daisy,kaze,ucn-lite,ucn
python benchmarks/dense_pck.py --features $FEATURES --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" \
    --dataset synthetic-scenes --max-pairs 6 --threads 2 --no-progress "$@" --out benchmarks/results/dense-pck
COMMON=(--keypoints sift --features $FEATURES --max-keypoints 2048 --ransac-runs 20 --no-progress "$@")
cvlearned bench "${COMMON[@]}" --dataset synthetic-scenes --max-pairs 30 --out benchmarks/results/ucn-synthetic-scenes
cvlearned bench "${COMMON[@]}" --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" --out benchmarks/results/ucn-tum_fr2_desk
