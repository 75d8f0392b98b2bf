"""Training code for the learned models (not imported by ``import cvlearned``).

One subpackage per model family, each with its config, pairs, losses and trainer
(``cvlearned train MODEL`` runs ``cvlearned.training.<family>.train_<model>``, see
:data:`cvlearned.cli.TRAINERS`):

- :mod:`cvlearned.training.patches`: HardNet and OriNet on mined patch pairs (homography,
  rendered-scene and SfM-track pairs; ``train_hardnet``, ``train_orinet``).
- :mod:`cvlearned.training.superpoint`: SuperPoint's stages (shapes, MagicPoint, homographic
  adaptation, joint; ``train_superpoint``) and net widening.
- :mod:`cvlearned.training.xfeat`: XFeat on SuperPoint's adapt-stage pseudo-labels
  (``train_xfeat``; its pairs are SuperPoint's
  :func:`~cvlearned.training.superpoint.superpoint_joint.homography_pair`).
- :mod:`cvlearned.training.ucn`: the Universal Correspondence Network (``train_ucn``).
- :mod:`cvlearned.training.matcher`: the learned matcher, LightGlue (``train_matcher``).
- :mod:`cvlearned.training.common`: what several families share: config loading, run
  bookkeeping, the trainers' shared ``main()`` skeleton, pairs with dense ground truth, the
  InfoNCE loss, and real 3-D supervision from ``cvlearned data reconstruct`` scenes (the
  ``sfm:`` config sections: co-visible pairs with pose and sparse ground truth, and their crops).

Families import :mod:`~cvlearned.training.common` and nothing of each other, except xfeat,
which imports superpoint; common imports no family.

Beside them: :mod:`cvlearned.training.recipe` (``cvlearned train --recipe NAME``) with
``recipes/`` (one script per shipped weight file) and ``configs/`` (the YAML configs).
"""
