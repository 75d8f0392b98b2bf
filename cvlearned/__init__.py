"""cvlearned: learned local features that behave like OpenCV's ``cv2.Feature2D``.

>>> import cvlearned
>>> sift = cvlearned.create("sift", max_keypoints=2048)
>>> cvlearned.list_features()  # doctest: +ELLIPSIS
[...]
"""

from __future__ import annotations

from cvlearned import baselines as _baselines  # noqa: F401  (registers the classical features)
from cvlearned.feature2d import Feature2D
from cvlearned.registry import create, default_feature, feature_spec, list_features, register

__version__ = "0.1.0"

__all__ = ["Feature2D", "create", "default_feature", "feature_spec", "list_features", "register", "__version__"]

# Learned models (registered only when their weights ship; see cvlearned/models/factories.py and weights/manifest.json).
from cvlearned.models.factories import HardNet_create, SuperPoint_create, UCN_create, XFeat_create  # noqa: E402

__all__ += ["HardNet_create", "SuperPoint_create", "UCN_create", "XFeat_create"]

# Matchers (plain ones always; learned ones when their weights ship; torch only on use).
from cvlearned.matchers import LightGlueMatcher_create, create_matcher, list_matchers  # noqa: E402

__all__ += ["LightGlueMatcher_create", "create_matcher", "list_matchers"]
