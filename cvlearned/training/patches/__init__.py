"""Patch-descriptor and orientation training (``cvlearned train hardnet|orinet``).

- :mod:`~cvlearned.training.patches.patch_pairs`: patch pairs mined from photos warped by
  random homographies.
- :mod:`~cvlearned.training.patches.scene_patch_pairs`: patch pairs of rendered scenes.
- :mod:`~cvlearned.training.patches.sfm_patch_pairs`: patch pairs of real SfM tracks.
- :mod:`~cvlearned.training.patches.losses`: HardNet's triplet margin loss, SOSNet's regulariser.
- :mod:`~cvlearned.training.patches.patch_trainer_cli`: the command line both trainers share.
- :mod:`~cvlearned.training.patches.train_hardnet`, :mod:`~cvlearned.training.patches.train_orinet`:
  the trainers.
"""
