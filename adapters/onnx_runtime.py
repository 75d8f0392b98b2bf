"""Run an exported detector+descriptor ONNX file with onnxruntime, as a ``cv2.Feature2D``.

Files written by :func:`cvlearned.adapters.onnx.export_onnx` (both flavours) and other
files with the same interface (the one OpenCV 5's ``cv2.DISK`` / ``cv2.ALIKED`` read)
work: input ``image`` (1, 3, H, W) float32 RGB / 255; outputs ``keypoints``, ``scores``,
``descriptors``, either DISK-style ((1, N, 2) int64 pixels, (1, N), (1, N, D)) or
ALIKED-style ((N, 2) float32 in [-1, 1] with pixel = (k + 1) / 2 * size, (N,), (N, D)).

Detection (threshold, NMS, border, top-k) happens inside the file with the parameters it
was exported with; ``max_keypoints`` and ``detection_threshold`` here can only keep fewer.
A ``mask`` filters the keypoints the file returns (as OpenCV's DISK and ALIKED do), whereas
the PyTorch wrapper masks the heatmap before NMS and top-k, so the two differ with a mask.
Describing given keypoints (``compute``) is not possible: the graph detects and describes.

Requires ``onnxruntime`` (``pip install cvlearned[onnx]``), imported when a feature is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from cvlearned.config import FeatureConfig, check_optional_positive_int, check_range
from cvlearned.feature2d import Feature2D, Keypoints

__all__ = ["OnnxFeatureConfig", "OnnxFeature", "OnnxFeature_create", "import_onnxruntime", "METADATA_PREFIX"]

#: prefix of the metadata keys written by :func:`cvlearned.adapters.onnx.export_onnx`
METADATA_PREFIX = "cvlearned."
_OUTPUTS = ("keypoints", "scores", "descriptors")


def import_onnxruntime() -> ModuleType:
    """Import onnxruntime or raise an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("running ONNX features needs onnxruntime: pip install cvlearned[onnx]") from exc
    return onnxruntime


@dataclass(frozen=True)
class OnnxFeatureConfig(FeatureConfig):
    """Parameters of :class:`OnnxFeature`.

    Attributes:
        path: the ONNX file (required).
        max_keypoints: keep at most this many of the keypoints the file returns (strongest
            first); None = all of them (the file has its own, export-time limit).
        detection_threshold: drop keypoints whose score is not above this (on top of the
            file's own threshold).
        keypoint_size: ``cv2.KeyPoint.size``; None = the size stored by the exporter
            (16 for SuperPoint), or 1 (OpenCV's DISK/ALIKED) for a file without it.
        providers: comma-separated onnxruntime execution providers.
        num_threads: onnxruntime intra-op threads; 0 = onnxruntime's default.
    """

    path: str | None = None
    max_keypoints: int | None = None
    detection_threshold: float = 0.0
    keypoint_size: float | None = None
    providers: str = "CPUExecutionProvider"
    num_threads: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.path is None:
            raise ValueError("path is required: the ONNX file to run")
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        if not isinstance(self.path, str):
            raise TypeError(f"path must be a str or os.PathLike, got {type(self.path).__name__}")
        check_optional_positive_int(self, "max_keypoints")
        check_range(self, "detection_threshold", 0.0, 1.0)
        if self.keypoint_size is not None:
            check_range(self, "keypoint_size", 0.0)
        if not isinstance(self.providers, str) or not self.providers.strip():
            raise ValueError(f"providers must be a non-empty comma-separated str, got {self.providers!r}")
        n = self.num_threads
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"num_threads must be an int >= 0, got {n!r}")


class OnnxFeature(Feature2D):
    """Keypoints and float32 descriptors from an exported ONNX file run by onnxruntime.

    KeyPoint fields as the PyTorch wrapper: ``response`` = score, ``angle`` = -1,
    ``octave`` = 0, ``size`` from ``keypoint_size``.
    """

    config_class = OnnxFeatureConfig
    algorithm_name = "ONNX"

    def _configure(self) -> None:
        cfg: OnnxFeatureConfig = self.config  # type: ignore[assignment]
        ort = import_onnxruntime()
        path = Path(cfg.path)  # type: ignore[arg-type]
        if not path.is_file():
            raise FileNotFoundError(f"ONNX file not found: {str(path)!r}")
        options = ort.SessionOptions()
        if cfg.num_threads:
            options.intra_op_num_threads = cfg.num_threads
        providers = [p.strip() for p in cfg.providers.split(",") if p.strip()]
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:
            raise ValueError(f"onnxruntime cannot load {str(path)!r}: {exc}") from exc
        self._flavour = _check_interface(session, path)
        self._metadata = {
            k[len(METADATA_PREFIX):]: v
            for k, v in session.get_modelmeta().custom_metadata_map.items()
            if k.startswith(METADATA_PREFIX)
        }
        stored = self._metadata.get("descriptor_dim")
        self._descriptor_dim = int(stored) if stored and stored.isdigit() else _static_dim(session, "descriptors")
        self._size = float(cfg.keypoint_size if cfg.keypoint_size is not None
                           else self._metadata.get("keypoint_size", 1.0))
        self._integer_keypoints = self._metadata.get("integer_keypoints") == "1"
        self._session = session

    # ------------------------------------------------------------------ API
    @property
    def flavour(self) -> str:
        """``"disk"`` or ``"aliked"``: the output layout of the file."""
        return self._flavour

    @property
    def metadata(self) -> dict[str, str]:
        """What the exporter stored (model, flavour, detection parameters); {} for other files."""
        return dict(self._metadata)

    def getDefaultName(self) -> str:  # noqa: N802
        return f"Feature2D.{self.algorithm_name}"

    def descriptorSize(self) -> int:  # noqa: N802
        if self._descriptor_dim is None:
            raise RuntimeError("the file does not state its descriptor size; run detectAndCompute to see it")
        return self._descriptor_dim

    def empty(self) -> bool:
        return getattr(self, "_session", None) is None

    def _no_descriptors(self) -> np.ndarray | None:
        """An empty result as OpenCV's own class for this file returns it.

        OpenCV 5.1's ``cv2.DISK`` returns ``None`` and ``cv2.ALIKED`` an empty ``(0, D)``
        array (``tests/test_adapter_onnx.py`` checks this against the installed classes);
        without those classes (OpenCV 4.x) the installed SIFT's rule applies.
        """
        native = "DISK_create" if self._flavour == "disk" else "ALIKED_create"
        if not hasattr(cv2, native):
            return super()._no_descriptors()
        if self._flavour == "disk" or self._descriptor_dim is None:
            return None
        return np.empty((0, self._descriptor_dim), np.float32)

    def run(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(H, W) uint8 → ((N, 2) float32 pixel (x, y), (N,) float32 scores, (N, D) float32)."""
        h, w = gray.shape
        blob = np.repeat((gray.astype(np.float32) / 255.0)[None, None], 3, axis=1)
        keypoints, scores, descriptors = self._session.run(list(_OUTPUTS), {"image": blob})
        if self._flavour == "disk":
            points = np.asarray(keypoints[0], dtype=np.float32).reshape(-1, 2)
            scores, descriptors = scores[0], descriptors[0]
        else:
            size = np.array([w, h], dtype=np.float32)
            points = ((np.asarray(keypoints, np.float32).reshape(-1, 2) + 1.0) * 0.5 * size).astype(np.float32)
            if self._integer_keypoints:
                points = np.round(points)
        descriptors = np.asarray(descriptors, dtype=np.float32)
        descriptors = descriptors.reshape(points.shape[0], descriptors.shape[-1] if descriptors.ndim else 0)
        return points, np.asarray(scores, dtype=np.float32).reshape(-1), descriptors

    # ---------------------------------------------------------------- hooks
    def _select(self, gray: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cfg: OnnxFeatureConfig = self.config  # type: ignore[assignment]
        points, scores, descriptors = self.run(gray)
        keep = scores > cfg.detection_threshold
        if mask is not None and len(points):
            xi = np.clip(np.round(points[:, 0]).astype(np.int64), 0, gray.shape[1] - 1)
            yi = np.clip(np.round(points[:, 1]).astype(np.int64), 0, gray.shape[0] - 1)
            keep &= mask[yi, xi] > 0
        points, scores, descriptors = points[keep], scores[keep], descriptors[keep]
        order = np.argsort(-scores, kind="stable")
        if cfg.max_keypoints is not None:
            order = order[: cfg.max_keypoints]
        return points[order], scores[order], descriptors[order]

    def _to_keypoints(self, points: np.ndarray, scores: np.ndarray) -> Keypoints:
        return tuple(
            cv2.KeyPoint(float(x), float(y), self._size, -1.0, float(s), 0, -1)
            for (x, y), s in zip(points.tolist(), scores.tolist())
        )

    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        points, scores, _ = self._select(gray, mask)
        return self._to_keypoints(points, scores)

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        raise NotImplementedError(
            "an exported ONNX feature detects and describes in one graph and cannot describe "
            "given keypoints; use detectAndCompute (or the PyTorch feature's compute)"
        )

    def _detect_and_compute(self, gray: np.ndarray, mask: np.ndarray | None) -> tuple[Keypoints, np.ndarray | None]:
        points, scores, descriptors = self._select(gray, mask)
        if points.shape[0] == 0:
            return (), None
        return self._to_keypoints(points, scores), np.ascontiguousarray(descriptors, dtype=np.float32)


def OnnxFeature_create(path: str | os.PathLike, **params: Any) -> OnnxFeature:  # noqa: N802
    """Create an :class:`OnnxFeature`, e.g. ``OnnxFeature_create("superpoint.onnx")``."""
    return OnnxFeature(path=os.fspath(path), **params)


def _check_interface(session: Any, path: Path) -> str:
    """The flavour of a session, or ValueError naming what is missing or wrong."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    where = f"{str(path)!r}"
    if "image" not in inputs or len(inputs) != 1:
        raise ValueError(f"{where} must have exactly one input named 'image', has {sorted(inputs)}")
    image = inputs["image"]
    if image.type != "tensor(float)" or len(image.shape) != 4:
        raise ValueError(f"{where}: input 'image' must be a (1, 3, H, W) float tensor, is {image.type} {image.shape}")
    missing = [name for name in _OUTPUTS if name not in outputs]
    if missing:
        raise ValueError(f"{where} lacks output(s) {missing}; outputs are {sorted(outputs)}")
    kp = outputs["keypoints"]
    if len(kp.shape) == 3 and kp.type == "tensor(int64)":
        return "disk"
    if len(kp.shape) == 2 and kp.type == "tensor(float)":
        return "aliked"
    raise ValueError(
        f"{where}: output 'keypoints' must be (1, N, 2) int64 (DISK style) or (N, 2) float32 "
        f"(ALIKED style), is {kp.type} {kp.shape}"
    )


def _static_dim(session: Any, name: str) -> int | None:
    for out in session.get_outputs():
        if out.name == name and out.shape and isinstance(out.shape[-1], int):
            return int(out.shape[-1])
    return None
