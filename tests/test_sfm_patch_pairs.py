"""Patch pairs from reconstruction tracks, on a constructed reconstruction whose images are
exact transforms of one texture (so every true pair of patches must agree)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cvlearned.reconstruction_io import CameraIntrinsics, ImagePose, Reconstruction
from cvlearned.training.patches.sfm_patch_pairs import (
    SfmPatchConfig,
    load_or_mine_sfm,
    mine_reconstruction,
    observation_frames,
    track_pairs,
)

W, H = 240, 200


def _texture() -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (H, W)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def _camera(w: int, h: int) -> CameraIntrinsics:
    return CameraIntrinsics("PINHOLE", w, h, np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.0]]), np.zeros(5))


def _scene(tmp_path, extra_tracks=()) -> tuple[Reconstruction, np.ndarray]:
    """Images: ``a`` = texture, ``b`` = texture turned 90 deg clockwise, ``c`` = texture enlarged
    2x. Points: a 5 x 6 grid observed in all three (positions, sizes, angles mapped exactly),
    plus ``extra_tracks``: lists of (image index, x, y, size, angle) with error 0."""
    texture = _texture()
    cv2.imwrite(str(tmp_path / "a.png"), texture)
    cv2.imwrite(str(tmp_path / "b.png"), cv2.rotate(texture, cv2.ROTATE_90_CLOCKWISE))
    cv2.imwrite(str(tmp_path / "c.png"), cv2.resize(texture, (2 * W, 2 * H), interpolation=cv2.INTER_CUBIC))
    rng = np.random.default_rng(0)
    tracks = []
    for y in np.linspace(60, 140, 5):
        for x in np.linspace(60, 180, 6):
            size, angle = 5.0, float(rng.uniform(0, 360))
            tracks.append([(0, x, y, size, angle), (1, H - 1 - y, x, size, (angle + 90) % 360),
                           (2, 2 * (x + 0.5) - 0.5, 2 * (y + 0.5) - 0.5, 2 * size, angle)])
    tracks += list(extra_tracks)
    offsets = np.cumsum([0] + [len(t) for t in tracks])
    obs = np.array([o for t in tracks for o in t], np.float64)
    rec = Reconstruction(
        cameras={1: _camera(W, H), 2: _camera(H, W), 3: _camera(2 * W, 2 * H)},
        images={n: ImagePose(n, k + 1, np.eye(3), np.zeros(3)) for k, n in enumerate(("a.png", "b.png", "c.png"))},
        image_names=("a.png", "b.png", "c.png"), xyz=np.zeros((len(tracks), 3)),
        rgb=np.zeros((len(tracks), 3), np.uint8), error=np.zeros(len(tracks)), track_offsets=offsets,
        track_image=obs[:, 0].astype(np.int32), track_keypoint=np.arange(len(obs), dtype=np.int32),
        track_xy=obs[:, 1:3], track_size=obs[:, 3].astype(np.float32), track_angle=obs[:, 4].astype(np.float32),
        summary={"status": "ok", "image_dir": str(tmp_path)})
    return rec, texture


def _mean_abs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.float64) - b.astype(np.float64)).mean(axis=(1, 2))


def test_observations_of_one_point_give_the_same_patch_in_turned_and_rescaled_images(tmp_path):
    rec, _ = _scene(tmp_path)
    a, b, point_id = mine_reconstruction(rec, tmp_path, SfmPatchConfig(image_side=W, pairs_per_point=3))
    assert a.shape == b.shape == (90, 32, 32) and a.dtype == np.uint8
    assert np.array_equal(np.bincount(point_id), np.full(30, 3))  # every pair of the three views
    same = _mean_abs(a, b)
    other = _mean_abs(a, np.roll(b, 3, axis=0))  # the next point (3 pairs per point)
    assert same.max() < 4.0, same.max()  # interpolation and the 2x round trip only
    assert other.min() > 4 * same.max()


def test_without_resizing_the_enlarged_view_is_sampled_at_its_own_scale(tmp_path):
    rec, _ = _scene(tmp_path)
    a, b, _ = mine_reconstruction(rec, tmp_path, SfmPatchConfig(image_side=0, pairs_per_point=3))
    assert _mean_abs(a, b).max() < 4.0


def test_unusable_observations_never_make_a_pair(tmp_path):
    extra = [
        [(0, 3.0, 100.0, 5.0, 0.0), (1, 100.0, 3.0, 5.0, 90.0)],    # patch leaves both images
        [(0, 100.0, 100.0, 5.0, np.nan), (1, 99.0, 100.0, 5.0, 90.0)],  # no orientation
        [(0, 120.0, 100.0, 5.0, 10.0), (0, 121.0, 100.0, 5.0, 10.0)],   # twice in one image
    ]
    rec, _ = _scene(tmp_path, extra)
    frames, usable = observation_frames(rec, SfmPatchConfig(image_side=0), 32, 6.0)
    assert frames.shape == (len(rec.track_image), 2, 3)
    assert usable[:90].all() and not usable[90:93].any() and usable[94:].all()
    obs_a, obs_b = track_pairs(rec, usable, SfmPatchConfig(pairs_per_point=5))
    points = rec.track_points()
    assert np.array_equal(points[obs_a], points[obs_b])
    assert (rec.track_image[obs_a] != rec.track_image[obs_b]).all()
    assert set(points[obs_a]) == set(range(30))


def test_inaccurate_points_and_the_point_budget(tmp_path):
    rec, _ = _scene(tmp_path)
    error = np.zeros(30)
    error[:10] = 2.0
    rec = Reconstruction(**{**rec.__dict__, "error": error})
    _, _, point_id = mine_reconstruction(rec, tmp_path, SfmPatchConfig(max_reprojection_error=1.0))
    assert sorted(point_id) == list(range(10, 30))
    _, _, few = mine_reconstruction(rec, tmp_path, SfmPatchConfig(max_points_per_scene=7, seed=1))
    again = mine_reconstruction(rec, tmp_path, SfmPatchConfig(max_points_per_scene=7, seed=1))[2]
    assert len(few) == 7 and np.array_equal(few, again)


def test_a_changed_image_is_refused_by_name(tmp_path):
    rec, texture = _scene(tmp_path)
    cv2.imwrite(str(tmp_path / "b.png"), texture)  # not turned: wrong size for its camera
    with pytest.raises(ValueError, match="b.png is 240x200 but its camera is 200x240"):
        mine_reconstruction(rec, tmp_path, SfmPatchConfig())
    (tmp_path / "c.png").unlink()
    rec2 = Reconstruction(**{**rec.__dict__, "track_image": np.where(rec.track_image == 1, 0, rec.track_image)})
    with pytest.raises(FileNotFoundError, match="c.png"):
        mine_reconstruction(rec2, tmp_path, SfmPatchConfig())


@pytest.mark.parametrize("bad", [{"pairs_per_point": 0}, {"image_side": -1}, {"max_points_per_scene": 1.5},
                                 {"max_reprojection_error": 0}, {"scenes": "mary_rose"}, {"scenes": ("",)}])
def test_config_is_checked(bad):
    with pytest.raises(ValueError, match="sfm."):
        SfmPatchConfig(**bad)


def test_trainer_config_reads_the_sfm_mapping_and_refuses_unknown_keys(tmp_path):
    from cvlearned.training.patches.train_hardnet import load_config

    path = tmp_path / "c.yaml"
    path.write_text("sfm:\n  scenes: [a, b]\n  image_side: 512\n")
    cfg = load_config(path)
    assert cfg.sfm == SfmPatchConfig(scenes=("a", "b"), image_side=512)
    path.write_text("sfm:\n  scene: [a]\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['scene'\] in config.sfm"):
        load_config(path)


def test_mining_is_cached_by_config_and_scene(tmp_path, monkeypatch):
    import cvlearned.training.patches.sfm_patch_pairs as module

    rec, _ = _scene(tmp_path)
    monkeypatch.setattr(module, "load_reconstruction", lambda scene_dir: rec)
    cfg = SfmPatchConfig(scenes=("s1", "s2"))
    a, b, ids = load_or_mine_sfm(cfg, tmp_path / "out", root=tmp_path)
    assert len(a) == 60 and np.array_equal(np.unique(ids), np.arange(60))  # class ids unique over scenes
    monkeypatch.setattr(module, "mine_reconstruction", lambda *args: pytest.fail("not cached"))
    a2, _, _ = load_or_mine_sfm(cfg, tmp_path / "out", root=tmp_path)
    assert np.array_equal(a, a2)
