#!/usr/bin/env bash
# Descriptors trained with SfM patch pairs (issue 24) against SIFT, DAISY, KAZE and the shipped
# hardnet-lite, every descriptor on the same SIFT keypoints (<= 2048 per image), 20 RANSAC runs
# per pose pair, paired bootstrap against SIFT.
# Usage: benchmarks/run_sfm_training_benchmarks.sh val|test [SHARED_DATA_DIR] [cvlearned bench options...]
#   e.g. --extra "LABEL=hardnet-lite:weights=runs/x/export.pt" to add weights that do not ship.
#
# val  (every choice: which run ships, which scenes): pose pairs of mold_gold_cape (a multiview
#      scene used neither for training nor for test), rendered scenes of seed 1, held-out photo
#      homographies.
# test (never used for a choice): TUM fr2_desk, pose pairs of the five held-out multiview
#      scenes, rendered scenes of seed 0.
# Reconstructions and pose pairs are cached under runs/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
SPLIT="${1:?usage: $0 val|test [SHARED_DATA_DIR] [bench options...]}"
DATA="${2:-../shared/data}"
shift 2 || shift $#
R=benchmarks/results/sfm-training
COMMON=(--keypoints sift --features sift,daisy,kaze,hardnet-lite --max-keypoints 2048 --ransac-runs 20 --no-progress "$@")

pose_pairs() {  # SCENE: reconstruct (cached) and sample 40 pose pairs (cached)
    cvlearned data reconstruct "$DATA/multiview/$1" --out runs/reconstructions --max-side 640 --single-camera \
        --matcher "${2:-exhaustive}" --window 8 --no-progress
    [ -f "runs/pose_pairs/$1/pairs.txt" ] || cvlearned data pose-pairs "runs/reconstructions/$1" \
        --out "runs/pose_pairs/$1" --max-pairs 40
    mkdir -p "$R/summaries"
    cp "runs/reconstructions/$1/summary.json" "$R/summaries/$1.json"
    cp "runs/pose_pairs/$1/pairs_info.tsv" "$R/summaries/$1-pairs_info.tsv"
}

case "$SPLIT" in
val)
    pose_pairs mold_gold_cape sequential
    cvlearned bench "${COMMON[@]}" --dataset pairs:runs/pose_pairs/mold_gold_cape --out $R/val-sfm-mold_gold_cape
    cvlearned bench "${COMMON[@]}" --dataset synthetic-scenes --seed 1 --max-pairs 30 --out $R/val-synthetic-scenes
    cvlearned bench "${COMMON[@]}" --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" \
        --max-pairs 30 --out $R/val-photos-homography
    RESULTS="$R/val-sfm-mold_gold_cape/results.json $R/val-synthetic-scenes/results.json"
    ;;
test)
    cvlearned bench "${COMMON[@]}" --dataset "pairs:$DATA/pose_pairs/tum_fr2_desk" --out $R/test-tum_fr2_desk
    RESULTS="$R/test-tum_fr2_desk/results.json"
    for scene in lund kitchen tum_fr3_office plush south_building; do
        pose_pairs $scene
        cvlearned bench "${COMMON[@]}" --dataset "pairs:runs/pose_pairs/$scene" --out "$R/test-sfm-$scene"
        RESULTS="$RESULTS $R/test-sfm-$scene/results.json"
    done
    cvlearned bench "${COMMON[@]}" --dataset synthetic-scenes --max-pairs 30 --out $R/test-synthetic-scenes
    RESULTS="$RESULTS $R/test-synthetic-scenes/results.json"
    ;;
*)
    echo "first argument must be val or test, got '$SPLIT'" >&2
    exit 2
    ;;
esac
python benchmarks/pose_difference.py $RESULTS --reference sift --threshold 10 --out "$R/$SPLIT-difference-vs-sift.md"
python benchmarks/pose_difference.py $RESULTS --reference hardnet-lite --threshold 10 \
    --out "$R/$SPLIT-difference-vs-hardnet-lite.md"
