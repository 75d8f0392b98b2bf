#!/usr/bin/env bash
# The learned-matcher runs quoted in README.md ("Learned matcher") and in the matcher model cards.
# Usage: benchmarks/run_matcher_benchmarks.sh [SHARED_DATA_DIR]   (default: ../shared/data)
#
# Validation (every choice was made here: keypoints per image, which training stage ships):
#   held-out photo homographies (photos_split=val) and rendered scenes of seed 1.
# Test (never used for a choice): TUM fr2_desk, rendered scenes of seed 0 (the README's set),
#   and pose pairs of the five held-out multiview scenes reconstructed with COLMAP SIFT.
# Pose pairs: 20 RANSAC runs per pair; paired bootstrap against SIFT + mutual NN + ratio 0.8.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
R=benchmarks/results
K=1024
LEARNED=lightglue-lite-sift,lightglue-lite-hardnet-lite
FEATURES=sift,daisy,kaze,hardnet-lite
HELD_OUT="lund kitchen tum_fr3_office plush south_building"

# --- validation
cvlearned bench --features sift,hardnet-lite --matcher ratio,$LEARNED --max-keypoints $K --no-progress \
    --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" --max-pairs 30 --out $R/matcher-val-photos
cvlearned bench --features sift,hardnet-lite --matcher ratio,$LEARNED --max-keypoints $K --no-progress \
    --dataset synthetic-scenes --seed 1 --max-pairs 30 --ransac-runs 5 --out $R/matcher-val-scenes

# --- test
cvlearned bench --features $FEATURES --matcher ratio,$LEARNED --max-keypoints $K --ransac-runs 20 --no-progress \
    --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" --out $R/matcher-tum_fr2_desk
cvlearned bench --features $FEATURES --matcher ratio,$LEARNED --max-keypoints $K --ransac-runs 20 --no-progress \
    --dataset synthetic-scenes --max-pairs 30 --out $R/matcher-synthetic-scenes
mkdir -p $R/matcher-sfm-summaries
for scene in $HELD_OUT; do  # reconstructions and pairs are cached under runs/ (ignored by git)
    cvlearned data reconstruct "$DATA/multiview/$scene" --out runs/reconstructions --max-side 640 --single-camera \
        --no-progress
    [ -f "runs/pose_pairs/$scene/pairs.txt" ] || cvlearned data pose-pairs "runs/reconstructions/$scene" \
        --out "runs/pose_pairs/$scene" --max-pairs 40
    cp "runs/reconstructions/$scene/summary.json" "$R/matcher-sfm-summaries/$scene.json"
    cp "runs/pose_pairs/$scene/pairs_info.tsv" "$R/matcher-sfm-summaries/$scene-pairs_info.tsv"
    cvlearned bench --features $FEATURES --matcher ratio,$LEARNED --max-keypoints $K --ransac-runs 20 --no-progress \
        --dataset "pairs:runs/pose_pairs/$scene" --out "$R/matcher-sfm-$scene"
done
TEST_RESULTS="$R/matcher-tum_fr2_desk/results.json $R/matcher-synthetic-scenes/results.json $(for scene in $HELD_OUT; do
    echo "$R/matcher-sfm-$scene/results.json"; done)"
for reference in sift+ratio hardnet-lite+ratio; do
    python benchmarks/pose_difference.py $TEST_RESULTS --reference $reference --threshold 10 \
        --out "$R/matcher-difference-vs-$reference.md"
done

# --- speed (run on an idle machine)
for k in 1024 2048; do
    python benchmarks/matcher_speed.py --keypoints $k --repeats 10 --threads 2 --out "$R/matcher-speed/results-$k.md"
done
