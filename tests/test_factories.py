"""One name, one model: each OpenCV-style factory gives the model registered under its
family's name, and every registered learned preset is reachable through its factory."""

from __future__ import annotations

import pytest

import cvlearned

FAMILIES = {"hardnet": cvlearned.HardNet_create, "superpoint": cvlearned.SuperPoint_create, "ucn": cvlearned.UCN_create,
            "xfeat": cvlearned.XFeat_create}
#: the registered model each factory gives without a preset: the family's name, except for
#: the XFeat family, whose only (and so default) model is xfeat-lite
DEFAULT_MODEL = {"hardnet": "hardnet", "superpoint": "superpoint", "ucn": "ucn", "xfeat": "xfeat-lite"}


@pytest.mark.parametrize("family", sorted(f for f in FAMILIES if DEFAULT_MODEL[f] in cvlearned.list_features()))
def test_factory_default_is_the_registered_family_name(family: str) -> None:
    by_factory = FAMILIES[family](device="cpu")
    by_name = cvlearned.create(DEFAULT_MODEL[family], device="cpu")
    assert by_factory.getParams() == by_name.getParams()
    assert by_factory.getParams()["preset"] == DEFAULT_MODEL[family]
    assert by_factory.getDefaultName() == by_name.getDefaultName()


@pytest.mark.parametrize("name", cvlearned.list_features("learned"))
def test_every_learned_name_is_its_factory_with_that_preset(name: str) -> None:
    factory = FAMILIES[name.split("-")[0]]
    assert factory(preset=name, device="cpu").getParams() == cvlearned.create(name, device="cpu").getParams()
