"""OriNet (learned orientation): network, rotation geometry, loss, training, HardNet integration."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import cvlearned
from cvlearned.models.hardnet import HardNet, HardNetConfig
from cvlearned.models.orinet import (
    FusedOriNet,
    OriNet,
    angles_to_vectors,
    angular_difference,
    centre_crop,
    rotate_patches,
    vectors_to_angles,
)
from cvlearned.patches import build_pyramid, extract_patches
from cvlearned.synthetic.photos import bundled_photo
from cvlearned.weight_files import load_manifest, shipped_file, shipped_weights, weights_dir

torch.set_num_threads(1)

#: median / 90th-percentile learned-orientation error (degrees) allowed under image rotation.
#: Measured with the shipped orinet-v1.pt on these 4 bundled photos x 4 angles (2,998 keypoints):
#: median 0.77, p90 3.6 degrees (weights/orinet-v1.md); the bounds leave about 4x / 3x margin.
EQUIVARIANCE_MEDIAN_DEG = 3.0
EQUIVARIANCE_P90_DEG = 12.0


def _gray(name: str, size=(320, 240)) -> np.ndarray:
    return cv2.cvtColor(cv2.resize(bundled_photo(name), size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)


def _rotation(size, angle: float) -> np.ndarray:
    w, h = size
    H = np.eye(3)
    H[:2] = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
    return H


@pytest.fixture(scope="module")
def learned() -> HardNet:
    return cvlearned.HardNet_create(orientation="learned", max_keypoints=300, device="cpu")


# ----------------------------------------------------------------------------- network
def test_output_is_a_unit_vector_and_intensity_invariant():
    torch.manual_seed(0)
    net = OriNet().eval()
    x = torch.rand(6, 1, 32, 32) * 255
    with torch.no_grad():
        v = net(x)
    assert v.shape == (6, 2)
    assert torch.allclose(v.norm(dim=1), torch.ones(6), atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(net(x * 0.5 + 30), v, atol=1e-4)
    angles = vectors_to_angles(v)
    assert ((angles >= 0) & (angles < 360)).all()
    assert np.allclose(vectors_to_angles(angles_to_vectors(angles)), angles, atol=1e-4)
    assert sum(p.numel() for p in net.parameters()) < 100_000
    # the BN-folded inference copy gives the same vectors
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    with torch.no_grad():
        assert torch.allclose(FusedOriNet(net)(x), net(x), atol=1e-5)
    with pytest.raises(ValueError, match="32"):
        net(torch.zeros(1, 1, 48, 48))


def test_corners_outside_the_disc_are_ignored():
    torch.manual_seed(0)
    net = OriNet().eval()
    x = torch.rand(3, 1, 32, 32) * 255
    y = x.clone()
    y[:, :, :3, :3] = 0.0  # a corner lies outside the inscribed disc
    y[:, :, -3:, -3:] = 255.0
    with torch.no_grad():
        assert torch.allclose(net(x), net(y), atol=1e-5)


def test_rotate_patches_equals_extracting_the_rotated_patch():
    gray = _gray("astronaut", (512, 512))
    pyramid = build_pyramid(gray)
    kps = [cv2.KeyPoint(200.0, 220.0, 8.0, -1), cv2.KeyPoint(300.3, 150.2, 5.0, -1),
           cv2.KeyPoint(256.0, 300.0, 20.0, -1)]
    big = extract_patches(pyramid, kps, 48, 9.0)  # upright, same pixel step as 32 px at 6 x size
    assert torch.equal(centre_crop(big), extract_patches(pyramid, kps, 32, 6.0))
    angles = [37.0, 250.0, 123.0]
    rotated = rotate_patches(big, angles_to_vectors(angles))
    reference = extract_patches(pyramid, [cv2.KeyPoint(k.pt[0], k.pt[1], k.size, a) for k, a in zip(kps, angles)])
    assert float((rotated - reference).abs().mean()) < 1.5  # two bilinear interpolations vs one
    # exact for quarter turns: at angle 90 the patch x-axis points down the image, so the
    # patch's top-left pixel is the upright patch's top-right one: torch.rot90 with k = 1
    quarter = rotate_patches(big, angles_to_vectors([90.0] * 3))
    assert torch.allclose(quarter, torch.rot90(centre_crop(big), 1, dims=(2, 3)), atol=1e-3)
    # gradients reach the orientation vector
    vec = angles_to_vectors(angles).requires_grad_(True)
    rotate_patches(big, vec).sum().backward()
    assert vec.grad is not None and torch.isfinite(vec.grad).all() and vec.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- loss
def test_orientation_loss_hand_computed():
    from cvlearned.training.patches.losses import hardnet_triplet_loss
    from cvlearned.training.patches.train_orinet import orientation_loss

    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    # |a0 - b0| = sqrt(0.16 + 0.64) = sqrt(0.8); |a1 - b1| = 0
    assert float(orientation_loss(a, b)) == pytest.approx(np.sqrt(0.8) / 2, abs=1e-3)
    assert float(orientation_loss(a, a.clone())) == pytest.approx(0.0, abs=1e-3)
    combined = orientation_loss(a, b, triplet_weight=0.5)
    expected = float(orientation_loss(a, b)) + 0.5 * float(hardnet_triplet_loss(a, b))
    assert float(combined) == pytest.approx(expected, abs=1e-5)


class _Fixed(torch.nn.Module):
    """A stand-in orientation network returning given vectors."""

    def __init__(self, vectors: torch.Tensor) -> None:
        super().__init__()
        self.vectors = vectors

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vectors


def test_step_loss_on_a_constructed_quarter_turn():
    from cvlearned.training.patches.train_orinet import frozen_descriptor, step_loss

    gray = _gray("camera", (256, 256))
    kps = [cv2.KeyPoint(x, y, 6.0, -1) for x, y in ((80.0, 90.0), (150.0, 120.0), (120.0, 180.0), (180.0, 70.0))]
    big_a = extract_patches(gray, kps, 48, 9.0)
    # view B = the content turned a quarter counter-clockwise on screen: image directions
    # change their OpenCV angle by -90, so angle 0 in A corresponds to angle 270 in B
    big_b = torch.rot90(big_a, 1, dims=(2, 3))
    desc = frozen_descriptor()
    n = len(kps)
    va = angles_to_vectors([0.0] * n)
    right = step_loss(_Fixed(torch.cat([va, angles_to_vectors([270.0] * n)])), desc, big_a, big_b)
    wrong = step_loss(_Fixed(torch.cat([va, angles_to_vectors([90.0] * n)])), desc, big_a, big_b)
    assert float(right) < 0.02 < 0.5 < float(wrong)


def test_few_training_steps_lower_the_loss_and_resume(tmp_path):
    import dataclasses

    from cvlearned.training.patches.patch_pairs import mine_pair
    from cvlearned.training.patches.train_orinet import (
        TrainConfig,
        default_mining,
        evaluate,
        frozen_descriptor,
        load_config,
        train,
    )

    mining = dataclasses.replace(default_mining(), max_keypoints_per_image=150)
    pairs = [mine_pair(np.random.default_rng([0, i]), bundled_photo(name), mining)
             for i, name in enumerate(("astronaut", "coffee"))]
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    assert a.shape[1:] == (48, 48) and len(a) >= 64
    cfg = TrainConfig(steps=20, batch_size=32, lr=3e-3, warmup_steps=1, log_every=5, checkpoint_every=5, mining=mining)
    desc = frozen_descriptor()
    torch.manual_seed(cfg.seed)
    before = evaluate(OriNet(), desc, a[:128], b[:128])["dist"]
    _, first = train(cfg, a, b, tmp_path, descriptor=desc, progress=False, max_steps_this_run=10)
    assert [h["step"] for h in first] == [5, 10]
    net, second = train(cfg, a, b, tmp_path, descriptor=desc, progress=False)
    assert [h["step"] for h in second] == [15, 20]  # resumed from the checkpoint
    after = evaluate(net, desc, a[:128], b[:128])["dist"]
    assert after < before - 0.05, (before, after)
    # the shipped YAML parses into the same dataclass
    from pathlib import Path

    yaml_cfg = load_config(Path(__file__).resolve().parents[1] / "cvlearned/training/configs/orinet.yaml")
    assert yaml_cfg.mining.upright and yaml_cfg.mining.homography.max_rotation_deg == 180.0
    with pytest.raises(ValueError, match="upright"):
        TrainConfig(mining=dataclasses.replace(mining, upright=False))


# ------------------------------------------------------------------- shipped weights
def test_shipped_weights_are_in_the_manifest_and_not_a_feature():
    entry = load_manifest()[shipped_file("orinet")]
    assert entry.model == "orinet" and entry.family == "orinet" and (weights_dir() / entry.model_card).is_file()
    path = shipped_weights(shipped_file("orinet"))  # sha256 + size verified
    net = OriNet()
    net.load_state_dict(torch.load(path, weights_only=True), strict=True)
    assert "orinet" not in cvlearned.list_features()


def test_learned_orientation_follows_image_rotation(learned):
    errors = []
    for name in ("astronaut", "camera", "coffee", "chelsea"):
        gray = _gray(name)
        h, w = gray.shape
        keypoints = learned.detect(gray)
        assert len(keypoints) > 50 and all(0 <= kp.angle < 360 for kp in keypoints)
        for angle in (35.0, 90.0, 160.0, 250.0):
            H = _rotation((w, h), angle)
            rotated = cv2.warpAffine(gray, H[:2], (w, h), flags=cv2.INTER_LINEAR)
            pts = cv2.perspectiveTransform(np.float32([kp.pt for kp in keypoints]).reshape(-1, 1, 2), H).reshape(-1, 2)
            margin = 3 * np.array([kp.size for kp in keypoints])  # patch half-side stays in view
            inside = ((pts[:, 0] >= margin) & (pts[:, 0] <= w - 1 - margin)
                      & (pts[:, 1] >= margin) & (pts[:, 1] <= h - 1 - margin))
            mapped = [cv2.KeyPoint(float(p[0]), float(p[1]), kp.size, 0.0)
                      for p, kp, ok in zip(pts, keypoints, inside) if ok]
            kept, _ = learned.compute(rotated, mapped)  # compute() replaces the angle
            before = np.array([kp.angle for kp, ok in zip(keypoints, inside) if ok])
            after = np.array([kp.angle for kp in kept])
            # cv2.getRotationMatrix2D(angle) turns the content counter-clockwise on screen:
            # OpenCV angles (clockwise on screen) change by -angle
            errors.append(np.abs(angular_difference(after, before - angle)))
    errors = np.concatenate(errors)
    assert len(errors) > 500
    assert np.median(errors) < EQUIVARIANCE_MEDIAN_DEG, np.median(errors)
    assert np.quantile(errors, 0.9) < EQUIVARIANCE_P90_DEG, np.quantile(errors, 0.9)


# --------------------------------------------------------------- HardNet integration
@pytest.mark.parametrize("detector", [cv2.FastFeatureDetector_create, cv2.GFTTDetector_create], ids=["fast", "gftt"])
def test_hardnet_with_an_upright_detector_and_learned_orientation(detector, photo_gray):
    feat = cvlearned.HardNet_create(detector=detector(), orientation="learned", max_keypoints=200, device="cpu")
    keypoints, desc = feat.detectAndCompute(photo_gray, None)
    h, w = photo_gray.shape
    assert 50 < len(keypoints) <= 200 and desc.shape == (len(keypoints), 128) and desc.dtype == np.float32
    assert np.allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-4)
    for kp in keypoints:
        assert 0 <= kp.angle < 360 and kp.size == (7.0 if detector is cv2.FastFeatureDetector_create else 3.0)
        assert 0 <= kp.pt[0] <= w - 1 and 0 <= kp.pt[1] <= h - 1
    assert len({(kp.pt, kp.size) for kp in keypoints}) == len(keypoints)
    # detect() gives the same oriented keypoints; compute() on them the same descriptors
    detected = feat.detect(photo_gray)
    assert [(k.pt, k.angle) for k in detected] == [(k.pt, k.angle) for k in keypoints]
    kept, desc2 = feat.compute(photo_gray, detected)
    assert len(kept) == len(keypoints) and np.allclose(desc, desc2, atol=1e-5)
    # the mask is honoured
    mask = np.zeros_like(photo_gray)
    mask[:, : w // 2] = 255
    masked = feat.detect(photo_gray, mask)
    assert masked and all(kp.pt[0] <= w // 2 + 1 for kp in masked)


def test_learned_orientation_makes_upright_corners_rotation_invariant():
    from cvlearned.evaluation.matching import match_descriptors
    from cvlearned.evaluation.metrics import mean_matching_accuracy

    gray = _gray("astronaut")
    h, w = gray.shape
    H = _rotation((w, h), 60.0)
    rotated = cv2.warpAffine(gray, H[:2], (w, h), flags=cv2.INTER_LINEAR)
    mma = {}
    for orientation in ("learned", "upright"):
        feat = cvlearned.HardNet_create(detector=cv2.FastFeatureDetector_create(), orientation=orientation,
                                        max_keypoints=300)
        k0, d0 = feat.detectAndCompute(gray, None)
        k1, d1 = feat.detectAndCompute(rotated, None)
        m, _ = match_descriptors(d0, d1, mutual=True, ratio=0.8)
        p0 = np.array([k0[i].pt for i in m[:, 0]]).reshape(-1, 2)
        p1 = np.array([k1[j].pt for j in m[:, 1]]).reshape(-1, 2)
        mma[orientation] = (mean_matching_accuracy(p0, p1, H, thresholds=[3])[0], len(m))
    assert mma["learned"][0] > 0.8 and mma["learned"][1] > 50, mma
    assert mma["upright"][0] * mma["upright"][1] < 0.3 * mma["learned"][0] * mma["learned"][1], mma


def test_compute_describes_keypoints_without_a_size(learned, photo_gray):
    keypoints = [cv2.KeyPoint(100.0, 120.0, 0.0), cv2.KeyPoint(200.0, 80.0, -3.0), cv2.KeyPoint(150.0, 150.0, 12.0)]
    kept, desc = learned.compute(photo_gray, keypoints)
    assert len(kept) == 3 and desc.shape == (3, 128)
    assert [kp.size for kp in kept] == [5.0, 5.0, 12.0]
    # keypoint_size: a fixed size for a detector's keypoints (and size <= 0 ones in compute())
    fixed = cvlearned.HardNet_create(detector=cv2.GFTTDetector_create(), keypoint_size=4.0, max_keypoints=50)
    detected, desc = fixed.detectAndCompute(photo_gray, None)
    assert detected and all(kp.size == 4.0 for kp in detected) and desc.shape == (len(detected), 128)
    assert [kp.size for kp in fixed.compute(photo_gray, keypoints)[0]] == [4.0, 4.0, 12.0]


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="orientation"):
        cvlearned.HardNet_create(orientation="sideways")
    with pytest.raises(ValueError, match="orientation"):
        HardNetConfig(orientation="LEARNED")
    with pytest.raises(TypeError, match="detector"):
        cvlearned.HardNet_create(detector="fast")
    with pytest.raises(ValueError, match="keypoint_size"):
        cvlearned.HardNet_create(keypoint_size=0.0)


def test_custom_detector_persistence(tmp_path):
    path = str(tmp_path / "params.yml")
    fast = cvlearned.HardNet_create(detector=cv2.FastFeatureDetector_create(), orientation="learned", max_keypoints=123)
    fast.write(path)
    text = open(path, encoding="utf-8").read()
    assert "Feature2D.FastFeatureDetector" in text
    # a feature that already holds a FAST detector reads the file back (keeping its object)
    holder = cvlearned.HardNet_create(detector=cv2.FastFeatureDetector_create())
    held = holder.config.detector
    holder.read(path)
    assert holder.config.detector is held and holder.config.max_keypoints == 123
    assert holder.config.orientation == "learned" and holder.orinet is not None
    # a default (SIFT) feature cannot rebuild the custom detector from its name
    with pytest.raises(ValueError, match="custom detector 'Feature2D.FastFeatureDetector'"):
        cvlearned.HardNet_create().read(path)
    # the default detector round-trips
    plain = cvlearned.HardNet_create(orientation="learned")
    plain.write(path)
    other = cvlearned.HardNet_create()
    other.read(path)
    assert other.getParams() == plain.getParams() and other.config.detector is None
