"""What several training families share (imports no family).

- :mod:`~cvlearned.training.common.config_io`: YAML → frozen training-config dataclasses.
- :mod:`~cvlearned.training.common.run_state`: checkpoints, resume, step schedule, logs, export.
- :mod:`~cvlearned.training.common.trainer_cli`: the skeleton of every trainer's ``main()``
  (run folder, log, config line, ``final.pt`` and ``--export``).
- :mod:`~cvlearned.training.common.images`: photo resizing and gray conversion.
- :mod:`~cvlearned.training.common.correspondence_pairs`: image pairs with dense ground truth
  (homography, rendered scenes).
- :mod:`~cvlearned.training.common.contrastive_losses`: InfoNCE at known correspondences.
- :mod:`~cvlearned.training.common.sfm_pairs`, :mod:`~cvlearned.training.common.sfm_crops`:
  pairs of real reconstructions with pose and sparse ground truth, and their crops.
"""
