"""Learned matcher (LightGlue) training (``cvlearned train matcher homography|scenes``).

- :mod:`~cvlearned.training.matcher.matcher_pairs`: keypoints, descriptors and ground-truth
  matches of generated pairs.
- :mod:`~cvlearned.training.matcher.matcher_losses`: assignment and confidence losses.
- :mod:`~cvlearned.training.matcher.train_matcher`: the loop and the command.
"""
