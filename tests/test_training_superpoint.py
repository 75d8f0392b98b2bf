"""SuperPoint training pieces: shapes, labels, homographies, adaptation, losses, optimisation."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from cvlearned.models.heatmap import CELL, heatmap_from_logits, refine_keypoints
from cvlearned.models.superpoint import build_net
from cvlearned.synthetic.homography import sample_homography
from cvlearned.synthetic.photos import bundled_photo
from cvlearned.synthetic.shapes import SHAPE_KINDS, load_or_make_shapes, render_shape
from cvlearned.training.superpoint import homographic_adaptation as ha
from cvlearned.training.superpoint.magicpoint import magicpoint_batch, train_magicpoint, warp_points
from cvlearned.training.superpoint.superpoint_config import load_config
from cvlearned.training.superpoint.superpoint_joint import joint_losses, joint_pair, load_adapted, train_joint
from cvlearned.training.superpoint.superpoint_losses import (
    cell_labels, descriptor_loss, detector_loss, heatmap_consistency_loss, infonce_descriptor_loss, soft_cell_targets,
    valid_cells, warp_heatmap,
)

CONFIG = Path(__file__).resolve().parents[1] / "cvlearned" / "training" / "configs" / "superpoint-lite.yaml"
LOG = logging.getLogger("test.superpoint")


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIG)


# ------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("kind", SHAPE_KINDS)
def test_shape_labels_sit_on_image_structure(kind):
    for i in range(5):
        sample = render_shape(np.random.default_rng([7, i]), (160, 120), kind)
        assert sample.image.shape == (120, 160) and sample.image.dtype == np.uint8
        if kind in ("ellipses", "noise"):
            assert len(sample.points) == 0
            continue
        assert len(sample.points) > 0
        for x, y in sample.points:
            assert 1 <= x <= 158 and 1 <= y <= 118
            xi, yi = int(round(x)), int(round(y))
            window = sample.image[max(yi - 3, 0) : yi + 4, max(xi - 3, 0) : xi + 4].astype(float)
            assert window.max() - window.min() > 15, f"{kind}: label at ({x:.1f}, {y:.1f}) on a flat region"


def test_shapes_are_seeded_and_cached(tmp_path):
    a = render_shape(np.random.default_rng([1, 2]))
    b = render_shape(np.random.default_rng([1, 2]))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.points, b.points)
    images, points = load_or_make_shapes(tmp_path / "s.npz", 6, (64, 48), seed=3)
    images2, points2 = load_or_make_shapes(tmp_path / "s.npz", 6, (64, 48), seed=3)
    assert images.shape == (6, 48, 64) and np.array_equal(images, images2)
    assert all(np.array_equal(p, q) for p, q in zip(points, points2))


def test_polygon_labels_are_its_vertices():
    sample = render_shape(np.random.default_rng([0, 5]), (160, 120), "polygon")
    assert 3 <= len(sample.points) <= 5


# ----------------------------------------------------------- labels and warping
def test_cell_labels_place_points_and_dustbin():
    labels = cell_labels(np.array([[10.2, 3.0], [0.0, 0.0], [23.0, 17.0]]), 24, 32)
    assert labels.shape == (3, 4)
    assert labels[0, 1] == 3 * CELL + 2 and labels[0, 0] == 0 and labels[2, 2] == 1 * CELL + 7
    assert (labels == 64).sum() == 12 - 3


def test_soft_targets_of_integer_points_are_the_one_hot_cell_labels():
    points = np.array([[10.0, 3.0], [0.0, 0.0], [23.0, 17.0]])
    soft = soft_cell_targets(points, 24, 32)
    assert soft.shape == (65, 3, 4) and soft.dtype == np.float32
    assert np.array_equal(soft.argmax(axis=0), cell_labels(points, 24, 32)) and set(np.unique(soft)) == {0.0, 1.0}


def _heatmap_of_targets(targets: np.ndarray) -> torch.Tensor:
    """The (H, W) heatmap of a net whose softmax equals ``targets`` (65, Hc, Wc)."""
    return heatmap_from_logits(torch.log(torch.from_numpy(targets).clamp_min(1e-30))[None])[0]


def test_soft_targets_put_the_heat_centroid_on_sub_pixel_points_across_cell_borders():
    points = np.array([[7.3, 5.6], [20.0, 15.75], [12.5, 12.5]])  # x across a border; y across one; both
    targets = soft_cell_targets(points, 24, 32)
    assert np.allclose(targets.sum(axis=0), 1.0)
    heat = _heatmap_of_targets(targets)
    assert float(heat.sum()) == pytest.approx(3.0, abs=1e-5)  # each point's unit mass, nothing lost
    refined = refine_keypoints(heat, torch.from_numpy(np.rint(points)).float(), radius=1)
    assert np.allclose(refined.numpy(), points, atol=1e-5)


def test_soft_targets_scale_crowded_cells_and_drop_mass_beyond_the_image():
    crowded = soft_cell_targets(np.array([[1.0, 1.0], [5.0, 5.0]]), 8, 8)[:, 0, 0]
    assert crowded[1 * CELL + 1] == crowded[5 * CELL + 5] == pytest.approx(0.5) and crowded[64] == pytest.approx(0.0)
    edge = soft_cell_targets(np.array([[7.5, 2.0]]), 8, 8)[:, 0, 0]  # half of the mass lies at x = 8
    assert edge[2 * CELL + 7] == pytest.approx(0.5) and edge[64] == pytest.approx(0.5)


def test_detector_loss_of_one_hot_distributions_equals_the_class_loss():
    points = np.array([[10.0, 3.0], [23.0, 17.0]])
    logits = torch.randn(1, 65, 3, 4, generator=torch.Generator().manual_seed(0))
    hard = detector_loss(logits, torch.from_numpy(cell_labels(points, 24, 32))[None])
    soft = detector_loss(logits, torch.from_numpy(soft_cell_targets(points, 24, 32))[None])
    assert float(soft) == pytest.approx(float(hard), rel=1e-6)


def test_valid_cells_need_every_pixel():
    valid = torch.ones(1, 16, 16)
    valid[0, 3, 12] = 0
    cells = valid_cells(valid)
    assert cells.tolist() == [[[True, False], [True, True]]]


def test_sampled_homographies_are_invertible_maps():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 320, (50, 2))
    for _ in range(20):
        H = sample_homography(rng, (320, 240))
        back = warp_points(np.linalg.inv(H), warp_points(H, pts))
        assert np.allclose(back, pts, atol=1e-6)


def test_magicpoint_batch_warps_labels_with_the_image(cfg):
    sample = render_shape(np.random.default_rng([0, 1]), (160, 120), "checkerboard")
    cfg1 = dataclasses.replace(cfg, magicpoint=dataclasses.replace(cfg.magicpoint, warp_probability=1.0))
    x, labels, valid = magicpoint_batch(sample.image[None], [sample.points], np.array([0]),
                                        np.random.default_rng(0), cfg1)
    assert x.shape == (1, 1, 120, 160) and labels.shape == (1, 15, 20) and valid.dtype == torch.bool
    # every labelled cell shows structure in the warped image
    for cy, cx in zip(*np.nonzero(labels[0].numpy() < 64)):
        patch = x[0, 0, cy * 8 : cy * 8 + 8, cx * 8 : cx * 8 + 8]
        assert float(patch.max() - patch.min()) > 0.05


# ---------------------------------------------------------- homographic adaptation
def test_aggregation_of_a_covariant_detector_recovers_its_heatmap(monkeypatch):
    """A 'detector' whose heatmap is the image itself is covariant: warping back and
    averaging must give the identity view's heatmap (up to interpolation)."""
    monkeypatch.setattr(ha, "detector_heatmaps", lambda net, views: views.astype(np.float32) / 255.0)
    gray = np.asarray(bundled_photo("coffee")[:, :, 1], np.uint8)
    gray = np.ascontiguousarray(gray[100:340, 100:420])
    import cv2

    gray = cv2.GaussianBlur(gray, (0, 0), 3)
    heat = ha.aggregate_heatmap(None, gray, 6, np.random.default_rng(0))
    inner = (slice(20, -20), slice(20, -20))
    assert np.abs(heat[inner] - gray[inner] / 255.0).mean() < 0.01
    single = ha.aggregate_heatmap(None, gray, 1, np.random.default_rng(0))
    assert np.allclose(single, gray / 255.0, atol=1e-6)


def test_adaptation_writes_pseudo_labels(tmp_path, cfg):
    cfg1 = dataclasses.replace(cfg, adapt=dataclasses.replace(cfg.adapt, homographies=3, image_size=(96, 64)))
    torch.manual_seed(0)
    net = build_net(cfg.preset).eval()
    photos = [("astronaut", bundled_photo("astronaut"))]
    images, points = ha.adapt_photos(net, photos, cfg1, tmp_path / "adapt.npz")
    assert images.shape == (2, 64, 96)
    images2, points2 = load_adapted(tmp_path / "adapt.npz")
    assert np.array_equal(images, images2) and all(np.array_equal(a, b) for a, b in zip(points, points2))
    assert all(len(p) <= cfg.adapt.max_keypoints for p in points)


# ------------------------------------------------------------------------ losses
def test_detector_loss_small_for_confident_correct_logits():
    labels = torch.tensor([[[3, 64], [64, 10]]])
    logits = torch.full((1, 65, 2, 2), -10.0)
    for y in range(2):
        for x in range(2):
            logits[0, labels[0, y, x], y, x] = 10.0
    assert float(detector_loss(logits, labels)) < 1e-6
    wrong = torch.roll(logits, 1, dims=1)
    assert float(detector_loss(wrong, labels)) > 10
    # invalid cells do not count
    valid = torch.tensor([[[True, False], [False, False]]])
    mixed = logits.clone()
    mixed[0, :, 1, 1] = wrong[0, :, 1, 1]
    assert float(detector_loss(mixed, labels, valid)) < 1e-6


def _orthonormal_map(d: int, hc: int, wc: int) -> torch.Tensor:
    return torch.eye(d)[:, : hc * wc].reshape(d, hc, wc)


def test_descriptor_loss_zero_for_matching_and_orthogonal_descriptors():
    desc = _orthonormal_map(64, 4, 5)
    # radius below the cell spacing: only the cell itself is a positive
    assert float(descriptor_loss(desc, desc, torch.eye(3), radius=4.0)) == pytest.approx(0.0, abs=1e-7)


def test_descriptor_loss_hand_computed_case():
    desc_a = _orthonormal_map(4, 1, 2)
    desc_b = desc_a.flip(2)  # cells swapped: positives orthogonal, negatives identical
    loss = descriptor_loss(desc_a, desc_b, torch.eye(3), radius=4.0, lambda_d=250.0, pos_margin=1.0, neg_margin=0.2)
    # 2 positives at 250 * (1 - 0) and 2 negatives at (1 - 0.2), mean over 4 pairs
    assert float(loss) == pytest.approx((2 * 250.0 + 2 * 0.8) / 4, rel=1e-6)


def test_descriptor_loss_follows_the_homography():
    desc = _orthonormal_map(64, 4, 5)
    shift = torch.tensor([[1.0, 0, 8.0], [0, 1.0, 0], [0, 0, 1.0]])  # b = a shifted one cell right
    desc_b = torch.zeros_like(desc)
    desc_b[:, :, 1:] = desc[:, :, :-1]
    desc_b[:, :, 0] = torch.eye(64)[:, 40:44]
    assert float(descriptor_loss(desc, desc_b, shift, radius=4.0)) == pytest.approx(0.0, abs=1e-7)
    assert float(descriptor_loss(desc, desc, shift, radius=4.0)) > 1.0


def test_infonce_loss_small_for_matching_descriptors_and_log_n_for_uniform():
    desc = _orthonormal_map(64, 4, 5)
    assert float(infonce_descriptor_loss(desc, desc, torch.eye(3), temperature=0.01)) < 1e-6
    constant = torch.zeros(64, 4, 5)
    constant[0] = 1.0  # every cell alike: each softmax is uniform over the 20 cells
    assert float(infonce_descriptor_loss(constant, constant, torch.eye(3))) == pytest.approx(np.log(20), rel=1e-6)


def test_infonce_loss_follows_the_homography_and_ignores_invalid_cells():
    desc = _orthonormal_map(64, 4, 5)
    shift = torch.tensor([[1.0, 0, 8.0], [0, 1.0, 0], [0, 0, 1.0]])  # b = a shifted one cell right
    desc_b = torch.zeros_like(desc)
    desc_b[:, :, 1:] = desc[:, :, :-1]
    desc_b[:, :, 0] = desc[:, :, -1]  # would be the wrong partner of column 4 if it were not ignored
    assert float(infonce_descriptor_loss(desc, desc_b, shift, temperature=0.01)) < 1e-6
    assert float(infonce_descriptor_loss(desc, desc, shift, temperature=0.01)) > 1.0
    duplicated = desc_b.clone()
    duplicated[:, :, 1] = desc_b[:, :, 2]  # view-b column 1 is now a copy of column 2
    assert float(infonce_descriptor_loss(desc, duplicated, shift, temperature=0.01)) > 1.0
    valid = torch.ones(4, 5, dtype=torch.bool)
    valid[:, 1] = False  # ... but invalid: no positive there, and out of every softmax
    assert float(infonce_descriptor_loss(desc, duplicated, shift, valid, temperature=0.01)) < 1e-6


def _peaks(h: int, w: int, points: list[tuple[int, int]]) -> torch.Tensor:
    heat = torch.zeros(1, h, w)
    for x, y in points:
        heat[0, y, x] = 1.0
    return heat


def test_warp_heatmap_by_a_translation_reads_the_shifted_pixel():
    heat_b = torch.rand(1, 12, 16)
    shift = torch.tensor([[[1.0, 0, 3.0], [0, 1.0, 2.0], [0, 0, 1.0]]])  # a pixel (x, y) is b pixel (x+3, y+2)
    warped, inside = warp_heatmap(heat_b, shift)
    assert torch.allclose(warped[0, :10, :13], heat_b[0, 2:, 3:], atol=1e-6)
    assert inside[0, :10, :13].all() and not inside[0, 10:].any() and not inside[0, :, 13:].any()


def test_consistency_loss_zero_for_covariant_peaks_and_high_for_displaced_ones():
    points_a = [(5, 6), (20, 9), (12, 25), (27, 27)]
    heat_a = _peaks(32, 32, points_a)
    shift = torch.tensor([[[1.0, 0, 2.0], [0, 1.0, 1.0], [0, 0, 1.0]]])
    covariant = _peaks(32, 32, [(x + 2, y + 1) for x, y in points_a])
    assert float(heatmap_consistency_loss(heat_a, covariant, shift)) < 1e-6
    displaced = _peaks(32, 32, [(x + 4, y + 1) for x, y in points_a])  # 2 px off the true position
    assert float(heatmap_consistency_loss(heat_a, displaced, shift)) == pytest.approx(1.0)
    half = _peaks(32, 32, [(x + 2, y + 1) for x, y in points_a[:2]])  # two of four peaks found
    assert float(heatmap_consistency_loss(heat_a, half, shift)) == pytest.approx(2 / 6)
    assert float(heatmap_consistency_loss(heat_a, 0.5 * covariant, shift)) == pytest.approx(0.25 / 1.25)


def test_consistency_loss_ignores_windows_without_view_b_content():
    heat_a = _peaks(32, 32, [(4, 4), (20, 20)])
    heat_b = _peaks(32, 32, [(4, 4), (28, 28)])  # the second peak disagrees ...
    valid_b = torch.ones(1, 32, 32)
    valid_b[:, 16:, 16:] = 0  # ... where view b has no content
    eye = torch.eye(3)[None]
    assert float(heatmap_consistency_loss(heat_a, heat_b, eye)) == pytest.approx(2 / 4)
    assert float(heatmap_consistency_loss(heat_a, heat_b, eye, valid_b)) < 1e-6


@pytest.mark.parametrize("path", sorted(CONFIG.parent.glob("superpoint*.yaml")), ids=lambda p: p.name)
def test_every_shipped_superpoint_config_loads(path):
    loaded = load_config(path)
    assert loaded.preset in ("superpoint-lite", "superpoint") and loaded.joint.steps > 0


def test_adapt_config_rejects_a_negative_refine_radius(cfg):
    with pytest.raises(ValueError, match="refine_radius"):
        dataclasses.replace(cfg.adapt, refine_radius=-1)


def test_pseudo_labels_refine_to_the_aggregate_centroid(cfg):
    heat = np.zeros((32, 32), np.float32)
    heat[10, 12], heat[10, 13] = 0.6, 0.2  # peak at (12, 10), a quarter of its heat one pixel right
    integer = ha.pseudo_labels(heat, cfg.adapt)
    refined = ha.pseudo_labels(heat, dataclasses.replace(cfg.adapt, refine_radius=2))
    assert integer.tolist() == [[12.0, 10.0]] and refined.tolist() == [[12.25, 10.0]]


def test_joint_config_rejects_negative_consistency_weight(cfg):
    with pytest.raises(ValueError, match="consistency_weight"):
        dataclasses.replace(cfg.joint, consistency_weight=-1.0)


def test_joint_config_rejects_unknown_descriptor_loss(cfg):
    with pytest.raises(ValueError, match="descriptor_loss"):
        dataclasses.replace(cfg.joint, descriptor_loss="triplet")


# ------------------------------------------------------------------ optimisation
def test_few_magicpoint_steps_reduce_the_loss(tmp_path, cfg):
    samples = [render_shape(np.random.default_rng([0, i]), (64, 48)) for i in range(8)]
    images, points = np.stack([s.image for s in samples]), [s.points for s in samples]
    mp = dataclasses.replace(cfg.magicpoint, steps=12, batch_size=8, warp_probability=0.0, lr=3e-3,
                             warmup_steps=1, log_every=4, checkpoint_every=100, max_minutes=None)
    cfg1 = dataclasses.replace(cfg, magicpoint=mp)
    net, history = train_magicpoint(cfg1, images, points, tmp_path, LOG, progress=False)
    assert history[-1]["loss"] < history[0]["loss"]
    assert (tmp_path / "checkpoint.pt").is_file()


def test_few_joint_steps_reduce_the_loss_and_resume(tmp_path, cfg):
    gray = np.ascontiguousarray(bundled_photo("astronaut")[100:164, 100:196, 1])
    images = np.stack([gray, gray[::-1].copy()])
    points = [np.array([[20.0, 20.0], [50.0, 30.0]], np.float32)] * 2
    j = dataclasses.replace(cfg.joint, steps=12, batch_size=2, lr=3e-3, warmup_steps=1, log_every=4,
                            checkpoint_every=100, max_minutes=None)
    cfg1 = dataclasses.replace(cfg, joint=j)
    _, first = train_joint(cfg1, images, points, tmp_path, LOG, progress=False, max_steps_this_run=4)
    _, rest = train_joint(cfg1, images, points, tmp_path, LOG, progress=False)
    history = first + rest
    assert [h["step"] for h in history] == [4, 8, 12]
    assert history[-1]["loss"] < history[0]["loss"]


@pytest.mark.parametrize("loss", ["hinge", "infonce"])
def test_joint_losses_are_finite_for_a_pair(cfg, loss):
    cfg = dataclasses.replace(cfg, joint=dataclasses.replace(cfg.joint, descriptor_loss=loss))
    gray = np.ascontiguousarray(bundled_photo("camera")[:64, :96] if bundled_photo("camera").ndim == 2
                                else bundled_photo("camera")[:64, :96, 0])
    pair = joint_pair(gray, np.array([[30.0, 30.0]], np.float32), np.random.default_rng(0), cfg)
    torch.manual_seed(0)
    losses = joint_losses(build_net(cfg.preset), [pair], cfg)
    assert all(torch.isfinite(v) for v in losses.values())
    total = float(losses["total"].detach())
    assert total == pytest.approx(float((losses["detector"] + losses["descriptor"]).detach()), rel=1e-6)


def test_joint_pair_with_subpixel_targets_warps_unrounded_labels(cfg):
    cfg = dataclasses.replace(cfg, joint=dataclasses.replace(cfg.joint, subpixel_targets=True))
    gray = np.ascontiguousarray(bundled_photo("astronaut")[100:164, 100:196, 1])
    point = np.array([[30.4, 30.0]], np.float32)
    pair = joint_pair(gray, point, np.random.default_rng(0), cfg)
    assert pair["labels_a"].shape == pair["labels_b"].shape == (65, 8, 12)
    heat_b = _heatmap_of_targets(pair["labels_b"])
    expected = warp_points(pair["H"], point)[0]
    peak = torch.tensor([[float(v) for v in np.rint(expected)]])
    assert np.allclose(refine_keypoints(heat_b, peak, radius=1).numpy()[0], expected, atol=1e-4)
    losses = joint_losses(build_net(cfg.preset), [pair], cfg)
    assert all(torch.isfinite(v) for v in losses.values())


def test_joint_losses_add_the_weighted_consistency_term_with_a_gradient(cfg):
    cfg = dataclasses.replace(cfg, joint=dataclasses.replace(cfg.joint, descriptor_weight=0.5, consistency_weight=2.0))
    gray = np.ascontiguousarray(bundled_photo("astronaut")[100:164, 100:196, 1])
    pair = joint_pair(gray, np.array([[30.0, 30.0]], np.float32), np.random.default_rng(0), cfg)
    torch.manual_seed(0)
    net = build_net(cfg.preset)
    losses = joint_losses(net, [pair], cfg)
    assert 0.0 < float(losses["consistency"].detach()) <= 1.0
    expected = losses["detector"] + 0.5 * losses["descriptor"] + 2.0 * losses["consistency"]
    assert float(losses["total"].detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    losses["consistency"].backward()
    assert net.convPb.weight.grad is not None and float(net.convPb.weight.grad.abs().sum()) > 0


# ------------------------------------------------------------------ second round (CLI)
def _tiny_cli_run(tmp_path: Path) -> tuple[Path, dict, Path]:
    """A one-photo folder, the lite config as a dict with a tiny adapt stage, and a random
    superpoint-lite weight file → (photos, raw config, detector)."""
    import cv2
    import yaml

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), cv2.resize(bundled_photo("astronaut"), (192, 128)))
    raw = yaml.safe_load(CONFIG.read_text())
    raw["adapt"].update(homographies=2, image_size=[96, 64])
    torch.manual_seed(0)
    detector = tmp_path / "trained.pt"
    torch.save(build_net("superpoint-lite").state_dict(), detector)
    return photos, raw, detector


def test_second_adaptation_round_labels_with_the_given_detector(tmp_path):
    import yaml

    from cvlearned.training.superpoint.train_superpoint import main
    from cvlearned.weight_files import WeightsError

    photos, raw, detector = _tiny_cli_run(tmp_path)
    config = tmp_path / "round2.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = tmp_path / "round2"
    common = ["--stage", "adapt", "--config", str(config), "--out", str(out), "--images", str(photos)]
    with pytest.raises(WeightsError, match="magicpoint"):  # no --detector: this run's MagicPoint, absent here
        main(common)
    assert main(common + ["--detector", str(detector)]) == 0
    images, points = load_adapted(out / "adapt.npz")
    assert images.shape == (2, 64, 96) and len(points) == 2


def test_joint_stage_trains_the_full_preset_from_random_or_widened_lite_weights(tmp_path):
    """``--init none`` / ``--init LITE --widen``: the full preset learns from another model's adapt.npz."""
    import yaml

    from cvlearned.training.superpoint.train_superpoint import main
    from cvlearned.weight_files import WeightsError, load_state_dict

    photos, raw, detector = _tiny_cli_run(tmp_path)
    raw["joint"].update(steps=2, batch_size=2, warmup_steps=1, log_every=1)
    lite, full = tmp_path / "lite.yaml", tmp_path / "full.yaml"
    lite.write_text(yaml.safe_dump(raw))
    full.write_text(yaml.safe_dump({**raw, "preset": "superpoint"}))
    out = tmp_path / "run"
    images = ["--out", str(out), "--images", str(photos)]
    assert main(["--stage", "adapt", "--config", str(lite), "--detector", str(detector), *images]) == 0
    with pytest.raises(WeightsError, match="magicpoint"):  # no --init: this run's MagicPoint, absent here
        main(["--stage", "joint", "--config", str(full), *images])
    assert main(["--stage", "joint", "--config", str(full), "--init", "none", *images]) == 0
    state = load_state_dict(out / "joint" / "final.pt")
    assert set(state) == set(build_net("superpoint").state_dict())
    wide = tmp_path / "wide"
    (wide / "adapt.npz").parent.mkdir()
    (wide / "adapt.npz").write_bytes((out / "adapt.npz").read_bytes())
    widened = ["--stage", "joint", "--out", str(wide), "--images", str(photos), "--widen"]
    with pytest.raises(WeightsError, match="cannot widen"):  # the full net does not fit into the lite one
        main(widened + ["--config", str(lite), "--init", str(out / "joint" / "final.pt")])
    assert main(widened + ["--config", str(full), "--init", str(detector)]) == 0
    assert "by widening" in (wide / "joint" / "train.log").read_text()
