"""Integrations of cvlearned features with other ecosystems (installed as ``cvlearned.adapters``).

- :mod:`cvlearned.adapters.stitching`: ``cv2.detail.ImageFeatures`` for OpenCV's stitching pipeline.
- :mod:`cvlearned.adapters.colmap`: our keypoints and verified matches into a COLMAP database,
  incremental mapping with pycolmap (``pip install cvlearned[colmap]``).
- :mod:`cvlearned.adapters.onnx`: export a learned detector + descriptor to ONNX files that
  OpenCV 5's ``cv2.DISK_create`` / ``cv2.ALIKED_create`` run natively (``pip install cvlearned[onnx]``);
  :mod:`cvlearned.adapters.onnx_xfeat` for ``cv2.XFeat``, :mod:`cvlearned.adapters.onnx_matcher` for
  ``cv2.LightGlueMatcher``.
- :mod:`cvlearned.adapters.onnx_runtime`: the other side of the export, an exported file run with
  onnxruntime as a ``cv2.Feature2D`` (``OnnxFeature``).

The folder ``adapters/`` of the repository is installed as ``cvlearned.adapters`` (and
``weights/`` as ``cvlearned.weights``) by ``[tool.setuptools] package-dir`` in
``pyproject.toml``: the design keeps them top-level folders, the import path is
``cvlearned.adapters.<module>``.
"""
