"""UCN training: contrastive loss, hard-negative mining, shared NN search, pairs, config, trainer, CLI."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from cvlearned.nearest_neighbours import chunked_nearest
from cvlearned.synthetic.photos import bundled_photo, bundled_photo_names
from cvlearned.training.common.contrastive_losses import correspondence_infonce_loss
from cvlearned.training.common.correspondence_pairs import homography_gt
from cvlearned.training.ucn.hard_negatives import hard_negatives, random_negatives
from cvlearned.training.ucn.ucn_config import PairsConfig, load_config
from cvlearned.training.ucn.ucn_losses import correspondence_contrastive_loss
from cvlearned.training.ucn.ucn_pairs import (
    PairSource,
    homography_pair,
    load_or_render_scene_pairs,
    sample_correspondences,
)

CONFIGS = Path(__file__).resolve().parents[1] / "cvlearned" / "training" / "configs"
LOG = logging.getLogger("test.ucn")


# ------------------------------------------------------------------------- loss
def test_identical_positives_cost_nothing():
    f = torch.nn.functional.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    terms = correspondence_contrastive_loss(f, f.clone(), torch.ones(5))
    assert float(terms.positive) == 0.0 and float(terms.loss) == 0.0


def test_negatives_beyond_the_margin_cost_nothing():
    f = torch.eye(3, 4)
    terms = correspondence_contrastive_loss(f, -f, torch.zeros(3), margin=1.0)  # distance 2 > 1
    assert float(terms.negative) == 0.0
    terms = correspondence_contrastive_loss(f, torch.roll(f, 1, 0), torch.zeros(3), margin=1.0)  # sqrt(2)
    assert float(terms.negative) == 0.0
    # the same pairs inside a larger margin do cost: (2 - sqrt(2))^2 each, over 2N
    terms = correspondence_contrastive_loss(f, torch.roll(f, 1, 0), torch.zeros(3), margin=2.0)
    assert float(terms.negative) == pytest.approx(3 * (2 - math.sqrt(2)) ** 2 / 6, rel=1e-5)


def test_contrastive_loss_hand_computed():
    f0 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    f1 = torch.tensor([[0.6, 0.8], [0.8, 0.6], [0.0, -1.0]])
    labels = torch.tensor([1, 0, 0])
    terms = correspondence_contrastive_loss(f0, f1, labels, margin=1.0)
    # positive: d^2 = 0.4^2 + 0.8^2 = 0.8; negatives: d = sqrt(0.4) inside the margin, d = 2 outside
    assert float(terms.positive) == pytest.approx(0.8 / 6, rel=1e-6)
    assert float(terms.negative) == pytest.approx((1 - math.sqrt(0.4)) ** 2 / 6, rel=1e-5)
    assert float(terms.loss) == pytest.approx(float(terms.positive + terms.negative), rel=1e-6)
    bool_labels = correspondence_contrastive_loss(f0, f1, labels.bool(), margin=1.0)
    assert float(bool_labels.loss) == pytest.approx(float(terms.loss))


def test_contrastive_loss_gradient_is_finite_for_identical_features():
    f0 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    terms = correspondence_contrastive_loss(f0, f0.detach().clone(), torch.tensor([1.0, 0.0]))
    terms.loss.backward()
    assert torch.isfinite(f0.grad).all()


def test_contrastive_loss_rejects_bad_input():
    f = torch.zeros(3, 4)
    with pytest.raises(ValueError):
        correspondence_contrastive_loss(f, torch.zeros(3, 5), torch.ones(3))
    with pytest.raises(ValueError):
        correspondence_contrastive_loss(f, f, torch.ones(2))
    with pytest.raises(ValueError):
        correspondence_contrastive_loss(f, f, torch.tensor([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError):
        correspondence_contrastive_loss(f, f, torch.ones(3), margin=0.0)


def _infonce_case():
    """3 points, database of 4 locations on a line 10 px apart; point i's truth is at location i."""
    database = torch.eye(4, 4)
    locations = torch.tensor([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    return database, locations, locations[:3].clone()


def test_infonce_is_log_of_the_softmax_size_when_all_similarities_are_equal():
    database, locations, gt = _infonce_case()
    f0 = torch.full((3, 4), 0.5)  # unit norm, dot 0.5 with every axis
    f1 = database[:3].clone()  # dot 0.5 with f0 as well: every logit is equal
    loss = correspondence_infonce_loss(f0, f1, database, locations, gt, radius=5.0, temperature=1.0)
    assert float(loss) == pytest.approx(math.log(4), rel=1e-6)  # positive + 3 far locations
    # within 15 px of the truth is left out: points at x = 0, 10, 20 keep 2, 1 and 1 negatives
    wide = correspondence_infonce_loss(f0, f1, database, locations, gt, radius=15.0, temperature=1.0)
    assert float(wide) == pytest.approx((math.log(3) + 2 * math.log(2)) / 3, rel=1e-6)


def test_infonce_near_locations_are_neither_positive_nor_negative():
    database, locations, gt = _infonce_case()
    f0 = database[:3].clone()
    f1 = database[:3].clone()
    gt = gt + torch.tensor([1.0, 0.0])  # the truth 1 px from location i
    # with a radius under 1 px, location i (equal to f0_i) is a negative as good as the positive
    tight = correspondence_infonce_loss(f0, f1, database, locations, gt, radius=0.5, temperature=0.05)
    assert float(tight) == pytest.approx(math.log(2 + 2 * math.exp(-20.0)), abs=1e-6)
    # excluding it, the positive (dot 1) beats every far location (dot 0) by 1 / 0.05
    loose = correspondence_infonce_loss(f0, f1, database, locations, gt, radius=5.0, temperature=0.05)
    assert float(loose) == pytest.approx(math.log(1 + 3 * math.exp(-20.0)), abs=1e-6)


def test_infonce_hand_computed_and_gradient():
    database, locations, gt = _infonce_case()
    f0 = torch.nn.functional.normalize(torch.tensor([[1.0, 1.0, 0.0, 0.0]]), dim=1).requires_grad_(True)
    f1 = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    loss = correspondence_infonce_loss(f0, f1, database, locations, gt[:1], radius=15.0, temperature=0.5)
    s = 1 / math.sqrt(2)  # dots: positive s; locations 2 and 3 (farther than 15 px): 0 and 0
    expected = -math.log(math.exp(s / 0.5) / (math.exp(s / 0.5) + 2.0))
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(f0.grad).all() and float(f0.grad.abs().sum()) > 0


def test_infonce_rejects_bad_input():
    database, locations, gt = _infonce_case()
    f = database[:3]
    with pytest.raises(ValueError):
        correspondence_infonce_loss(f, f[:, :3], database, locations, gt, 5.0)
    with pytest.raises(ValueError):
        correspondence_infonce_loss(f, f, database, locations[:3], gt, 5.0)
    with pytest.raises(ValueError):
        correspondence_infonce_loss(f, f, database, locations, gt, 5.0, temperature=0.0)
    assert float(correspondence_infonce_loss(f[:0], f[:0], database, locations, gt[:0], 5.0)) == 0.0


# ----------------------------------------------------------- nearest neighbours
@pytest.mark.parametrize("chunk", [1, 3, 7, 10_000])
def test_chunked_nearest_is_exact_for_any_chunk(chunk):
    g = torch.Generator().manual_seed(3)
    q, db = torch.randn(23, 6, generator=g), torch.randn(31, 6, generator=g)
    expected = torch.cdist(q.double(), db.double()).argmin(dim=1)
    assert torch.equal(chunked_nearest(q, db, chunk), expected)


def test_chunked_nearest_ties_and_errors():
    db = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    for chunk in (1, 2, 3):
        assert chunked_nearest(torch.tensor([[2.0, 0.0]]), db, chunk).tolist() == [1]
    with pytest.raises(ValueError):
        chunked_nearest(torch.zeros(2, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError):
        chunked_nearest(torch.zeros(2, 3), torch.zeros(0, 3))
    with pytest.raises(ValueError):
        chunked_nearest(torch.zeros(2, 3), torch.zeros(4, 3), chunk=0)
    with pytest.raises(TypeError):
        chunked_nearest(np.zeros((2, 3)), torch.zeros(4, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_chunked_nearest_on_cuda_matches_cpu():
    g = torch.Generator().manual_seed(4)
    q, db = torch.randn(300, 16, generator=g), torch.randn(500, 16, generator=g)
    got = chunked_nearest(q.cuda(), db.cuda(), 64)
    assert got.device.type == "cuda" and torch.equal(got.cpu(), chunked_nearest(q, db, 64))


# ------------------------------------------------------------------- mining
def _grid(h: int, w: int, stride: int = 4) -> torch.Tensor:
    ii, jj = np.mgrid[0:h, 0:w]
    off = (stride - 1) / 2
    return torch.tensor(np.stack([jj.ravel() * stride + off, ii.ravel() * stride + off], 1), dtype=torch.float32)


def test_hard_negatives_keep_only_far_nearest_neighbours():
    h, w = 6, 8
    locations = _grid(h, w)  # 48 locations, 4 px apart
    database = torch.eye(48)  # location k has feature e_k
    perm = torch.tensor(np.random.default_rng(0).permutation(48)[:20])
    queries = database[perm] + 0.01  # NN of query i is location perm[i]
    nn_xy = locations[perm]
    gt = nn_xy.clone()
    gt[::2, 0] += 20.0  # even queries: true correspondence 20 px from their NN -> negatives
    gt[1::2, 1] += 3.0  # odd queries: 3 px away -> within the radius, no negative
    neg = hard_negatives(queries, database, locations, gt, radius=16.0, chunk=7)
    assert neg.query.tolist() == list(range(0, 20, 2))
    assert torch.equal(neg.index, perm[::2])
    assert not neg.index.requires_grad
    # every returned negative lies farther than the radius from the true correspondence
    dist = torch.linalg.vector_norm(locations[neg.index] - gt[neg.query], dim=1)
    assert bool((dist > 16.0).all())
    # NaN ground truth never gives a negative; radius 0 makes every miss a negative
    gt_nan = gt.clone()
    gt_nan[0] = float("nan")
    assert 0 not in hard_negatives(queries, database, locations, gt_nan, 16.0).query.tolist()
    assert len(hard_negatives(queries, database, locations, gt, 0.0).query) == 20


@pytest.mark.parametrize("chunk", [1, 5, 13, 4096])
def test_hard_negatives_do_not_depend_on_the_chunk(chunk):
    g = torch.Generator().manual_seed(1)
    database = torch.nn.functional.normalize(torch.randn(12 * 10, 16, generator=g), dim=1)  # L = 120
    queries = torch.nn.functional.normalize(torch.randn(50, 16, generator=g), dim=1)  # N = 50
    locations = _grid(10, 12)
    gt = torch.rand(50, 2, generator=g) * torch.tensor([48.0, 40.0])
    reference = hard_negatives(queries, database, locations, gt, 8.0, chunk=100_000)
    got = hard_negatives(queries, database, locations, gt, 8.0, chunk=chunk)
    assert 0 < len(reference.query) < 50
    assert torch.equal(got.query, reference.query) and torch.equal(got.index, reference.index)


def test_hard_negatives_gather_with_gradient():
    fmap = torch.randn(8, 4, 5, requires_grad=True)  # (D, h, w)
    database = fmap.flatten(1).T
    queries = torch.randn(6, 8)
    neg = hard_negatives(queries, database, _grid(4, 5), torch.full((6, 2), 1e3), 16.0)
    assert len(neg.query) == 6
    database[neg.index].sum().backward()
    assert fmap.grad is not None and float(fmap.grad.abs().sum()) > 0


def test_random_negatives_are_far_and_seeded():
    locations = _grid(10, 12)
    gt = torch.tensor([[10.0, 10.0], [40.0, 30.0], [24.0, 20.0]])
    a = random_negatives(locations, gt, 16.0, np.random.default_rng(5))
    b = random_negatives(locations, gt, 16.0, np.random.default_rng(5))
    assert torch.equal(a.query, b.query) and torch.equal(a.index, b.index)
    assert a.query.tolist() == [0, 1, 2]
    assert bool((torch.linalg.vector_norm(locations[a.index] - gt[a.query], dim=1) > 16.0).all())
    none = random_negatives(locations, gt, 1e4, np.random.default_rng(5))  # radius covers the image
    assert len(none.query) == 0


# -------------------------------------------------------------------- pairs
@pytest.fixture(scope="module")
def small_pairs_cfg() -> PairsConfig:
    return PairsConfig(image_size=(160, 120), correspondences_per_pair=256, scene_pairs=2)


def test_homography_gt_is_h_inside_the_image():
    H = np.array([[1.1, 0.05, -8.0], [-0.03, 0.95, 5.0], [2e-4, -1e-4, 1.0]])
    gt = homography_gt(H, (64, 48))
    assert gt.shape == (48, 64, 2) and gt.dtype == np.float32
    ys, xs = np.mgrid[0:48, 0:64]
    ref = cv2.perspectiveTransform(np.stack([xs, ys], -1).reshape(-1, 1, 2).astype(np.float64), H).reshape(48, 64, 2)
    inside = (ref[..., 0] >= 0) & (ref[..., 0] <= 63) & (ref[..., 1] >= 0) & (ref[..., 1] <= 47)
    assert 0.3 < inside.mean() < 1.0
    assert np.allclose(gt[inside], ref[inside], atol=1e-3) and np.isnan(gt[~inside]).all()


def _bilinear(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    xy = pts.astype(np.float32).reshape(-1, 1, 2)
    return cv2.remap(image.astype(np.float32), xy[..., 0], xy[..., 1], cv2.INTER_LINEAR)[:, 0]


def test_homography_pair_ground_truth_maps_content(small_pairs_cfg):
    photo = cv2.GaussianBlur(bundled_photo("coffee"), (0, 0), 2.0)  # smooth: interpolation error is small
    for seed in range(3):
        pair, H = homography_pair(photo, np.random.default_rng(seed), small_pairs_cfg, photometric=False)
        assert pair.image0.shape == pair.image1.shape == (120, 160) and pair.image0.dtype == np.uint8
        pts0, pts1 = sample_correspondences(pair.gt, 2000, np.random.default_rng(seed))
        a = pair.image0[pts0[:, 1].astype(int), pts0[:, 0].astype(int)].astype(np.float32)
        diff = np.abs(a - _bilinear(pair.image1, pts1))
        shuffled = np.abs(a - np.roll(_bilinear(pair.image1, pts1), 37))
        assert np.median(diff) < 3.0 and diff.mean() < 0.25 * shuffled.mean()


def test_sample_correspondences_reads_valid_ground_truth():
    gt = np.full((6, 8, 2), np.nan, np.float32)
    gt[2, 3] = (1.5, 2.5)
    gt[4, 7] = (7.0, 0.0)
    pts0, pts1 = sample_correspondences(gt, 10, np.random.default_rng(0))  # only 2 valid: with replacement
    assert pts0.shape == pts1.shape == (10, 2)
    for (x, y), p1 in zip(pts0, pts1):
        assert np.array_equal(gt[int(y), int(x)], p1)
    assert {tuple(p) for p in pts0} == {(3.0, 2.0), (7.0, 4.0)}
    with pytest.raises(ValueError):
        sample_correspondences(np.full((4, 4, 2), np.nan, np.float32), 3, np.random.default_rng(0))


def test_keypoint_fraction_places_that_share_at_keypoints_with_ground_truth():
    gt = np.full((20, 30, 2), np.nan, np.float32)
    gt[:, :15] = np.stack(np.meshgrid(np.arange(15), np.arange(20)), -1) + 0.25  # left half valid
    keypoints = np.array([[2.2, 3.9], [10.0, 10.0], [10.4, 9.6], [25.0, 5.0], [np.nan, 1.0], [-3.0, 0.0]])
    # nearest pixels: (2, 4), (10, 10) twice, (25, 5) has no ground truth, NaN dropped, (-3, 0) clips to (0, 0)
    pts0, pts1 = sample_correspondences(gt, 8, np.random.default_rng(0), keypoints, keypoint_fraction=0.5)
    assert pts0.shape == pts1.shape == (8, 2)
    assert {tuple(p) for p in pts0[:3]} == {(2.0, 4.0), (10.0, 10.0), (0.0, 0.0)}  # all 3 usable, capped below 4
    assert np.array_equal(pts1, pts0 + 0.25) and (pts0[:, 0] < 15).all()
    few, _ = sample_correspondences(gt, 8, np.random.default_rng(0), keypoints, keypoint_fraction=0.25)
    assert {tuple(p) for p in few[:2]} <= {(2.0, 4.0), (10.0, 10.0), (0.0, 0.0)}  # round(0.25 * 8) = 2
    # fraction 0 or no keypoints: exactly the uniform draw, so older runs reproduce
    uniform = sample_correspondences(gt, 8, np.random.default_rng(1))
    for kw in (dict(keypoints=keypoints, keypoint_fraction=0.0), dict(keypoints=None, keypoint_fraction=0.5),
               dict(keypoints=np.zeros((0, 2)), keypoint_fraction=0.5)):
        assert np.array_equal(sample_correspondences(gt, 8, np.random.default_rng(1), **kw)[0], uniform[0])
    with pytest.raises(ValueError, match="keypoint_fraction"):
        sample_correspondences(gt, 8, np.random.default_rng(0), keypoints, keypoint_fraction=1.5)


def test_scene_pairs_are_cached_and_their_correspondences_valid(tmp_path, small_pairs_cfg):
    photos = [(n, bundled_photo(n)) for n in ("brick", "coffee", "chelsea")]
    scenes = load_or_render_scene_pairs(tmp_path, photos, 2, (160, 120), "mixed", seed=1)
    assert len(list(tmp_path.glob("scene_pairs_train_*.npz"))) == 1
    again = load_or_render_scene_pairs(tmp_path, photos, 2, (160, 120), "mixed", seed=1)
    assert np.array_equal(scenes.images0, again.images0) and np.array_equal(scenes.gt, again.gt, equal_nan=True)
    resized = [(n, cv2.resize(im, None, fx=0.5, fy=0.5)) for n, im in photos]  # same names, other pixels
    load_or_render_scene_pairs(tmp_path, resized, 1, (64, 48), "mixed", seed=1)
    load_or_render_scene_pairs(tmp_path, photos, 1, (64, 48), "mixed", seed=1)
    assert len(list(tmp_path.glob("scene_pairs_train_*.npz"))) == 3
    assert scenes.images0.shape == (2, 120, 160) and scenes.gt.shape == (2, 120, 160, 2)
    for i in range(2):
        valid = np.isfinite(scenes.gt[i]).all(-1)
        assert valid.mean() > 0.2
        g = scenes.gt[i][valid]
        assert (g[:, 0] >= 0).all() and (g[:, 0] <= 159).all() and (g[:, 1] >= 0).all() and (g[:, 1] <= 119).all()
        pts0, pts1 = sample_correspondences(scenes.gt[i], 1500, np.random.default_rng(i))
        a = scenes.images0[i][pts0[:, 1].astype(int), pts0[:, 0].astype(int)].astype(np.float32)
        diff = np.abs(a - _bilinear(scenes.images1[i], pts1))
        assert np.median(diff) < 4.0 and diff.mean() < 0.3 * np.abs(a - np.roll(a, 101)).mean()


def test_pair_source_is_seeded_and_mixes(tmp_path, small_pairs_cfg):
    photos = [("astronaut", bundled_photo("astronaut"))]
    scenes = load_or_render_scene_pairs(tmp_path, photos, 2, (160, 120), "box", seed=0)
    source = PairSource(photos, scenes, small_pairs_cfg)
    a, b = source.draw(np.random.default_rng([0, 7])), source.draw(np.random.default_rng([0, 7]))
    assert np.array_equal(a.image0, b.image0) and np.array_equal(a.image1, b.image1)
    kinds = {any(np.array_equal(source.draw(np.random.default_rng([0, s])).gt, g, equal_nan=True) for g in scenes.gt)
             for s in range(12)}
    assert kinds == {True, False}  # both scene and homography pairs are drawn
    with pytest.raises(ValueError):
        PairSource(photos, None, small_pairs_cfg)


# ------------------------------------------------------------------- config
@pytest.mark.parametrize("name", ["ucn-lite.yaml", "ucn-lite-nost.yaml", "ucn.yaml"])
def test_shipped_yaml_configs_load(name):
    cfg = load_config(CONFIGS / name, steps=5)
    assert cfg.steps == 5 and cfg.preset == name.removesuffix(".yaml")
    assert cfg.loss.negatives == "hard" and cfg.loss.hard_negative_radius == 16.0 and cfg.loss.margin == 1.0
    assert cfg.pairs.image_size[0] % 4 == 0 and cfg.pairs.image_size[1] % 4 == 0


def test_the_ablation_configs_differ_only_in_what_they_ablate():
    lite, nost = load_config(CONFIGS / "ucn-lite.yaml"), load_config(CONFIGS / "ucn-lite-nost.yaml")
    assert dataclasses.replace(nost, preset=lite.preset) == lite
    random = load_config(CONFIGS / "ucn-lite-nost-random-negatives.yaml")
    assert random.loss.negatives == "random"
    assert dataclasses.replace(random, loss=dataclasses.replace(random.loss, negatives="hard")) == nost


def test_the_infonce_config_differs_from_ucn_only_in_the_loss():
    paper, infonce = load_config(CONFIGS / "ucn.yaml"), load_config(CONFIGS / "ucn-infonce.yaml")
    assert paper.loss.objective == "contrastive" and infonce.loss.objective == "infonce"
    assert dataclasses.replace(infonce, loss=paper.loss) == paper


def test_unknown_keys_raise_listing_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['no_such_key'\].*valid: .*'batch_size'"):
        load_config(None, no_such_key=1)
    path = tmp_path / "bad.yaml"
    path.write_text("pairs:\n  homography:\n    scale: [0.8, 1.2]\n    spin: 3\n")
    with pytest.raises(ValueError, match=r"config\.pairs\.homography.*valid: .*'max_rotation_deg'"):
        load_config(path)
    path.write_text("loss:\n  negatives: hardest\n")
    with pytest.raises(ValueError, match="negatives"):
        load_config(path)
    path.write_text("loss:\n  objective: triplet\n")
    with pytest.raises(ValueError, match="objective"):
        load_config(path)
    path.write_text("pairs:\n  image_size: [321, 240]\n")
    with pytest.raises(ValueError, match="image_size"):
        load_config(path)
    path.write_text("pairs:\n  keypoint_detector: superpoint-lite\n")  # only classical detectors
    with pytest.raises(ValueError, match="keypoint_detector.*'sift'"):
        load_config(path)
    path.write_text("pairs:\n  keypoint_fraction: 1.5\n")
    with pytest.raises(ValueError, match="keypoint_fraction"):
        load_config(path)
    path.write_text("pairs:\n  homography:\n    max_rotation_deg: 10\n")
    cfg = load_config(path)  # a mapping overrides only the keys it names
    assert cfg.pairs.homography.max_rotation_deg == 10 and cfg.pairs.homography.scale == (0.7, 1.4)


# ------------------------------------------------------------------ training
def _tiny_cfg(steps: int, **kw):
    cfg = load_config(CONFIGS / "ucn-lite.yaml")
    pairs = dataclasses.replace(cfg.pairs, image_size=(64, 48), correspondences_per_pair=256, scene_pairs=1,
                                scene_fraction=0.0)
    base = dict(steps=steps, batch_size=2, lr=3e-3, warmup_steps=1, log_every=2, checkpoint_every=100,
                max_minutes=None, pairs=pairs)
    base.update(kw)
    return dataclasses.replace(cfg, **base)


@pytest.fixture(scope="module")
def tiny_source():
    photo = cv2.resize(bundled_photo("astronaut"), (128, 128), interpolation=cv2.INTER_AREA)
    return PairSource([("astronaut", photo)], None, _tiny_cfg(1).pairs)


def test_batch_losses_on_a_pair(tiny_source):
    from cvlearned.models.ucn import build_net
    from cvlearned.training.ucn.train_ucn import batch_losses

    torch.manual_seed(0)
    net = build_net("ucn-lite")
    rng = np.random.default_rng(0)
    cfg = _tiny_cfg(1)
    losses = batch_losses(net, [tiny_source.draw(rng) for _ in range(2)], rng, cfg)
    assert set(losses) == {"loss", "positive", "negative", "negative_fraction"}
    assert all(torch.isfinite(v) for v in losses.values())
    total = float((losses["positive"] + losses["negative"]).detach())
    assert float(losses["loss"].detach()) == pytest.approx(total, rel=1e-5)
    assert 0.0 < float(losses["negative_fraction"]) <= 1.0  # an untrained net confuses many points
    losses["loss"].backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_a_few_steps_lower_the_loss(tiny_source, tmp_path):
    from cvlearned.training.ucn.train_ucn import train

    torch.set_num_threads(1)
    _, history = train(_tiny_cfg(12, preset="ucn-lite-nost"), tiny_source, tmp_path, LOG, progress=False,
                       device="cpu")
    assert [h["step"] for h in history] == [2, 4, 6, 8, 10, 12]
    assert np.mean([h["loss"] for h in history[-2:]]) < np.mean([h["loss"] for h in history[:2]])


def test_random_negatives_mode_trains(tiny_source, tmp_path):
    from cvlearned.training.ucn.train_ucn import train

    cfg = _tiny_cfg(2, preset="ucn-lite-nost", loss=dataclasses.replace(_tiny_cfg(1).loss, negatives="random"))
    _, history = train(cfg, tiny_source, tmp_path, LOG, progress=False, device="cpu")
    assert history[-1]["negative_fraction"] > 0.5 and math.isfinite(history[-1]["loss"])


def test_infonce_objective_trains(tiny_source, tmp_path):
    from cvlearned.models.ucn import build_net
    from cvlearned.training.ucn.train_ucn import batch_losses, train

    loss_cfg = dataclasses.replace(_tiny_cfg(1).loss, objective="infonce", hard_negative_radius=6.0)
    cfg = _tiny_cfg(12, preset="ucn-lite-nost", loss=loss_cfg)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    losses = batch_losses(build_net("ucn-lite-nost"), [tiny_source.draw(rng) for _ in range(2)], rng, cfg)
    # an untrained net: ~log of the softmax size, not the Eq. 1 terms it still logs
    assert float(losses["loss"].detach()) > 2.0 > float((losses["positive"] + losses["negative"]).detach())
    torch.set_num_threads(1)
    _, history = train(cfg, tiny_source, tmp_path, LOG, progress=False, device="cpu")
    assert np.mean([h["loss"] for h in history[-2:]]) < np.mean([h["loss"] for h in history[:2]])


def test_keypoint_sampling_trains(tiny_source, tmp_path):
    from cvlearned.training.ucn.train_ucn import train

    cfg = _tiny_cfg(2, preset="ucn-lite-nost", pairs=dataclasses.replace(_tiny_cfg(1).pairs, keypoint_fraction=0.5))
    _, history = train(cfg, tiny_source, tmp_path, LOG, progress=False, device="cpu")
    assert [h["step"] for h in history] == [2] and math.isfinite(history[-1]["loss"])


def test_the_keypoint_config_differs_from_the_4000_step_run_only_in_the_sampling():
    control = load_config(CONFIGS / "ucn-infonce-4000.yaml")
    keypoints = load_config(CONFIGS / "ucn-infonce-keypoints50.yaml")
    assert keypoints.pairs.keypoint_fraction == 0.5 and control.pairs.keypoint_fraction == 0.0
    assert dataclasses.replace(keypoints, pairs=control.pairs) == control


def test_resumed_run_reproduces_the_uninterrupted_one(tiny_source, tmp_path):
    from cvlearned.training.ucn.train_ucn import train, validation_pairs

    val = validation_pairs([("coffee", bundled_photo("coffee"))], None, _tiny_cfg(1))
    cfg = _tiny_cfg(6)
    straight, h_straight = train(cfg, tiny_source, tmp_path / "straight", LOG, val, progress=False, device="cpu")
    _, first = train(cfg, tiny_source, tmp_path / "resumed", LOG, val, progress=False, max_steps_this_run=4,
                     device="cpu")
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)["step"] == 4
    resumed, rest = train(cfg, tiny_source, tmp_path / "resumed", LOG, val, progress=False, device="cpu")
    history = first + rest
    assert [h["step"] for h in history] == [h["step"] for h in h_straight] == [2, 4, 6]
    for a, b in zip(history, h_straight):
        for key in ("loss", "positive", "negative", "negative_fraction", "pck@4", "pck@10"):
            assert a[key] == pytest.approx(b[key], abs=1e-5), key
    for (k, v1), v2 in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(v1.float(), v2.float(), atol=1e-5), k


def test_cli_trains_and_exports_strictly_loadable_weights(tmp_path):
    from cvlearned.cli import main
    from cvlearned.models.ucn import build_net
    from cvlearned.weight_files import load_into, load_state_dict

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in bundled_photo_names()[:10]:  # the 10th (sorted) is held out for validation
        cv2.imwrite(str(photos / f"{name}.png"), cv2.resize(bundled_photo(name), (120, 96)))
    raw = yaml.safe_load((CONFIGS / "ucn-lite-nost.yaml").read_text())
    raw.update(steps=3, log_every=1, checkpoint_every=2, max_minutes=None)
    raw["pairs"].update(image_size=[64, 48], scene_pairs=2, correspondences_per_pair=128)
    raw["validation"].update(homography_pairs=1, scene_pairs=1, points_per_pair=100)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    out, export = tmp_path / "run", tmp_path / "w" / "ucn.pt"
    args = ["train", "ucn", "--config", str(config), "--out", str(out), "--images", str(photos),
            "--export", str(export), "--threads", "1", "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    log = (out / "train.log").read_text()
    assert '"pck@4"' in log and '"negative_fraction"' in log and "final val" in log
    assert len(list(out.glob("scene_pairs_train_*.npz"))) == 1 and len(list(out.glob("scene_pairs_val_*.npz"))) == 1
    net = build_net(load_config(config).preset)
    load_into(net, load_state_dict(export), export)  # strict=True
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 3


class _ContentCode(torch.nn.Module):
    """A stand-in network whose stride-4 features are the 9x9 neighbourhood of 4x4-pooled
    intensities (81-d, so unrelated locations are far apart): a content code, so a feature
    follows its image content exactly."""

    stride = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.avg_pool2d(x.float(), 4)
        code = torch.nn.functional.unfold(pooled, 9, padding=4)  # (B, 81, h*w)
        code = code.reshape(x.shape[0], 81, *pooled.shape[2:])
        return torch.nn.functional.normalize(code - code.mean(1, keepdim=True), dim=1)


@pytest.mark.parametrize("shift", [(0, 0), (8, 4), (-12, 8)])
def test_losses_agree_with_ground_truth_of_a_shifted_pair(shift):
    """Sampling, cell centres, ground-truth direction and mining agree across modules: on a
    pure shift (a multiple of the stride) every true pair has identical features and no
    point gets a hard negative."""
    from cvlearned.training.common.correspondence_pairs import CorrespondencePair
    from cvlearned.training.ucn.train_ucn import batch_losses

    dx, dy = shift
    big = np.random.default_rng(0).integers(0, 256, (96 + 48, 128 + 48), dtype=np.uint8)
    image0 = big[24:24 + 96, 24:24 + 128].copy()
    image1 = big[24 - dy:24 - dy + 96, 24 - dx:24 - dx + 128].copy()  # content at x moves to x + shift
    ys, xs = np.mgrid[0:96, 0:128].astype(np.float32)
    gt = np.stack([xs + dx, ys + dy], axis=-1)
    inner = (xs >= 24) & (xs < 104) & (ys >= 24) & (ys < 72) & (xs + dx >= 24) & (xs + dx < 104) \
        & (ys + dy >= 24) & (ys + dy < 72)
    gt[~inner] = np.nan
    cfg = _tiny_cfg(1)
    losses = batch_losses(_ContentCode(), [CorrespondencePair(image0, image1, gt)], np.random.default_rng(1), cfg)
    assert float(losses["positive"]) < 1e-6
    assert float(losses["negative_fraction"]) == 0.0
    wrong = gt + np.float32(20.0)  # a false ground truth: its points get hard negatives
    losses = batch_losses(_ContentCode(), [CorrespondencePair(image0, image1, wrong)], np.random.default_rng(1), cfg)
    assert float(losses["negative_fraction"]) > 0.5
