"""Training code for the learned models (not imported by ``import cvlearned``).

- :mod:`cvlearned.training.patch_pairs`: matching patch pairs mined from photos warped by
  random homographies (ground-truth correspondences, cached to ``.npz``).
- :mod:`cvlearned.training.losses`: HardNet's hardest-in-batch triplet margin loss and
  SOSNet's second-order similarity regulariser.
- :mod:`cvlearned.training.train_hardnet`: the seeded, resumable training script
  (``python -m cvlearned.training.train_hardnet --config ... --images ... --out ...``).
- Real 3-D supervision from ``cvlearned data reconstruct`` scenes (the ``sfm:`` config
  sections): :mod:`~cvlearned.training.sfm_patch_pairs` (patch pairs of SfM tracks),
  :mod:`~cvlearned.training.sfm_pairs` (co-visible pairs, pose, sparse ground truth) and
  :mod:`~cvlearned.training.sfm_crops` (their crops for the dense trainers).
- XFeat (``cvlearned train xfeat``): :mod:`~cvlearned.training.xfeat_config`,
  :mod:`~cvlearned.training.xfeat_training` (losses and loop; its pairs are SuperPoint's
  :func:`~cvlearned.training.superpoint_joint.homography_pair`),
  :mod:`~cvlearned.training.train_xfeat` (the command).
"""
