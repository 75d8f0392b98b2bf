"""Integrations of cvlearned features with other ecosystems (installed as ``cvlearned.adapters``).

- :mod:`cvlearned.adapters.stitching`: ``cv2.detail.ImageFeatures`` for OpenCV's stitching pipeline.
- :mod:`cvlearned.adapters.colmap`: our keypoints and verified matches into a COLMAP database,
  incremental mapping with pycolmap (``pip install cvlearned[colmap]``).
- :mod:`cvlearned.adapters.onnx`: export a learned detector + descriptor to ONNX files that
  OpenCV 5's ``cv2.DISK_create`` / ``cv2.ALIKED_create`` run natively (``pip install cvlearned[onnx]``).
"""
