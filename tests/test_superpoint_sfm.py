"""SuperPoint joint training with real SfM crop pairs (``sfm`` config, sparse descriptor loss),
on constructed reconstructions whose second image is a shift of the first."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from cvlearned.models.superpoint import build_net
from cvlearned.reconstruction_io import CameraIntrinsics, ImagePose, Reconstruction
from cvlearned.training.common.correspondence_pairs import CorrespondencePair
from cvlearned.training.common.sfm_crops import sfm_crop_source
from cvlearned.training.superpoint.superpoint_config import SfmCropConfig, load_config
from cvlearned.training.superpoint.superpoint_joint import sfm_losses, train_joint
from cvlearned.training.superpoint.train_superpoint import main as train_superpoint
from test_sfm_pairs import _write_scene

CONFIGS = Path(__file__).resolve().parents[1] / "cvlearned" / "training" / "configs"
V7 = Path(__file__).resolve().parents[1] / "weights" / "superpoint-lite-v7.pt"
SHIFT = np.array([12.0, 5.0])  # image b = image a moved right and down
CROP = (96, 64)  # (w, h) of the training crops in these tests
LOG = logging.getLogger("test.superpoint_sfm")


def _texture(w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def _shift_scene(root: Path, name: str, size: tuple[int, int] = (200, 150)) -> Path:
    """Scene ``root/name``: images a (texture) and b (a shifted by ``SHIFT``), 48 points seen in both."""
    w, h = size
    image_dir = root / f"{name}_images"
    image_dir.mkdir(parents=True)
    texture = _texture(w, h)
    cv2.imwrite(str(image_dir / "a.png"), texture)
    cv2.imwrite(str(image_dir / "b.png"), cv2.warpAffine(texture, np.float64([[1, 0, SHIFT[0]], [0, 1, SHIFT[1]]]),
                                                          (w, h)))
    gx, gy = np.meshgrid(np.linspace(0.1 * w, 0.8 * w, 8), np.linspace(0.1 * h, 0.8 * h, 6))
    xy_a = np.stack([gx.ravel(), gy.ravel()], axis=1)
    n = len(xy_a)
    camera = CameraIntrinsics("PINHOLE", w, h, np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.0]]), np.zeros(5))
    rec = Reconstruction(
        cameras={1: camera}, image_names=("a.png", "b.png"),
        images={"a.png": ImagePose("a.png", 1, np.eye(3), np.zeros(3)),
                "b.png": ImagePose("b.png", 1, np.eye(3), np.array([-0.1, 0.0, 0.0]))},
        xyz=np.zeros((n, 3)), rgb=np.zeros((n, 3), np.uint8), error=np.zeros(n),
        track_offsets=np.arange(0, 2 * n + 1, 2), track_image=np.tile(np.array([0, 1], np.int32), n),
        track_keypoint=np.arange(2 * n, dtype=np.int32), track_xy=np.stack([xy_a, xy_a + SHIFT], 1).reshape(-1, 2),
        track_size=np.full(2 * n, 4.0, np.float32), track_angle=np.zeros(2 * n, np.float32), summary={})
    return _write_scene(rec, root / name, image_dir)


def _sfm_config(cfg, **changes):
    sfm = SfmCropConfig(scenes=("shift",), image_side=0, max_pairs_per_scene=5, min_covisible=10, pairs_per_step=2)
    return dataclasses.replace(cfg, sfm=dataclasses.replace(sfm, **changes))


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIGS / "superpoint-lite-nosfm.yaml")


# --------------------------------------------------------------------------- loss
class _FixedDescriptors(torch.nn.Module):
    """Stands in for a SuperPoint net: returns the given (B, D, Hc, Wc) descriptor maps."""

    def __init__(self, desc: torch.Tensor) -> None:
        super().__init__()
        self.desc = desc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert x.shape[0] == self.desc.shape[0]
        return torch.zeros(x.shape[0], 65, *self.desc.shape[2:]), self.desc


def _matching_maps(n: int, shift_cells: tuple[int, int], hc: int = 8, wc: int = 12) -> torch.Tensor:
    """(2n, 128, hc, wc) unit maps: random ones for the image-0 crops, the same moved by
    ``shift_cells`` = (dx, dy) cells for the image-1 crops."""
    gen = torch.Generator().manual_seed(0)
    desc0 = torch.nn.functional.normalize(torch.randn(n, 128, hc, wc, generator=gen), dim=1)
    return torch.cat([desc0, torch.roll(desc0, shifts=(shift_cells[1], shift_cells[0]), dims=(2, 3))])


def _crops(n: int, shift_px: np.ndarray, rng: np.random.Generator, shuffled: bool = False) -> list[CorrespondencePair]:
    """``n`` 96x64 crop pairs, 30 ground-truth points each, moved by ``shift_px`` (rolled when ``shuffled``)."""
    crops = []
    for _ in range(n):
        gt = np.full((CROP[1], CROP[0], 2), np.nan, np.float32)
        xs = rng.choice(np.arange(4, CROP[0] - 4 - int(shift_px[0])), 30, replace=False)
        ys = rng.integers(4, CROP[1] - 4 - int(shift_px[1]), 30)
        target = np.stack([xs, ys], 1) + shift_px
        gt[ys, xs] = np.roll(target, 7, axis=0) if shuffled else target
        image = np.zeros((CROP[1], CROP[0]), np.uint8)
        crops.append(CorrespondencePair(image, image, gt))
    return crops


def test_sparse_loss_is_minimal_at_the_true_correspondences_only(cfg):
    # descriptors of image 1 are those of image 0 moved by (2, 1) cells = (16, 8) px
    net = _FixedDescriptors(_matching_maps(3, (2, 1)))
    cfg = _sfm_config(cfg)
    true = float(sfm_losses(net, _crops(3, np.array([16.0, 8.0]), np.random.default_rng(0)), cfg))
    shuffled = float(sfm_losses(net, _crops(3, np.array([16.0, 8.0]), np.random.default_rng(0), shuffled=True), cfg))
    swapped = float(sfm_losses(net, _crops(3, np.array([8.0, 16.0]), np.random.default_rng(0)), cfg))
    # positives of cosine 1 against ~96 near-orthogonal negatives at temperature 0.1: ~0
    assert true < 0.05
    assert shuffled > 2.0 and swapped > 2.0


def test_sfm_crops_train_the_descriptor_and_never_the_detector(cfg):
    net = build_net(cfg.preset)
    rng = np.random.default_rng(1)
    texture = _texture(*CROP)
    crops = [dataclasses.replace(c, image0=texture, image1=texture) for c in _crops(2, np.zeros(2), rng)]
    sfm_losses(net, crops, _sfm_config(cfg)).backward()
    assert float(net.convDb.weight.grad.abs().sum()) > 0
    assert all(p.grad is None for p in (*net.convPa.parameters(), *net.convPb.parameters()))


# ------------------------------------------------------------------------- config
@pytest.mark.parametrize("bad", [
    {"scenes": "mary_rose"}, {"scenes": ("",)}, {"pairs_per_step": 0}, {"max_pairs_per_scene": 0},
    {"min_covisible": 1.5}, {"image_side": -1}, {"weight": -0.1}, {"radius": float("nan")}, {"seed": True},
])
def test_sfm_config_is_checked(bad):
    with pytest.raises(ValueError, match=f"sfm.{next(iter(bad))}"):
        SfmCropConfig(**bad)


def test_trainer_config_reads_the_sfm_mapping_and_refuses_unknown_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"sfm": {"scenes": ["a", "b"], "pairs_per_step": 3, "weight": 0.5}}))
    sfm = load_config(path).sfm
    assert (sfm.scenes, sfm.pairs_per_step, sfm.weight) == (("a", "b"), 3, 0.5)
    path.write_text(yaml.safe_dump({"sfm": {"fraction": 0.5}}))
    with pytest.raises(ValueError, match="fraction"):
        load_config(path)


def test_the_ablation_config_is_the_sfm_config_without_sfm():
    sfm, nosfm = load_config(CONFIGS / "superpoint-lite-sfm.yaml"), load_config(CONFIGS / "superpoint-lite-nosfm.yaml")
    assert sfm.sfm.scenes and not nosfm.sfm.scenes
    assert dataclasses.replace(sfm, sfm=SfmCropConfig()) == nosfm
    held_out = {"lund", "kitchen", "tum_fr3_office", "plush", "south_building", "mold_gold_cape"}
    assert not held_out & set(sfm.sfm.scenes)


# -------------------------------------------------------------------------- crops
def test_crop_source_gives_training_size_crops_of_the_scene(tmp_path, cfg):
    _shift_scene(tmp_path, "shift")
    source = sfm_crop_source(_sfm_config(cfg).sfm, tmp_path, CROP)
    assert source is not None and len(source) == 1
    pair = source.draw(np.random.default_rng(0))
    assert pair.image0.shape == pair.image1.shape == (CROP[1], CROP[0])
    assert np.isfinite(pair.gt).all(axis=2).sum() >= 1
    assert sfm_crop_source(cfg.sfm, tmp_path, CROP) is None  # no scenes configured


def test_crop_source_refuses_a_scene_smaller_than_the_crops(tmp_path, cfg):
    _shift_scene(tmp_path, "shift")
    _shift_scene(tmp_path, "small", size=(120, 50))
    with pytest.raises(ValueError, match="small_images.*96x64"):
        sfm_crop_source(_sfm_config(cfg, scenes=("shift", "small")).sfm, tmp_path, CROP)


def test_train_joint_needs_a_source_exactly_when_scenes_are_set(tmp_path, cfg):
    images, points = np.zeros((2, CROP[1], CROP[0]), np.uint8), [np.zeros((0, 2), np.float32)] * 2
    with pytest.raises(ValueError, match="SfM crop source"):
        train_joint(_sfm_config(cfg), images, points, tmp_path, LOG, progress=False)


# ---------------------------------------------------------------------- end to end
def test_two_joint_steps_with_sfm_fine_tune_the_shipped_weights(tmp_path):
    recs, out = tmp_path / "recs", tmp_path / "run"
    _shift_scene(recs, "shift")
    out.mkdir()
    texture = _texture(*CROP)
    np.savez(out / "adapt.npz", images=np.stack([texture, texture[::-1].copy()]),
             offsets=np.array([0, 2, 4]), points=np.array([[20.0, 20], [50, 30], [30, 40], [70, 20]], np.float32))
    config = yaml.safe_load((CONFIGS / "superpoint-lite-sfm.yaml").read_text())
    config["joint"].update(steps=2, batch_size=2, warmup_steps=1, log_every=1, max_minutes=None)
    config["sfm"].update(scenes=["shift"], image_side=0, min_covisible=10)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert train_superpoint(["--stage", "joint", "--config", str(tmp_path / "c.yaml"), "--out", str(out),
                             "--reconstructions", str(recs), "--init", str(V7)]) == 0
    assert (out / "joint" / "final.pt").is_file()
    logged = [json.loads(line.split(" INFO ", 1)[1]) for line in (out / "joint" / "train.log").read_text().splitlines()
              if ' INFO {"step"' in line]
    assert [entry["step"] for entry in logged] == [1, 2]
    assert all(np.isfinite(entry["sfm"]) and entry["sfm"] > 0 for entry in logged)
