"""Panorama stitching with any cvlearned feature inside OpenCV's stitching *detail* pipeline.

    python examples/panorama.py IMG1 IMG2 ... [--feature NAME] [--matcher ratio | NAME | lightglue:PATH]
        [--out PANO.jpg]

Pipeline: features (``cvlearned.adapters.stitching``) → pairwise matcher →
``leaveBiggestComponent`` → ``HomographyBasedEstimator`` → ``BundleAdjusterRay`` → wave
correction → spherical warping → block-gain exposure compensation → graph-cut seams →
multi-band blending. Registration runs at ``work_megapix``, seams at ``seam_megapix`` and
composition at ``compose_megapix`` (None = full resolution).

The pairwise matcher (``--matcher``) runs inside OpenCV's C++ pipeline, no Python bridge:
``ratio`` (the default) is OpenCV's own ``cv2.detail_BestOf2NearestMatcher`` (Lowe's ratio
``1 - match_conf`` in both directions); a learned matcher (a shipped name, or
``lightglue:PATH``, a LightGlue weight file for the feature) is exported to ONNX
(:func:`cvlearned.adapters.onnx_matcher.export_matcher_onnx`, needs ``onnx``) and run by
``cv2.detail_LightGlueFeaturesMatcher(cv2.LightGlueMatcher_createFromMemory(...))``, which
takes that file unchanged (OpenCV 5.1; all layers, no early stopping). ``mnn`` has no
stitching counterpart and is refused.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

import cvlearned
from cvlearned.adapters.stitching import image_features
from cvlearned.cli_args import HelpFormatter, feature_name, matcher_spec, show_progress
from cvlearned.matchers.spec import DEFAULT_MATCHER, MatcherChoice, matcher_for, parse_matcher


@dataclass(frozen=True)
class PanoramaSettings:
    """Knobs of the pipeline (defaults follow OpenCV's stitching_detailed sample)."""

    work_megapix: float = 0.6  # registration resolution
    seam_megapix: float = 0.1  # seam estimation resolution
    compose_megapix: float | None = None  # None = compose at full resolution
    match_conf: float = 0.3  # BestOf2Nearest keeps d1 < (1 - match_conf) * d2
    conf_thresh: float = 1.0  # pair confidence needed to stay in the panorama
    wave_correct: bool = True  # horizontal wave correction
    blend_strength: float = 5.0  # multi-band blend width, % of the panorama diagonal scale


@dataclass(frozen=True)
class Panorama:
    """Stitching result.

    image: (H, W, 3) uint8 BGR panorama; mask: (H, W) uint8, 255 where covered;
    cameras: ``cv2.detail.CameraParams`` of the used images at full resolution
    (``R`` float32 camera → panorama rotation, ``focal``/``ppx``/``ppy`` in pixels);
    indices: (M,) positions in the input list of the images that were stitched.
    """

    image: np.ndarray
    mask: np.ndarray
    cameras: list[Any]
    indices: np.ndarray


def _as_bgr(image: Any, i: int) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise TypeError(f"image {i} must be a non-empty uint8 numpy array")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"image {i} must be (H, W) or (H, W, 3), got {image.shape}")


def _check_images(images: Any) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) or len(images) < 2:
        raise ValueError("stitching needs a sequence of at least two images")
    return [_as_bgr(im, i) for i, im in enumerate(images)]


def _megapix_scale(images: list[np.ndarray], megapix: float | None) -> float:
    """Scale (<= 1) that brings the largest image to ``megapix`` megapixels (None: 1)."""
    if megapix is None:
        return 1.0
    area = max(im.shape[0] * im.shape[1] for im in images)
    return min(1.0, float(np.sqrt(megapix * 1e6 / area)))


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _scaled_K(camera: Any, scale: float) -> np.ndarray:
    """(3, 3) float32 intrinsics of ``camera`` for an image resized by ``scale``."""
    K = camera.K().astype(np.float32)
    K[:2] *= scale
    return K


def _make_feature(feature: Any) -> Any:
    return cvlearned.create(feature) if isinstance(feature, str) else feature


def learned_features_matcher(matcher: Any) -> Any:
    """``cv2.detail_LightGlueFeaturesMatcher`` running a learned ``matcher``'s ONNX export."""
    import tempfile

    from cvlearned.adapters.onnx_matcher import export_matcher_onnx

    with tempfile.TemporaryDirectory() as tmp:
        model = export_matcher_onnx(matcher, Path(tmp) / "matcher.onnx").read_bytes()
    return cv2.detail_LightGlueFeaturesMatcher(cv2.LightGlueMatcher_createFromMemory(np.frombuffer(model, np.uint8)))


def features_matcher(matcher: str | MatcherChoice, feature: Any, detector: Any, match_conf: float) -> Any:
    """The stitching pipeline's pairwise matcher for a ``--matcher`` value (module docstring);
    ``feature``: the registered name of ``detector`` (learned matchers need it).

    Raises:
        ValueError: ``mnn``, or a learned matcher with a feature object or descriptors it cannot take.
    """
    choice = parse_matcher(matcher) if isinstance(matcher, str) else matcher
    if choice.name == "ratio":
        return cv2.detail_BestOf2NearestMatcher(False, match_conf)
    if choice.plain:
        raise ValueError(f"matcher {choice.label!r} has no stitching counterpart: use ratio "
                         "(cv2.detail_BestOf2NearestMatcher) or a learned matcher")
    if not isinstance(feature, str):
        raise ValueError(f"matcher {choice.label!r} needs the feature as a registered name, got a "
                         f"{type(feature).__name__}")
    return learned_features_matcher(matcher_for(choice, cvlearned.feature_spec(feature).name, detector))


def estimate_cameras(
    images: list[np.ndarray], feature: Any = None, settings: PanoramaSettings = PanoramaSettings(),
    progress: bool = False, matcher: str | MatcherChoice = DEFAULT_MATCHER,
) -> tuple[list[Any], np.ndarray]:
    """Register the images: → (cameras at full resolution, (M,) indices of the images kept).

    ``feature`` is a registered name, a Feature2D-like object, or None for
    :func:`cvlearned.default_feature`; ``matcher`` a ``--matcher`` value (:func:`features_matcher`);
    ``progress`` draws a tqdm bar over the images. Raises RuntimeError when fewer than two
    images connect or the estimator / bundle adjuster fails.
    """
    images = _check_images(images)
    feature = cvlearned.default_feature() if feature is None else feature
    detector = _make_feature(feature)
    matcher = features_matcher(matcher, feature, detector, settings.match_conf)
    work_scale = _megapix_scale(images, settings.work_megapix)
    features = [image_features(detector, _resize(im, work_scale), i)
                for i, im in enumerate(tqdm(images, desc="features", unit="image", disable=not progress))]

    pairwise = matcher.apply2(features)
    indices = np.asarray(cv2.detail.leaveBiggestComponent(features, pairwise, settings.conf_thresh)).ravel()
    if len(indices) < 2:
        raise RuntimeError("fewer than two images could be matched with enough confidence")
    if len(indices) < len(features):  # the Python binding does not shrink the lists in place
        features = [features[i] for i in indices]
        for new_idx, f in enumerate(features):
            f.img_idx = new_idx
        pairwise = matcher.apply2(features)
    matcher.collectGarbage()

    ok, cameras = cv2.detail_HomographyBasedEstimator().apply(features, pairwise, None)
    if not ok:
        raise RuntimeError("homography-based camera estimation failed")
    for cam in cameras:
        cam.R = cam.R.astype(np.float32)
    adjuster = cv2.detail_BundleAdjusterRay()
    adjuster.setConfThresh(settings.conf_thresh)
    adjuster.setRefinementMask(np.ones((3, 3), np.uint8))
    ok, cameras = adjuster.apply(features, pairwise, cameras)
    if not ok:
        raise RuntimeError("bundle adjustment failed")
    if settings.wave_correct:
        rmats = cv2.detail.waveCorrect([np.copy(c.R) for c in cameras], cv2.detail.WAVE_CORRECT_HORIZ)
        for cam, R in zip(cameras, rmats):
            cam.R = R
    for cam in cameras:  # work resolution → full resolution
        cam.focal /= work_scale
        cam.ppx /= work_scale
        cam.ppy /= work_scale
    return list(cameras), indices


def _seam_masks(images: list[np.ndarray], cameras: list[Any], pano_scale: float, settings: PanoramaSettings
                ) -> tuple[Any, list[np.ndarray]]:
    """Gain compensator fed at seam resolution and the (seam-resolution) graph-cut seam masks."""
    scale = _megapix_scale(images, settings.seam_megapix)
    warper = cv2.PyRotationWarper("spherical", pano_scale * scale)
    corners, warped, masks = [], [], []
    for image, cam in zip(images, cameras):
        small = _resize(image, scale)
        K = _scaled_K(cam, scale)
        corner, img_w = warper.warp(small, K, cam.R, cv2.INTER_LINEAR, cv2.BORDER_REFLECT)
        _, mask_w = warper.warp(np.full(small.shape[:2], 255, np.uint8), K, cam.R, cv2.INTER_NEAREST,
                                cv2.BORDER_CONSTANT)
        corners.append(corner)
        warped.append(img_w)
        masks.append(mask_w)
    compensator = cv2.detail.ExposureCompensator_createDefault(cv2.detail.ExposureCompensator_GAIN_BLOCKS)
    compensator.feed(corners=corners, images=warped, masks=masks)
    seam_finder = cv2.detail_GraphCutSeamFinder("COST_COLOR")
    seams = seam_finder.find([w.astype(np.float32) for w in warped], corners, masks)
    return compensator, [s.get() if isinstance(s, cv2.UMat) else s for s in seams]


def compose(images: list[np.ndarray], cameras: list[Any], settings: PanoramaSettings = PanoramaSettings()
            ) -> tuple[np.ndarray, np.ndarray]:
    """Warp, compensate, cut and blend: → ((H, W, 3) uint8 panorama, (H, W) uint8 mask)."""
    images = _check_images(images)
    if len(cameras) != len(images):
        raise ValueError(f"got {len(cameras)} cameras for {len(images)} images")
    pano_scale = float(np.median([c.focal for c in cameras]))  # sphere radius at full resolution
    compensator, seams = _seam_masks(images, cameras, pano_scale, settings)
    scale = _megapix_scale(images, settings.compose_megapix)
    warper = cv2.PyRotationWarper("spherical", pano_scale * scale)
    layers = []
    for idx, (image, cam) in enumerate(zip(images, cameras)):
        big = _resize(image, scale)
        K = _scaled_K(cam, scale)
        corner, img_w = warper.warp(big, K, cam.R, cv2.INTER_LINEAR, cv2.BORDER_REFLECT)
        _, mask_w = warper.warp(np.full(big.shape[:2], 255, np.uint8), K, cam.R, cv2.INTER_NEAREST,
                                cv2.BORDER_CONSTANT)
        img_w = compensator.apply(idx, corner, img_w, mask_w)
        seam = cv2.resize(cv2.dilate(seams[idx], None), (mask_w.shape[1], mask_w.shape[0]),
                          interpolation=cv2.INTER_LINEAR_EXACT)
        layers.append((img_w.astype(np.int16), cv2.bitwise_and(seam, mask_w), corner))
    roi = cv2.detail.resultRoi(corners=[c for _, _, c in layers],
                               sizes=[(m.shape[1], m.shape[0]) for _, m, _ in layers])
    blend_width = np.sqrt(roi[2] * roi[3]) * settings.blend_strength / 100.0
    blender = cv2.detail_MultiBandBlender()
    blender.setNumBands(max(1, int(np.ceil(np.log2(max(blend_width, 2.0))) - 1)))
    blender.prepare(roi)
    for img_w, mask_w, corner in layers:
        blender.feed(cv2.UMat(img_w), mask_w, corner)
    result, result_mask = blender.blend(None, None)
    return np.clip(result, 0, 255).astype(np.uint8), result_mask


def stitch(images: list[np.ndarray], feature: Any = None, settings: PanoramaSettings = PanoramaSettings(),
           progress: bool = False, matcher: str | MatcherChoice = DEFAULT_MATCHER) -> Panorama:
    """Register and compose ``images`` (BGR or gray uint8) into a spherical panorama
    (``progress``: a tqdm bar over feature extraction; ``matcher``: see :func:`features_matcher`)."""
    images = _check_images(images)
    cameras, indices = estimate_cameras(images, feature, settings, progress, matcher)
    pano, mask = compose([images[i] for i in indices], cameras, settings)
    return Panorama(pano, mask, cameras, indices)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("images", nargs="+", help="two or more overlapping photos taken from one spot")
    parser.add_argument("--feature", type=feature_name, default=cvlearned.default_feature(),
                        help=f"registered feature, any of {', '.join(cvlearned.list_features())}")
    parser.add_argument("--matcher", type=matcher_spec, default=parse_matcher(DEFAULT_MATCHER), metavar="SPEC",
                        help="ratio (cv2.detail_BestOf2NearestMatcher, see --match-conf), a shipped learned "
                             "matcher or lightglue:PATH (a LightGlue weight file for --feature, run by "
                             "cv2.detail_LightGlueFeaturesMatcher) (default: ratio)")
    parser.add_argument("--out", type=Path, default=Path("panorama.jpg"), help="output image")
    parser.add_argument("--work-megapix", type=float, default=PanoramaSettings.work_megapix,
                        help="registration resolution in megapixels")
    parser.add_argument("--match-conf", type=float, default=PanoramaSettings.match_conf,
                        help="BestOf2NearestMatcher keeps d1 < (1 - match_conf) * d2")
    parser.add_argument("--no-wave-correct", action="store_true", help="skip horizontal wave correction")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (it is drawn only when stderr is a terminal)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 stitching failed, 2 bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if len(args.images) < 2:
        parser.error("give at least two images")
    images = []
    for path in args.images:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            parser.error(f"cannot read image {path}")
        images.append(image)
    settings = PanoramaSettings(work_megapix=args.work_megapix, match_conf=args.match_conf,
                                wave_correct=not args.no_wave_correct)
    try:
        result = stitch(images, args.feature, settings, show_progress(args.no_progress), matcher=args.matcher)
    except ValueError as exc:  # a --matcher that this feature or the pipeline cannot take
        parser.error(str(exc))
    except (RuntimeError, cv2.error) as exc:
        print(f"stitching failed: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), result.image):
        print(f"cannot write {args.out}", file=sys.stderr)
        return 1
    used = ", ".join(Path(args.images[i]).name for i in result.indices)
    print(f"{args.feature} + {args.matcher.label}: stitched {len(result.indices)}/{len(images)} images ({used}), "
          f"median focal {np.median([c.focal for c in result.cameras]):.1f} px")
    print(f"panorama {result.image.shape[1]}x{result.image.shape[0]}: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
