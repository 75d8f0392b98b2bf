"""Stage 3 of SuperPoint training: homographic adaptation (DeTone et al., 2018, Sec. 5).

For each photo, the detector runs on N warped copies (the identity plus N-1 random
homographies); each heatmap is warped back and the results are averaged over the views
that saw each pixel. Non-maximum suppression and a threshold on the aggregate give the
pseudo-ground-truth keypoints of the joint stage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from cvlearned.models.heatmap import heatmap_from_logits, heatmap_keypoints, pad_to_cells
from cvlearned.models.superpoint import build_net
from cvlearned.synthetic.homography import HomographyDistribution, sample_homography, warp_image
from cvlearned.training.superpoint.superpoint_config import AdaptConfig, SuperPointTrainConfig
from cvlearned.weight_files import load_into, load_state_dict

__all__ = ["load_detector", "detector_heatmaps", "aggregate_heatmap", "pseudo_labels", "photo_crops", "adapt_photos"]


def load_detector(preset: str, path: str | os.PathLike) -> torch.nn.Module:
    """A :class:`SuperPointNet` of ``preset`` with the weights at ``path`` (eval mode)."""
    net = build_net(preset)
    load_into(net, load_state_dict(path), path)
    return net.eval()


def detector_heatmaps(net: Any, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """(B, H, W) uint8 → (B, H, W) float32 keypoint probabilities."""
    h, w = images.shape[1:3]
    out = np.empty(images.shape, np.float32)
    with torch.inference_mode():
        for s in range(0, len(images), batch):
            x = pad_to_cells(torch.from_numpy(images[s : s + batch]).float()[:, None] / 255.0)
            logits = net.detector_logits(net.encode(x))
            out[s : s + batch] = heatmap_from_logits(logits)[:, :h, :w].numpy()
    return out


def aggregate_heatmap(
    net: Any, gray: np.ndarray, count: int, rng: np.random.Generator,
    dist: HomographyDistribution | None = None, border_erode: int = 3,
) -> np.ndarray:
    """Mean of the back-warped heatmaps of ``count`` views (view 0 = identity), (H, W) float32.

    The warped images' black borders are excluded (valid masks eroded by
    ``border_erode`` px), so the artificial edges they create never vote.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    h, w = gray.shape
    homographies = [np.eye(3)] + [sample_homography(rng, (w, h), dist) for _ in range(count - 1)]
    ones = np.ones((h, w), np.uint8)
    kernel = np.ones((2 * border_erode + 1, 2 * border_erode + 1), np.uint8)
    views = np.stack([warp_image(gray, H, (w, h)) for H in homographies])
    masks = [cv2.erode(warp_image(ones, H, (w, h)), kernel, borderValue=1) for H in homographies]
    heats = detector_heatmaps(net, views)
    total, seen = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    for H, heat, mask in zip(homographies, heats, masks):
        Hinv = np.linalg.inv(H)
        total += cv2.warpPerspective(heat * mask, Hinv, (w, h), flags=cv2.INTER_LINEAR)
        seen += cv2.warpPerspective(mask.astype(np.float32), Hinv, (w, h), flags=cv2.INTER_LINEAR)
    return total / np.maximum(seen, 1e-6) * (seen > 0.5)


def pseudo_labels(heat: np.ndarray, cfg: AdaptConfig) -> np.ndarray:
    """(H, W) aggregate heatmap → (N, 2) float32 keypoints (x, y) after NMS and threshold,
    sub-pixel when ``cfg.refine_radius`` > 0 (the inference refinement, on the aggregate)."""
    points, _ = heatmap_keypoints(torch.from_numpy(heat), cfg.nms_radius, cfg.detection_threshold, cfg.border,
                                  cfg.max_keypoints, cfg.refine_radius)
    return points.numpy().astype(np.float32)


def photo_crops(photo: np.ndarray, size: tuple[int, int], count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` gray crops of ``size`` = (w, h): the whole photo (cover + centre crop), then
    random crops zoomed 1.3-2x."""
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY) if photo.ndim == 3 else photo
    w, h = size
    crops = []
    for k in range(count):
        zoom = 1.0 if k == 0 else float(rng.uniform(1.3, 2.0))
        scale = zoom * max(w / gray.shape[1], h / gray.shape[0])
        resized = cv2.resize(gray, (max(w, round(gray.shape[1] * scale)), max(h, round(gray.shape[0] * scale))),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        if k == 0:
            x0, y0 = (resized.shape[1] - w) // 2, (resized.shape[0] - h) // 2
        else:
            x0 = int(rng.integers(0, resized.shape[1] - w + 1))
            y0 = int(rng.integers(0, resized.shape[0] - h + 1))
        crops.append(np.ascontiguousarray(resized[y0 : y0 + h, x0 : x0 + w]))
    return crops


def adapt_photos(
    net: Any, photos: list[tuple[str, np.ndarray]], cfg: SuperPointTrainConfig, out_path: str | os.PathLike,
    progress: bool = False,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Pseudo-label ``crops_per_photo`` crops of every photo; save and return (images, points).

    Seeded per photo index; the .npz holds ``images`` (M, H, W) uint8, concatenated
    ``points`` with ``offsets`` and the crop ``names``.
    """
    a = cfg.adapt
    items = list(enumerate(photos))
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="homographic adaptation", mininterval=10.0)
    images, points, names = [], [], []
    for i, (name, photo) in items:
        rng = np.random.default_rng([cfg.seed, 3, i])
        for k, crop in enumerate(photo_crops(photo, a.image_size, a.crops_per_photo, rng)):
            heat = aggregate_heatmap(net, crop, a.homographies, rng, a.homography)
            images.append(crop)
            points.append(pseudo_labels(heat, a))
            names.append(f"{name}#{k}")
    offsets = np.r_[0, np.cumsum([len(p) for p in points])]
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp.npz")
    np.savez_compressed(tmp, images=np.stack(images), points=np.concatenate(points + [np.zeros((0, 2), np.float32)]),
                        offsets=offsets, names=np.array(names))
    tmp.replace(out_path)
    return np.stack(images), points
