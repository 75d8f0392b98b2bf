"""Small generated sets on which shipped models are checked against their model cards."""

from __future__ import annotations

import re

import numpy as np

from cvlearned.weight_files import weights_dir

#: a shipped model must keep this fraction of the value its model card records (the cards say so),
#: unless the card also records the value's spread over generated sets (``..._sd``): then it must
#: stay within ``REGRESSION_SDS`` of them
REGRESSION_FRACTION = 0.8
REGRESSION_SDS = 2.0

BUNDLED_NAMES = ("astronaut", "brick", "camera", "chelsea", "coffee", "motorcycle")


def recorded_value(card: str, key: str) -> float:
    """The number recorded as ``key: VALUE`` in the model card ``weights/<card>``."""
    text = (weights_dir() / card).read_text(encoding="utf-8")
    match = re.search(rf"{re.escape(key)}:\s*([0-9.]+)", text)
    assert match, f"the model card {card} must record {key}"
    return float(match.group(1))


def bundled_regression_mma3(feature, seed: int = 0) -> float:
    """MMA@3 (mutual NN + ratio 0.8) on 6 generated viewpoint pairs of bundled photos (320x240)
    drawn with ``seed``."""
    from cvlearned.evaluation.matching import match_descriptors
    from cvlearned.evaluation.metrics import mean_matching_accuracy
    from cvlearned.synthetic.homography import make_homography_pairs
    from cvlearned.synthetic.photos import bundled_photo

    pairs = make_homography_pairs(
        photos=[(n, bundled_photo(n)) for n in BUNDLED_NAMES], n_pairs=6, split="viewpoint", size=(320, 240), seed=seed
    )
    values = []
    for pair in pairs:
        k0, d0 = feature.detectAndCompute(pair.image0, None)
        k1, d1 = feature.detectAndCompute(pair.image1, None)
        m, _ = match_descriptors(d0, d1, mutual=True, ratio=0.8)
        p0 = np.array([k0[i].pt for i in m[:, 0]]).reshape(-1, 2)
        p1 = np.array([k1[j].pt for j in m[:, 1]]).reshape(-1, 2)
        values.append(mean_matching_accuracy(p0, p1, pair.H_0to1, thresholds=[3])[0])
    return float(np.mean(values))


def check_shipped_model_regression(preset: str, **params) -> None:
    """Assert that the shipped ``preset`` (``max_keypoints=1000``, ``params``) keeps the
    ``regression_mma3_bundled`` its model card records: within ``REGRESSION_SDS`` times
    ``regression_mma3_bundled_sd`` when the card records it
    (``benchmarks/feature_regression_noise.py``), else ``REGRESSION_FRACTION`` of it."""
    import cvlearned
    from cvlearned.weight_files import load_manifest, shipped_file

    value = bundled_regression_mma3(cvlearned.create(preset, max_keypoints=1000, **params))
    card = load_manifest()[shipped_file(preset)].model_card
    recorded = recorded_value(card, "regression_mma3_bundled")
    if "regression_mma3_bundled_sd:" in (weights_dir() / card).read_text(encoding="utf-8"):
        sd = recorded_value(card, "regression_mma3_bundled_sd")
        assert abs(value - recorded) <= REGRESSION_SDS * sd, (preset, value, recorded, sd)
    else:
        assert value >= REGRESSION_FRACTION * recorded, (preset, value, recorded)


def bundled_matcher_samples(feature, seed: int = 0) -> list:
    """Labelled matcher pairs (``MatcherSample``) of 6 generated viewpoint pairs of bundled
    photos at 512x384 with the 512 strongest keypoints per image, as in matcher training
    (pairs with an image that has fewer keypoints are skipped)."""
    from cvlearned.synthetic.homography import make_homography_pairs
    from cvlearned.synthetic.photos import bundled_photo
    from cvlearned.training.matcher.matcher_pairs import extract_sample

    photos = [(name, bundled_photo(name)) for name in BUNDLED_NAMES]
    pairs = make_homography_pairs(photos=photos, n_pairs=6, split="viewpoint", size=(512, 384), seed=seed)
    return [s for s in (extract_sample(feature, pair, 512) for pair in pairs) if s is not None]
