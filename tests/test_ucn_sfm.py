"""UCN fine-tuning on crops of real SfM pairs (``sfm`` config of cvlearned.training.ucn.train_ucn),
on a constructed reconstruction whose observations are exact correspondences: three views of
a fronto-parallel textured plane, each image the first one shifted by whole pixels."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from cvlearned.reconstruction_io import CameraIntrinsics, ImagePose, Reconstruction
from cvlearned.synthetic.photos import bundled_photo, bundled_photo_names
from cvlearned.training.ucn.ucn_config import SfmCropConfig, load_config
from cvlearned.training.ucn.ucn_pairs import PairSource

CONFIGS = Path(__file__).resolve().parents[1] / "cvlearned" / "training" / "configs"
LOG = logging.getLogger("test_ucn_sfm")
#: image-pixel shift of each view relative to a.png (whole pixels: crops compare exactly)
SHIFTS = {"a.png": (0, 0), "b.png": (24, -12), "c.png": (-16, 20)}
SIZE = (400, 300)  # (w, h) of every image
F, DEPTH = 100.0, 10.0
K = np.array([[F, 0, 199.5], [0, F, 149.5], [0, 0, 1]])
HELD_OUT = {"lund", "kitchen", "tum_fr3_office", "plush", "south_building", "mold_gold_cape"}


def _plane_scene(image_dir: Path, points: int = 400) -> Reconstruction:
    """Write the three views to ``image_dir`` → their reconstruction (every point seen by all)."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, SIZE[::-1], dtype=np.uint8), (0, 0), 1.5)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    image_dir.mkdir(parents=True, exist_ok=True)
    names = tuple(SHIFTS)
    xy_a = np.column_stack([rng.integers(30, SIZE[0] - 30, points), rng.integers(30, SIZE[1] - 30, points)])
    xy_a = xy_a.astype(np.float64)
    xyz = np.column_stack([(xy_a - K[:2, 2]) * DEPTH / F, np.full(points, DEPTH)])
    poses = {}
    for name, (dx, dy) in SHIFTS.items():
        cv2.imwrite(str(image_dir / name), cv2.warpAffine(texture, np.float64([[1, 0, dx], [0, 1, dy]]), SIZE))
        centre = np.array([-dx * DEPTH / F, -dy * DEPTH / F, 0.0])  # projects X to its a.png pixel + shift
        poses[name] = ImagePose(name, 1, np.eye(3), -centre)
    track_image = np.tile(np.arange(3, dtype=np.int32), points)
    track_xy = xy_a[np.repeat(np.arange(points), 3)] + np.array([SHIFTS[n] for n in names])[track_image]
    n = len(track_image)
    return Reconstruction(
        cameras={1: CameraIntrinsics("PINHOLE", SIZE[0], SIZE[1], K, np.zeros(5))}, images=poses, image_names=names,
        xyz=xyz, rgb=np.zeros((points, 3), np.uint8), error=np.zeros(points),
        track_offsets=np.arange(0, n + 1, 3, dtype=np.int64), track_image=track_image,
        track_keypoint=np.arange(n, dtype=np.int32), track_xy=track_xy, track_size=np.full(n, 4.0, np.float32),
        track_angle=np.full(n, np.nan, np.float32), summary={"status": "ok", "image_dir": str(image_dir)})


@pytest.fixture()
def reconstructions(tmp_path, monkeypatch) -> Path:
    """A ``--reconstructions`` folder holding scene ``plane`` (read in memory: the loader is
    replaced by a lookup that fails for any other path)."""
    import cvlearned.training.common.sfm_pairs as sfm_pairs

    root = tmp_path / "recs"
    scenes = {root / "plane": _plane_scene(tmp_path / "images")}
    monkeypatch.setattr(sfm_pairs, "load_reconstruction", lambda scene_dir: scenes[Path(scene_dir)])
    return root


def _tiny_cfg(steps: int = 2, fraction: float = 0.5, **kw):
    """ucn-sfm.yaml at 64x48 on ucn-lite-nost, scene ``plane`` read at full size."""
    cfg = load_config(CONFIGS / "ucn-sfm.yaml")
    pairs = dataclasses.replace(cfg.pairs, image_size=(64, 48), correspondences_per_pair=128, scene_pairs=1,
                                scene_fraction=0.0)
    sfm = SfmCropConfig(scenes=("plane",), image_side=0, max_pairs_per_scene=10, min_covisible=50,
                        fraction=fraction)
    validation = dataclasses.replace(cfg.validation, homography_pairs=1, scene_pairs=0, points_per_pair=100)
    base = dict(preset="ucn-lite-nost", steps=steps, warmup_steps=1, log_every=1, checkpoint_every=100,
                pairs=pairs, sfm=sfm, validation=validation)
    base.update(kw)
    return dataclasses.replace(cfg, **base)


def _photos() -> list[tuple[str, np.ndarray]]:
    return [("astronaut", cv2.resize(bundled_photo("astronaut"), (128, 128), interpolation=cv2.INTER_AREA))]


def _source(cfg, reconstructions: Path) -> PairSource:
    from cvlearned.training.common.sfm_crops import sfm_crop_source

    crops = sfm_crop_source(cfg.sfm, reconstructions, cfg.pairs.image_size)
    return PairSource(_photos(), None, cfg.pairs, crops, cfg.sfm.fraction)


def _is_sfm_crop(pair) -> bool:
    """SfM crops have sparse ground truth; homography pairs of a 64x48 crop are mostly dense."""
    return np.isfinite(pair.gt).all(axis=2).mean() < 0.2


# -------------------------------------------------------------------- config
def test_sfm_config_defaults_to_no_sfm_pairs():
    from cvlearned.training.common.sfm_pairs import MIN_COVISIBLE

    cfg = load_config(None)
    assert cfg.sfm.scenes == () and cfg.sfm.fraction == 0.0
    assert cfg.sfm.min_covisible == MIN_COVISIBLE  # the default of load_sfm_pairs


@pytest.mark.parametrize("sfm,message", [
    ({"fraction": 0.5}, r"sfm.fraction > 0 needs sfm.scenes"),
    ({"scenes": ["relief"]}, r"never drawn with sfm.fraction 0"),
    ({"scenes": "relief", "fraction": 0.5}, r"sfm.scenes must be a list"),
    ({"scenes": ["relief", ""], "fraction": 0.5}, r"sfm.scenes must be a list"),
    ({"scenes": ["relief"], "fraction": 1.5}, r"sfm.fraction must be a number in \[0, 1\]"),
    ({"scenes": ["relief"], "fraction": True}, r"sfm.fraction"),
    ({"scenes": ["relief"], "fraction": 0.5, "image_side": -1}, r"sfm.image_side must be an int >= 0"),
    ({"scenes": ["relief"], "fraction": 0.5, "max_pairs_per_scene": 0}, r"sfm.max_pairs_per_scene"),
    ({"scenes": ["relief"], "fraction": 0.5, "min_covisible": 2.5}, r"sfm.min_covisible"),
    ({"scenes": ["relief"], "fraction": 0.5, "image_side": 200}, r"sfm.image_side 200 cannot hold crops"),
    ({"scenes": ["relief"], "fraction": 0.5, "pairs": 10}, r"unknown key\(s\) \['pairs'\] in config\.sfm.*'fraction'"),
])
def test_sfm_config_errors_name_the_problem(tmp_path, sfm, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"sfm": sfm}))
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_shipped_sfm_configs_differ_only_in_the_sfm_pairs():
    with_sfm, without = load_config(CONFIGS / "ucn-sfm.yaml"), load_config(CONFIGS / "ucn-nosfm.yaml")
    assert with_sfm.sfm.fraction == 0.5 and without.sfm == SfmCropConfig()
    assert dataclasses.replace(with_sfm, sfm=without.sfm) == without
    assert set(with_sfm.sfm.scenes) <= {"mary_rose", "relief", "skull", "vespasian", "kitti07"}
    assert not set(with_sfm.sfm.scenes) & HELD_OUT
    shipped = load_config(CONFIGS / "ucn-infonce-4000.yaml")  # ucn-v2's recipe
    same = ("preset", "seed", "batch_size", "weight_decay", "pairs", "loss", "validation", "channels_last")
    assert all(getattr(without, name) == getattr(shipped, name) for name in same)


# -------------------------------------------------------------------- pairs
def test_pair_source_draws_sfm_crops_at_the_configured_rate_with_exact_sparse_gt(reconstructions):
    cfg = _tiny_cfg(fraction=0.3)
    source = _source(cfg, reconstructions)
    assert len(source.sfm) == 3  # a-b, a-c, b-c
    draws = [source.draw(np.random.default_rng([1, s])) for s in range(300)]
    crops = [p for p in draws if _is_sfm_crop(p)]
    assert abs(len(crops) / len(draws) - 0.3) < 0.08  # binomial sd 0.026
    for pair in crops:
        ys, xs = np.nonzero(np.isfinite(pair.gt).all(axis=2))
        assert 1 <= len(xs) <= 400 and pair.image0.shape == pair.image1.shape == (48, 64)
        x1, y1 = pair.gt[ys, xs].T
        assert np.array_equal(x1, np.rint(x1)) and np.array_equal(y1, np.rint(y1))  # whole-pixel shifts
        # each ground-truth point shows the same texture pixel in both crops (no photometric change)
        assert np.array_equal(pair.image0[ys, xs], pair.image1[y1.astype(int), x1.astype(int)])


def test_without_sfm_the_draws_are_those_of_the_plain_source(reconstructions):
    cfg = _tiny_cfg(fraction=0.5)
    plain = PairSource(_photos(), None, cfg.pairs)
    unused = PairSource(_photos(), None, cfg.pairs, _source(cfg, reconstructions).sfm, 0.0)
    for s in range(3):
        a, b = plain.draw(np.random.default_rng([0, s])), unused.draw(np.random.default_rng([0, s]))
        assert np.array_equal(a.image0, b.image0) and np.array_equal(a.gt, b.gt, equal_nan=True)


def test_pair_source_checks_its_sfm_arguments(reconstructions):
    cfg = _tiny_cfg()
    sfm = _source(cfg, reconstructions).sfm
    with pytest.raises(ValueError, match="needs an SfM crop source"):
        PairSource(_photos(), None, cfg.pairs, None, 0.5)
    with pytest.raises(ValueError, match=r"sfm_fraction must be in \[0, 1\]"):
        PairSource(_photos(), None, cfg.pairs, sfm, 1.2)
    with pytest.raises(ValueError, match="SfM crops are 64x48, pairs are 96x64"):
        PairSource(_photos(), None, dataclasses.replace(cfg.pairs, image_size=(96, 64)), sfm, 0.5)


def test_scenes_whose_images_cannot_hold_a_crop_are_rejected(reconstructions):
    from cvlearned.training.common.sfm_crops import sfm_crop_source

    cfg = _tiny_cfg(pairs=dataclasses.replace(_tiny_cfg().pairs, image_size=(320, 240)))
    assert sfm_crop_source(cfg.sfm, reconstructions, cfg.pairs.image_size).size == (320, 240)
    small = dataclasses.replace(cfg, sfm=dataclasses.replace(cfg.sfm, image_side=320))  # 320x240 fits exactly
    assert sfm_crop_source(small.sfm, reconstructions, small.pairs.image_size).images
    smaller = dataclasses.replace(small, pairs=dataclasses.replace(cfg.pairs, image_size=(320, 244)))
    with pytest.raises(ValueError, match=r"images in \[.*images'\] are smaller than the 320x244 crops"):
        sfm_crop_source(smaller.sfm, reconstructions, smaller.pairs.image_size)
    assert sfm_crop_source(SfmCropConfig(), reconstructions, cfg.pairs.image_size) is None


# -------------------------------------------------------------------- training
@pytest.mark.parametrize("objective", ["infonce", "contrastive"])
def test_batch_losses_run_on_sfm_crops(reconstructions, objective):
    from cvlearned.models.ucn import build_net
    from cvlearned.training.ucn.train_ucn import batch_losses

    cfg = _tiny_cfg(fraction=1.0, loss=dataclasses.replace(_tiny_cfg().loss, objective=objective))
    source = _source(cfg, reconstructions)
    rng = np.random.default_rng(0)
    pairs = [source.draw(rng) for _ in range(2)]
    assert all(_is_sfm_crop(p) for p in pairs)
    torch.manual_seed(0)
    net = build_net(cfg.preset)
    losses = batch_losses(net, pairs, rng, cfg)
    assert all(torch.isfinite(v) for v in losses.values()) and float(losses["loss"].detach()) > 0
    losses["loss"].backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def _export(tmp_path: Path, preset: str, seed: int) -> Path:
    from cvlearned.models.ucn import build_net
    from cvlearned.training.common.run_state import export_weights

    torch.manual_seed(seed)
    return export_weights(build_net(preset), tmp_path / f"{preset}-{seed}.pt")


def test_init_loads_the_weights_strictly_and_names_a_bad_file(tmp_path):
    from cvlearned.training.ucn.train_ucn import train

    cfg = _tiny_cfg(steps=0, sfm=SfmCropConfig())
    source = PairSource(_photos(), None, cfg.pairs)
    init = _export(tmp_path, cfg.preset, seed=7)
    net, _ = train(cfg, source, tmp_path / "run", LOG, progress=False, device="cpu", init=init)
    expected = torch.load(init, weights_only=True)
    assert all(torch.equal(v, expected[k]) for k, v in net.state_dict().items())
    wrong = _export(tmp_path, "ucn-lite", seed=0)  # with the spatial transformer: other keys
    with pytest.raises(ValueError, match=f"{wrong}.*do not fit"):
        train(cfg, source, tmp_path / "run2", LOG, progress=False, device="cpu", init=wrong)
    with pytest.raises(ValueError, match="missing.pt not found"):
        train(cfg, source, tmp_path / "run3", LOG, progress=False, device="cpu", init=tmp_path / "missing.pt")


def test_resumed_sfm_run_reproduces_the_uninterrupted_one(reconstructions, tmp_path):
    from cvlearned.training.ucn.train_ucn import train

    cfg = _tiny_cfg(steps=4, fraction=0.5)
    source = _source(cfg, reconstructions)
    init = _export(tmp_path, cfg.preset, seed=3)
    straight, h_straight = train(cfg, source, tmp_path / "straight", LOG, progress=False, device="cpu", init=init)
    _, first = train(cfg, source, tmp_path / "resumed", LOG, progress=False, device="cpu", init=init,
                     max_steps_this_run=2)
    resumed, rest = train(cfg, source, tmp_path / "resumed", LOG, progress=False, device="cpu", init=init)
    assert [h["step"] for h in first + rest] == [h["step"] for h in h_straight] == [1, 2, 3, 4]
    for a, b in zip(first + rest, h_straight):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
    for (k, v1), v2 in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(v1.float(), v2.float(), atol=1e-5), k


def test_cli_fine_tunes_with_sfm_pairs_end_to_end(reconstructions, tmp_path):
    from cvlearned.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in bundled_photo_names()[:10]:  # the 10th (sorted) is held out for validation
        cv2.imwrite(str(photos / f"{name}.png"), cv2.resize(bundled_photo(name), (120, 96)))
    raw = yaml.safe_load((CONFIGS / "ucn-sfm.yaml").read_text())
    raw.update(preset="ucn-lite-nost", steps=2, log_every=1, checkpoint_every=1, warmup_steps=1)
    raw["pairs"].update(image_size=[64, 48], scene_fraction=0.0, correspondences_per_pair=128)
    raw["validation"].update(homography_pairs=1, scene_pairs=0, points_per_pair=100)
    raw["sfm"].update(scenes=["plane"], image_side=0, max_pairs_per_scene=10)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    out, export = tmp_path / "run", tmp_path / "w" / "ucn.pt"
    args = ["train", "ucn", "--config", str(config), "--out", str(out), "--images", str(photos), "--export",
            str(export), "--init", str(_export(tmp_path, "ucn-lite-nost", 5)), "--reconstructions",
            str(reconstructions), "--threads", "1", "--device", "cpu", "--no-progress"]
    assert main(args + ["--max-steps-this-run", "1"]) == 0
    assert main(args) == 0
    log = (out / "train.log").read_text()
    assert "3 SfM pairs of ['plane']" in log and "initialised ucn-lite-nost from" in log
    assert "resumed from" in log and '"step": 2' in log and "final val" in log
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 2 and export.is_file()
