"""Universal Correspondence Network training (``cvlearned train ucn``).

- :mod:`~cvlearned.training.ucn.ucn_config`: the config.
- :mod:`~cvlearned.training.ucn.ucn_pairs`: homography and rendered-scene pairs, the pair
  source, correspondences sampled from dense ground truth.
- :mod:`~cvlearned.training.ucn.ucn_losses`: the correspondence contrastive loss.
- :mod:`~cvlearned.training.ucn.hard_negatives`: hard-negative mining and the random baseline.
- :mod:`~cvlearned.training.ucn.train_ucn`: the loop and the command.
"""
