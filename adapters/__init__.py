"""Integrations of cvlearned features with other ecosystems (installed as ``cvlearned.adapters``).

- :mod:`cvlearned.adapters.stitching`: ``cv2.detail.ImageFeatures`` for OpenCV's stitching pipeline.
"""
