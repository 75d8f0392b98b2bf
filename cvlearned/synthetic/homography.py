"""Synthetic HPatches-like homography pairs from single photographs.

Conventions (see :mod:`cvlearned.datasets.types`): integer pixel coordinates are pixel
centres; ``H`` maps image-0 pixels to image-1 pixels, ``x1 ~ H @ [x0, y0, 1]``. This is the
convention of ``cv2.warpPerspective(src, H, size)``, which computes
``dst(x) = src(H^-1 x)``, so ``warp_image(image0, H)`` puts the content of image-0 pixel
``x0`` exactly at ``H @ x0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from cvlearned.datasets.types import HomographyPair
from cvlearned.synthetic.photos import photo_source

__all__ = [
    "HomographyDistribution",
    "PhotometricDistribution",
    "MILD_PHOTOMETRIC",
    "STRONG_PHOTOMETRIC",
    "sample_homography",
    "apply_photometric",
    "warp_image",
    "make_homography_pairs",
]


def _check_range(name: str, rng: Sequence[float], lo: float, hi: float = math.inf) -> None:
    if len(rng) != 2 or not all(math.isfinite(v) for v in rng):
        raise ValueError(f"{name} must be a finite (low, high) pair, got {rng!r}")
    if not (lo <= rng[0] <= rng[1] <= hi):
        raise ValueError(f"{name} must satisfy {lo} <= low <= high <= {hi}, got {rng!r}")


@dataclass(frozen=True)
class HomographyDistribution:
    """Distribution of random homographies, all composed around the image centre.

    Fields:
        scale: (low, high) zoom factor, sampled log-uniformly (>1 zooms in).
        max_rotation_deg: in-plane rotation uniform in ``[-max, max]`` degrees.
        max_perspective: each image corner is displaced by up to this fraction of the
            image width/height (uniform, independently in x and y) -> projective distortion.
        max_translation: shift uniform in ``[-max, max]`` times width/height.
        center_region: the central box spanning this fraction of width and height must stay
            inside image 1 after warping (enforced by rejection sampling; 0 disables).
    """

    scale: tuple[float, float] = (0.7, 1.4)
    max_rotation_deg: float = 30.0
    max_perspective: float = 0.15
    max_translation: float = 0.1
    center_region: float = 0.5

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` if a field is out of its meaningful range."""
        _check_range("scale", tuple(self.scale), 1e-3)
        if self.scale[0] <= 0:
            raise ValueError("scale must be positive")
        if not 0 <= self.max_rotation_deg <= 180:
            raise ValueError(f"max_rotation_deg must be in [0, 180], got {self.max_rotation_deg}")
        if not 0 <= self.max_perspective < 0.5:
            raise ValueError(f"max_perspective must be in [0, 0.5), got {self.max_perspective}")
        if not 0 <= self.max_translation <= 1:
            raise ValueError(f"max_translation must be in [0, 1], got {self.max_translation}")
        if not 0 <= self.center_region <= 1:
            raise ValueError(f"center_region must be in [0, 1], got {self.center_region}")

    def shrunk(self, factor: float) -> HomographyDistribution:
        """The same distribution with every deformation scaled toward identity by ``factor``."""
        lo, hi = (math.exp(math.log(s) * factor) for s in self.scale)
        return HomographyDistribution(
            scale=(lo, hi),
            max_rotation_deg=self.max_rotation_deg * factor,
            max_perspective=self.max_perspective * factor,
            max_translation=self.max_translation * factor,
            center_region=self.center_region,
        )


@dataclass(frozen=True)
class PhotometricDistribution:
    """Distribution of photometric changes applied by :func:`apply_photometric`.

    Fields (intensities in 0..255 units; a (low, high) pair is sampled uniformly unless
    noted; (1, 1) or (0, 0) disables that effect):
        gamma: (low, high) exponent on normalised intensity, sampled log-uniformly.
        brightness: additive shift uniform in ``[-brightness, brightness]``.
        contrast: (low, high) gain around the mean intensity.
        color_gain: per-channel multiplicative gain uniform in ``[1 - g, 1 + g]`` (white balance).
        shading: amplitude of a random linear illumination gradient across the image
            (multiplicative, ``1 +- shading`` at the image borders).
        blur_sigma: (low, high) Gaussian blur sigma in pixels (< 0.1 means no blur).
        noise_std: (low, high) std of additive Gaussian noise.
        jpeg_quality: (low, high) JPEG quality re-encoding, integers in 1..100; None disables.
    """

    gamma: tuple[float, float] = (1.0, 1.0)
    brightness: float = 0.0
    contrast: tuple[float, float] = (1.0, 1.0)
    color_gain: float = 0.0
    shading: float = 0.0
    blur_sigma: tuple[float, float] = (0.0, 0.0)
    noise_std: tuple[float, float] = (0.0, 0.0)
    jpeg_quality: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` if a field is out of its meaningful range."""
        _check_range("gamma", tuple(self.gamma), 1e-2, 100.0)
        _check_range("contrast", tuple(self.contrast), 0.0, 100.0)
        _check_range("blur_sigma", tuple(self.blur_sigma), 0.0, 50.0)
        _check_range("noise_std", tuple(self.noise_std), 0.0, 255.0)
        if not 0 <= self.brightness <= 255:
            raise ValueError(f"brightness must be in [0, 255], got {self.brightness}")
        if not 0 <= self.color_gain < 1:
            raise ValueError(f"color_gain must be in [0, 1), got {self.color_gain}")
        if not 0 <= self.shading < 1:
            raise ValueError(f"shading must be in [0, 1), got {self.shading}")
        if self.jpeg_quality is not None:
            _check_range("jpeg_quality", tuple(self.jpeg_quality), 1, 100)


#: Mild sensor-like changes (used for the "viewpoint" split and for image 0).
MILD_PHOTOMETRIC = PhotometricDistribution(
    gamma=(0.9, 1.1),
    brightness=8.0,
    contrast=(0.9, 1.1),
    color_gain=0.03,
    blur_sigma=(0.0, 0.5),
    noise_std=(0.0, 2.0),
    jpeg_quality=(85, 100),
)

#: Strong illumination/camera changes (used for the "illumination" split).
STRONG_PHOTOMETRIC = PhotometricDistribution(
    gamma=(0.5, 2.0),
    brightness=40.0,
    contrast=(0.6, 1.4),
    color_gain=0.15,
    shading=0.35,
    blur_sigma=(0.0, 1.5),
    noise_std=(0.0, 6.0),
    jpeg_quality=(50, 95),
)


# ----------------------------------------------------------------------------- geometry


def _translation(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def _apply(H: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) points through H -> ((N, 2) points, (N,) homogeneous w)."""
    q = np.c_[pts, np.ones(len(pts))] @ H.T
    return q[:, :2] / q[:, 2:3], q[:, 2]


def _box_corners(cx: float, cy: float, hw: float, hh: float) -> np.ndarray:
    return np.array([[cx - hw, cy - hh], [cx + hw, cy - hh], [cx + hw, cy + hh], [cx - hw, cy + hh]])


def _draw_centred(rng: np.random.Generator, w: int, h: int, d: HomographyDistribution) -> np.ndarray:
    """One homography in coordinates centred on the image centre (no checks)."""
    s = math.exp(rng.uniform(math.log(d.scale[0]), math.log(d.scale[1])))
    a = math.radians(rng.uniform(-d.max_rotation_deg, d.max_rotation_deg))
    tx, ty = rng.uniform(-d.max_translation, d.max_translation, 2) * (w, h)
    src = _box_corners(0.0, 0.0, w / 2, h / 2)
    dst = src + rng.uniform(-d.max_perspective, d.max_perspective, (4, 2)) * (w, h)
    P = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)
    c, sn = math.cos(a), math.sin(a)
    A = np.array([[s * c, -s * sn, tx], [s * sn, s * c, ty], [0.0, 0.0, 1.0]])
    return A @ P


def _acceptable(H: np.ndarray, w: int, h: int, d: HomographyDistribution) -> bool:
    cx, cy = (w - 1) / 2, (h - 1) / 2
    # No horizon within a generous neighbourhood (3x the image) -> invertible, no fold-over.
    _, wz = _apply(H, _box_corners(cx, cy, 1.5 * w, 1.5 * h))
    if np.any(wz <= 1e-6 * abs(H[2, 2])):
        return False
    if d.center_region > 0:
        pts, _ = _apply(H, _box_corners(cx, cy, d.center_region * w / 2, d.center_region * h / 2))
        inside = (pts[:, 0] >= -0.5) & (pts[:, 0] < w - 0.5) & (pts[:, 1] >= -0.5) & (pts[:, 1] < h - 0.5)
        if not inside.all():
            return False
    # Conditioning in normalised coordinates (image half-size -> 1).
    N = np.diag([2.0 / max(w, h), 2.0 / max(w, h), 1.0]) @ _translation(-cx, -cy)
    return bool(np.linalg.cond(N @ H @ np.linalg.inv(N)) < 50.0)


def sample_homography(
    rng: np.random.Generator, size: tuple[int, int], dist: HomographyDistribution | None = None
) -> np.ndarray:
    """Draw a (3, 3) float64 homography mapping image-0 pixels to image-1 pixels.

    ``size`` = (w, h) of both images. ``H = T(c) @ A @ P @ T(-c)`` with c the image centre,
    ``A`` a similarity (scale, rotation, translation) and ``P`` a corner-displacement
    perspective. Draws are rejected until H is well-conditioned, has no horizon near the
    image and keeps the central region in view; after repeated failures the distribution
    is shrunk toward identity, so a valid H is always returned. ``H[2, 2] == 1``.
    """
    d = dist if dist is not None else HomographyDistribution()
    w, h = int(size[0]), int(size[1])
    cx, cy = (w - 1) / 2, (h - 1) / 2
    for attempt in range(200):
        dd = d if attempt < 50 else d.shrunk(0.5 ** ((attempt - 50) // 25 + 1))
        H = _translation(cx, cy) @ _draw_centred(rng, w, h, dd) @ _translation(-cx, -cy)
        H = H / H[2, 2]
        if _acceptable(H, w, h, d):
            return H
    return np.eye(3)


# ----------------------------------------------------------------------------- images


def warp_image(image: np.ndarray, H: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp ``image`` by H (image pixel -> output pixel) into an output of ``size`` = (w, h).

    Bilinear, black (0) border; output pixels whose pre-image lies behind the horizon of H
    are set to 0 as well (``cv2.warpPerspective`` does not check the sign).
    """
    w, h = int(size[0]), int(size[1])
    H = np.asarray(H, dtype=np.float64)
    out = cv2.warpPerspective(
        image, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    # Orient H so the source image centre has w > 0; valid output pixels then have w > 0
    # under H^-1 (w is affine in (x, y), so checking the output corners suffices).
    src_c = np.array([(image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2, 1.0])
    Hinv = np.linalg.inv(H * np.sign(H[2] @ src_c or 1.0))
    _, wz = _apply(Hinv, _box_corners((w - 1) / 2, (h - 1) / 2, w / 2, h / 2))
    if np.all(wz > 0):
        return out
    xs = np.arange(w, dtype=np.float64)
    ys = np.arange(h, dtype=np.float64)
    wmap = Hinv[2, 0] * xs[None, :] + (Hinv[2, 1] * ys + Hinv[2, 2])[:, None]
    out[wmap <= 0] = 0
    return out


def _range(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(r[0]) if r[0] == r[1] else float(rng.uniform(r[0], r[1]))


def apply_photometric(
    rng: np.random.Generator, image: np.ndarray, dist: PhotometricDistribution | None = None
) -> np.ndarray:
    """Apply random photometric changes to an (H, W, 3) uint8 BGR image (returns a new one).

    Order: colour gain, gamma, contrast, brightness, shading, blur, noise, JPEG.
    """
    d = dist if dist is not None else MILD_PHOTOMETRIC
    img = image.astype(np.float32) * np.float32(1.0 / 255.0)
    h, w = img.shape[:2]
    if d.color_gain > 0:
        gains = rng.uniform(1 - d.color_gain, 1 + d.color_gain, img.shape[2] if img.ndim == 3 else 1)
        img = img * gains.astype(np.float32)
    gamma = math.exp(_range(rng, (math.log(d.gamma[0]), math.log(d.gamma[1]))))
    if gamma != 1.0:
        img = np.power(np.clip(img, 0.0, 1.0), np.float32(gamma))
    contrast = _range(rng, d.contrast)
    if contrast != 1.0:
        mean = float(img.mean())
        img = (img - mean) * np.float32(contrast) + np.float32(mean)
    if d.brightness > 0:
        img = img + np.float32(rng.uniform(-d.brightness, d.brightness) / 255.0)
    if d.shading > 0:
        ang = rng.uniform(0, 2 * math.pi)
        amp = rng.uniform(0, d.shading)
        gx = np.linspace(-1, 1, w, dtype=np.float32) * np.float32(math.cos(ang))
        gy = np.linspace(-1, 1, h, dtype=np.float32) * np.float32(math.sin(ang))
        field = 1.0 + np.float32(amp) * (gx[None, :] + gy[:, None]) / np.float32(math.sqrt(2))
        img = img * (field[..., None] if img.ndim == 3 else field)
    sigma = _range(rng, d.blur_sigma)
    if sigma >= 0.1:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    noise = _range(rng, d.noise_std)
    if noise > 0:
        img = img + rng.normal(0.0, noise / 255.0, img.shape).astype(np.float32)
    out = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if d.jpeg_quality is not None:
        q = int(rng.integers(d.jpeg_quality[0], d.jpeg_quality[1] + 1))
        if q < 100:
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok:
                decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
                assert decoded is not None  # a JPEG it just encoded
                out = decoded.reshape(out.shape)
    return out


# ----------------------------------------------------------------------------- pairs


def _cover_resize(rng: np.random.Generator, photo: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    """Resize ``photo`` so it covers ``size`` = (w, h); pick a random crop offset.

    Returns (resized photo, ox, oy): image 0 is ``resized[oy:oy + h, ox:ox + w]``.
    """
    w, h = size
    ph, pw = photo.shape[:2]
    s = max(w / pw, h / ph)
    nw, nh = max(w, math.ceil(pw * s)), max(h, math.ceil(ph * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(photo, (nw, nh), interpolation=interp)
    ox = int(rng.integers(0, nw - w + 1))
    oy = int(rng.integers(0, nh - h + 1))
    return resized, ox, oy


def make_homography_pairs(
    photos: Sequence[tuple[str, np.ndarray]] | None = None,
    n_pairs: int = 10,
    split: str = "viewpoint",
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
    dist: HomographyDistribution | None = None,
    photometric: PhotometricDistribution | None = None,
) -> list[HomographyPair]:
    """Generate ``n_pairs`` synthetic :class:`HomographyPair` s of ``size`` = (w, h).

    Image 0 is a random crop of the photo resized to cover ``size`` (mild photometric
    noise). "viewpoint": image 1 warps the whole resized photo by a random H (so content
    outside the crop fills image 1 where it exists, black elsewhere) plus ``photometric``
    (default :data:`MILD_PHOTOMETRIC`). "illumination": ``H = I`` and image 1 is the same
    crop with ``photometric`` (default :data:`STRONG_PHOTOMETRIC`); ``dist`` is unused.
    Photos default to the bundled ones and are cycled. Pair ``i`` depends only on
    ``(seed, i)``, so results are reproducible and prefixes agree across ``n_pairs``.
    """
    if split not in ("viewpoint", "illumination"):
        raise ValueError(f"split must be 'viewpoint' or 'illumination', got {split!r}")
    if n_pairs < 0:
        raise ValueError("n_pairs must be >= 0")
    photos = list(photos) if photos is not None else photo_source(None)
    if not photos:
        raise ValueError("no photos given")
    w, h = int(size[0]), int(size[1])
    if split == "viewpoint":
        phot1 = photometric if photometric is not None else MILD_PHOTOMETRIC
    else:
        phot1 = photometric if photometric is not None else STRONG_PHOTOMETRIC
    pairs: list[HomographyPair] = []
    for i in range(n_pairs):
        rng = np.random.default_rng([seed, i])
        name, photo = photos[i % len(photos)]
        resized, ox, oy = _cover_resize(rng, photo, (w, h))
        crop = resized[oy : oy + h, ox : ox + w]
        if split == "viewpoint":
            H = sample_homography(rng, (w, h), dist)
            img1 = warp_image(resized, H @ _translation(-ox, -oy), (w, h))
        else:
            H = np.eye(3)
            img1 = crop.copy()
        img0 = apply_photometric(rng, crop, MILD_PHOTOMETRIC)
        img1 = apply_photometric(rng, img1, phot1)
        pairs.append(HomographyPair(f"{split}_{i:04d}_{name}", img0, img1, H, split=split))
    return pairs
