"""XFeat training (``cvlearned train xfeat``), on the pseudo-labels of SuperPoint's adapt stage
(the one family that imports another: :mod:`cvlearned.training.superpoint`).

- :mod:`~cvlearned.training.xfeat.xfeat_config`: the config.
- :mod:`~cvlearned.training.xfeat.xfeat_training`: losses and loop.
- :mod:`~cvlearned.training.xfeat.train_xfeat`: the command.
"""
