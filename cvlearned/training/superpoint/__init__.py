"""SuperPoint training (``cvlearned train superpoint --stage shapes|magicpoint|adapt|joint``).

- :mod:`~cvlearned.training.superpoint.superpoint_config`: the config, one dataclass per stage.
- :mod:`~cvlearned.training.superpoint.magicpoint`: the detector alone on Synthetic Shapes.
- :mod:`~cvlearned.training.superpoint.homographic_adaptation`: pseudo-labels of photos.
- :mod:`~cvlearned.training.superpoint.superpoint_joint`: detector + descriptor on photo pairs.
- :mod:`~cvlearned.training.superpoint.superpoint_losses`: detector and descriptor losses.
- :mod:`~cvlearned.training.superpoint.net_widening`: a lite net embedded in the full layout.
- :mod:`~cvlearned.training.superpoint.train_superpoint`: the command.
"""
