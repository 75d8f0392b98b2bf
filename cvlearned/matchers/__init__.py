"""Descriptor matchers behind one interface (``match`` → sorted ``cv2.DMatch`` s): plain
``mnn`` / ``ratio`` and learned LightGlue-style matchers. Importing does not import torch.

>>> import cvlearned
>>> cvlearned.list_matchers()  # doctest: +ELLIPSIS
[...'mnn', 'ratio']
>>> cvlearned.create_matcher("ratio").match(desc0, desc1)  # doctest: +SKIP
"""

from __future__ import annotations

from cvlearned.matchers.base import DescriptorMatcher
from cvlearned.matchers.registry import LightGlueMatcher_create, create_matcher, list_matchers, register_matcher

__all__ = ["DescriptorMatcher", "LightGlueMatcher_create", "create_matcher", "list_matchers", "register_matcher"]
