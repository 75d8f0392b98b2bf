#!/usr/bin/env bash
# xfeat-lite (issue 27) against SIFT, DAISY, KAZE and superpoint-lite, each with its own keypoints
# (<= 2048 per image, mutual NN + ratio 0.8, 20 RANSAC runs per pose pair, paired bootstrap).
# Usage: benchmarks/run_xfeat_benchmarks.sh val|test [SHARED_DATA_DIR] [cvlearned bench options...]
#   e.g. --extra "t02=xfeat-lite:detection_threshold=0.02" to compare settings on validation.
#
# val  (every choice: detection threshold, sub-pixel refinement): pose pairs of mold_gold_cape
#      (a multiview scene no model trains or is tested on), rendered scenes of seed 1, generated
#      homographies of seed 1.
# test (never used for a choice): TUM fr2_desk, held-out photo homographies (photos_split=val:
#      the photos no trainer sees), pose pairs of the five held-out multiview scenes (pooled),
#      rendered scenes of seed 0.
# Pose pairs are cached under runs/ (ignored by git): benchmarks/run_sfm_training_benchmarks.sh
# documents how they are made.
set -euo pipefail
cd "$(dirname "$0")/.."
SPLIT="${1:?usage: $0 val|test [SHARED_DATA_DIR] [bench options...]}"
DATA="${2:-../shared/data}"
shift 2 || shift $#
R=benchmarks/results/xfeat
case "$SPLIT" in
val) FEATURES=sift,superpoint-lite,xfeat-lite ;;
test) FEATURES=sift,daisy,kaze,superpoint-lite,xfeat-lite ;;
*) echo "first argument must be val or test, got '$SPLIT'" >&2; exit 2 ;;
esac
COMMON=(--features $FEATURES --max-keypoints 2048 --ransac-runs 20 --no-progress "$@")
RESULTS=""
bench() {  # DATASET OUT-NAME [options]
    cvlearned bench "${COMMON[@]}" --dataset "$1" --out "$R/$SPLIT-$2" "${@:3}"
    RESULTS="$RESULTS $R/$SPLIT-$2/results.json"
}
if [[ "$SPLIT" == val ]]; then
    bench pairs:runs/pose_pairs/mold_gold_cape sfm-mold_gold_cape
    bench synthetic-scenes synthetic-scenes --seed 1 --max-pairs 30
    bench synthetic-homography synthetic-homography --seed 1 --max-pairs 30
    python benchmarks/pose_difference.py $R/val-sfm-mold_gold_cape/results.json \
        $R/val-synthetic-scenes/results.json --reference sift --threshold 10 --out $R/val-difference-vs-sift.md
else
    bench "pairs:$DATA/pose_pairs/tum_fr2_desk" tum_fr2_desk
    bench "synthetic-homography:photos=$DATA/photos,photos_split=val" photos-homography --max-pairs 30
    SFM=""
    for scene in lund kitchen tum_fr3_office plush south_building; do
        bench "pairs:runs/pose_pairs/$scene" "sfm-$scene"
        SFM="$SFM $R/test-sfm-$scene/results.json"
    done
    bench synthetic-scenes synthetic-scenes --max-pairs 30
    python benchmarks/pose_difference.py $R/test-tum_fr2_desk/results.json $R/test-synthetic-scenes/results.json \
        --reference sift --threshold 10 --out $R/test-difference-vs-sift.md
    python benchmarks/pose_difference.py $SFM --reference sift --pool "SfM held-out" --threshold 10 \
        --out $R/test-sfm-pooled-vs-sift.md
fi
