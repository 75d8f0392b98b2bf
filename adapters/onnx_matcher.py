"""Export a learned matcher to an ONNX file that OpenCV 5.1's ``cv2.LightGlueMatcher`` runs.

>>> from cvlearned.adapters.onnx_matcher import export_matcher_onnx
>>> export_matcher_onnx(cvlearned.LightGlueMatcher_create("sift", weights="m.pt"), "lg.onnx")  # doctest: +SKIP
>>> lg = cv2.LightGlueMatcher_create("lg.onnx")          # type LG_ALIKED (the default)
>>> lg.setPairInfo(points0, points1, (w0, h0), (w1, h1))  # (N, 2) float32 pixel (x, y)
>>> matches = lg.match(desc0, desc1)                      # doctest: +SKIP

The interface OpenCV 5.1.0 reads (its ``matchers_lightglue.cpp``, checked by experiment
with graphs of this module on ``opencv-contrib-python`` 5.1.0):

* ``cv2.LightGlueMatcher_create(path, scoreThreshold=0, backend, target, type=LG_ALIKED)``;
  ``match(desc0, desc1)`` needs ``setPairInfo(kpts0, kpts1, size0, size1)`` first
  (otherwise cv2.error "no valid context"); the pair information stays set after a match.
  ``knnMatch`` accepts only k=1; ``radiusMatch`` is not implemented.
* Inputs, found by name: ``kpts0`` (1, N, 2) and ``kpts1`` (1, M, 2) float32,
  ``desc0`` (1, N, D) and ``desc1`` (1, M, D) float32 (float64 descriptors are converted).
  N and M are dynamic axes of this graph; D is fixed (a D-mismatch fails inside the DNN).
* Keypoint normalisation, LG_ALIKED with the default ``LG_NORM_MODEL``: x / w * 2 - 1,
  y / h * 2 - 1 with (w, h) the size given to setPairInfo; an empty size ``(0, 0)``
  passes the points unchanged (already normalised). This is the mapping the network is
  trained with (:func:`cvlearned.matchers.lightglue.positional_inputs`), so keep
  ``setKeypointNormalization(cv2.LG_NORM_MODEL)``. ``LG_NORM_MAX_SIDE`` instead shifts
  by half the image size and divides both axes by half the longer side.
* Outputs, by name: ``matches0`` (K, 2) int64 (query index, train index) and ``mscores0``
  (K,) float32; OpenCV keeps pairs with score >= scoreThreshold and returns
  ``DMatch(query, train, distance = 1 - score)`` grouped by query index.
* ``type=LG_DISK`` reads four outputs (``matches0`` (1, N), ``matches1``, ``mscores0``,
  ``mscores1``) and [0, 1] coordinates x / (w - 1): not this file's layout (cv2.error
  "required output 'matches1' is not found").
* ``cv2.detail_LightGlueFeaturesMatcher(cv2.LightGlueMatcher)`` runs the same file on
  ``cv2.detail.ImageFeatures`` (sizes from ``img_size``) for the stitching pipeline.

The graph runs every layer on every point (no early stop or pruning: their shapes depend on
the data) and keeps mutual best pairs above the model's ``filter_threshold`` (``NonZero``),
so it equals :meth:`LightGlueNet.match_static` and a ``LightGlueMatcher`` created with
``depth_confidence=-1, width_confidence=-1``. Models that encode keypoint size and
orientation cannot be exported: OpenCV passes (x, y) only. Exporter: the TorchScript-based
``torch.onnx.export(..., dynamo=False)``, opset 17. Requires ``onnx`` (``pip install cvlearned[onnx]``).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cvlearned.adapters.onnx import DEFAULT_OPSET, import_onnx
from cvlearned.matchers.learned import LightGlueMatcher
from cvlearned.matchers.lightglue import LightGlueNet
from cvlearned.adapters.onnx_runtime import METADATA_PREFIX, import_onnxruntime

__all__ = ["INPUT_NAMES", "OUTPUT_NAMES", "MatcherGraph", "export_matcher_onnx", "run_onnxruntime"]

INPUT_NAMES = ("kpts0", "kpts1", "desc0", "desc1")
OUTPUT_NAMES = ("matches0", "mscores0")


class MatcherGraph(nn.Module):
    """OpenCV's LG_ALIKED layout around a network: (1, N, 2), (1, M, 2) normalised points,
    (1, N, D), (1, M, D) descriptors → matches0 (K, 2) int64, mscores0 (K,) float32."""

    def __init__(self, net: LightGlueNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, kpts0, kpts1, desc0, desc1) -> tuple[torch.Tensor, torch.Tensor]:
        matches0, scores0 = self.net.match_static(kpts0, desc0, kpts1, desc1)
        query = torch.nonzero(matches0[0] >= 0)[:, 0]
        return torch.stack([query, matches0[0, query]], 1), scores0[0, query]


def export_matcher_onnx(matcher: LightGlueMatcher, path: str | os.PathLike, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``matcher``'s network as an ONNX file for ``cv2.LightGlueMatcher_create(path)``.

    Raises:
        TypeError: ``matcher`` is not a learned matcher.
        ValueError: the model encodes keypoint size and orientation (OpenCV passes (x, y) only).
    """
    if not isinstance(matcher, LightGlueMatcher):
        raise TypeError(f"export_matcher_onnx needs a LightGlueMatcher, got {type(matcher).__name__}")
    config = matcher.config
    if config.scale_orientation:
        raise ValueError("a matcher with scale_orientation=True cannot run in OpenCV, which passes (x, y) only")
    onnx = import_onnx()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    n, m, dim = 8, 9, config.descriptor_dim
    example = (torch.zeros(1, n, 2), torch.zeros(1, m, 2), torch.zeros(1, n, dim), torch.zeros(1, m, dim))
    dynamic = {"kpts0": {1: "N"}, "kpts1": {1: "M"}, "desc0": {1: "N"}, "desc1": {1: "M"},
               "matches0": {0: "K"}, "mscores0": {0: "K"}}
    with torch.no_grad(), warnings.catch_warnings():
        # TracerWarnings (head sizes are constants, as traced) and the TorchScript deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(MatcherGraph(matcher.net.eval()), example, str(out), input_names=list(INPUT_NAMES),
                          output_names=list(OUTPUT_NAMES), dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    proto = onnx.load(str(out))
    metadata = {"model": matcher.name, "features": matcher.features, "descriptor_dim": str(dim),
                "opencv_type": "LG_ALIKED", "config": json.dumps(config.__dict__)}
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, value
    onnx.save(proto, str(out))
    return out


def run_onnxruntime(
    path: str | os.PathLike, kpts0: np.ndarray, kpts1: np.ndarray, desc0: np.ndarray, desc1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run an exported file with onnxruntime on (N, 2), (M, 2) normalised points and (N, D),
    (M, D) descriptors → ((K, 2) int64 index pairs, (K,) float32 scores)."""
    ort = import_onnxruntime()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds: dict[str, Any] = {
        name: np.ascontiguousarray(array, np.float32)[None]
        for name, array in zip(INPUT_NAMES, (kpts0, kpts1, desc0, desc1), strict=True)
    }
    matches, scores = session.run(list(OUTPUT_NAMES), feeds)
    return matches, scores
