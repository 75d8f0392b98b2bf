#!/usr/bin/env bash
# Features trained with real SfM supervision (issue 24) against SIFT, DAISY, KAZE and the model
# they were trained from; 20 RANSAC runs per pose pair, paired bootstrap against SIFT and that model.
# Usage: benchmarks/run_sfm_training_benchmarks.sh SPLIT [SHARED_DATA_DIR] [cvlearned bench options...]
#   e.g. --extra "LABEL=hardnet-lite:weights=runs/x/export.pt" to add weights that do not ship;
#   SFM_RESULTS=DIR writes elsewhere than benchmarks/results/sfm-training (a second round).
#
# SPLIT: val | test              descriptors on the same SIFT keypoints (<= 2048 per image):
#                                sift, daisy, kaze, hardnet-lite (+ hardnet-lite-sfm in test)
#        val-detectors | test-detectors   each feature's own keypoints (<= 2048): sift,
#                                superpoint-lite (+ superpoint-lite-sfm in test)
# val  (every choice: which run ships, which scenes): pose pairs of mold_gold_cape (a multiview
#      scene used neither for training nor for test), rendered scenes of seed 1, held-out photo
#      homographies.
# test (never used for a choice): TUM fr2_desk, pose pairs of the five held-out multiview
#      scenes (also pooled, and pooled over pairs rotated >= 30 deg), rendered scenes of seed 0.
# Reconstructions and pose pairs are cached under runs/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
SPLIT="${1:?usage: $0 val|test|val-detectors|test-detectors [SHARED_DATA_DIR] [bench options...]}"
DATA="${2:-../shared/data}"
shift 2 || shift $#
R="${SFM_RESULTS:-benchmarks/results/sfm-training}"
case "$SPLIT" in
val | test)
    BASE=hardnet-lite TAG="" FEATURES=sift,daisy,kaze,hardnet-lite KEYPOINTS=(--keypoints sift) ;;
val-detectors | test-detectors)
    BASE=superpoint-lite TAG=detectors- FEATURES=sift,superpoint-lite KEYPOINTS=() ;;
*)
    echo "first argument must be val, test, val-detectors or test-detectors, got '$SPLIT'" >&2
    exit 2 ;;
esac
[[ "$SPLIT" == test* ]] && FEATURES=$FEATURES,$BASE-sfm  # the shipped choice
COMMON=("${KEYPOINTS[@]}" --features $FEATURES --max-keypoints 2048 --ransac-runs 20 --no-progress "$@")
HELD_OUT="lund kitchen tum_fr3_office plush south_building"

pose_pairs() {  # SCENE [reconstruct options]: reconstruct (cached) and sample 40 pose pairs (cached)
    cvlearned data reconstruct "$DATA/multiview/$1" --out runs/reconstructions --max-side 640 --single-camera \
        --no-progress "${@:2}"
    [ -f "runs/pose_pairs/$1/pairs.txt" ] || cvlearned data pose-pairs "runs/reconstructions/$1" \
        --out "runs/pose_pairs/$1" --max-pairs 40
    mkdir -p "$R/summaries"
    cp "runs/reconstructions/$1/summary.json" "$R/summaries/$1.json"
    cp "runs/pose_pairs/$1/pairs_info.tsv" "$R/summaries/$1-pairs_info.tsv"
}

bench() {  # DATASET OUT-NAME [options]
    cvlearned bench "${COMMON[@]}" --dataset "$1" --out "$R/$TAG$2" "${@:3}"
    RESULTS="${RESULTS:-} $R/$TAG$2/results.json"
}

if [[ "$SPLIT" == val* ]]; then
    pose_pairs mold_gold_cape --matcher sequential --window 8
    bench pairs:runs/pose_pairs/mold_gold_cape val-sfm-mold_gold_cape
    bench synthetic-scenes val-synthetic-scenes --seed 1 --max-pairs 30
    cvlearned bench "${COMMON[@]}" --dataset "synthetic-homography:photos=$DATA/photos,photos_split=val" \
        --max-pairs 30 --out "$R/${TAG}val-photos-homography"
else
    bench "pairs:$DATA/pose_pairs/tum_fr2_desk" test-tum_fr2_desk
    SFM_TEST=""
    for scene in $HELD_OUT; do
        pose_pairs $scene
        bench "pairs:runs/pose_pairs/$scene" "test-sfm-$scene"
        SFM_TEST="$SFM_TEST $R/${TAG}test-sfm-$scene/results.json"
    done
    bench synthetic-scenes test-synthetic-scenes --max-pairs 30
    for reference in sift $BASE; do
        python benchmarks/pose_difference.py $SFM_TEST --reference $reference --pool "SfM held-out" \
            --out "$R/${TAG}test-sfm-pooled-vs-$reference.md"
        python benchmarks/pose_difference.py $SFM_TEST --reference $reference --pool "SfM held-out" \
            --min-rotation 30 --out "$R/${TAG}test-sfm-wide-vs-$reference.md"
    done
fi
for reference in sift $BASE; do
    python benchmarks/pose_difference.py $RESULTS --reference $reference --threshold 10 \
        --out "$R/$TAG${SPLIT%-detectors}-difference-vs-$reference.md"
done
