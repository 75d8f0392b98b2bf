"""Learned features of cvlearned.

- :mod:`cvlearned.models.hardnet`: the L2-Net/HardNet patch descriptor (presets
  ``hardnet`` and ``hardnet-lite``) described on SIFT keypoints, wrapped as a
  ``cv2.Feature2D``-like :class:`~cvlearned.models.hardnet.HardNet`.
- :mod:`cvlearned.models.xfeat` (network: :mod:`cvlearned.models.xfeat_net`): the
  XFeat-family light detector + descriptor ``xfeat-lite``, decoded as OpenCV 5.1's
  ``cv2.XFeat`` decodes the same network (export: :mod:`cvlearned.adapters.onnx_xfeat`).
- :mod:`cvlearned.models.heatmap`: keypoints from a heatmap (NMS, selection, sub-pixel
  refinement, descriptor sampling) and :class:`~cvlearned.models.heatmap.HeatmapFeature`,
  the Feature2D hooks SuperPoint and XFeat share; :mod:`cvlearned.models.detectors`: naming
  the detector objects HardNet and UCN describe.
- :mod:`cvlearned.models.factories`: the OpenCV-style factories (``SuperPoint_create`` …);
  registers every feature of ``weights/manifest.json`` in ``cvlearned.create``.

Importing this package does not import torch; the model modules do so lazily.
"""
