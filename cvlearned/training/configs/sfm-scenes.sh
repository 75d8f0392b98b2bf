#!/usr/bin/env bash
# The reconstructions the sfm: sections of the training configs read (issue 24): COLMAP SIFT
# reconstructions of ../shared/data/multiview scenes, cached in runs/reconstructions (ignored
# by git). Scenes never used for training: lund, kitchen, tum_fr3_office, plush,
# south_building (test) and mold_gold_cape (validation; see benchmarks/run_sfm_training_benchmarks.sh).
# Usage: cvlearned/training/configs/sfm-scenes.sh [SHARED_DATA_DIR]   (from the repository root)
set -euo pipefail
DATA="${1:-../shared/data}"
reconstruct() {  # SCENE MATCHER
    cvlearned data reconstruct "$DATA/multiview/$1" --out runs/reconstructions --matcher "$2" --window 8 \
        --max-side 640 --single-camera --no-progress
}
reconstruct relief exhaustive            # Beerware
reconstruct mary_rose sequential         # CC BY 4.0
reconstruct skull sequential             # CC BY 4.0
reconstruct kitti07 sequential           # CC BY-NC-SA 3.0
reconstruct vespasian sequential         # CC BY-NC-SA 4.0
reconstruct alexander_the_great sequential   # CC BY-NC-SA
reconstruct ethiopian_head sequential    # CC BY-NC-SA
reconstruct apotheosis_homer exhaustive  # CC BY-NC-SA 4.0
