"""One name, one model: each OpenCV-style factory gives the model registered under its
family's name, and every registered learned preset is reachable through its factory."""

from __future__ import annotations

import pytest

import cvlearned

FAMILIES = {"hardnet": cvlearned.HardNet_create, "superpoint": cvlearned.SuperPoint_create, "ucn": cvlearned.UCN_create}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_factory_default_is_the_registered_family_name(family: str) -> None:
    by_factory = FAMILIES[family](device="cpu")
    by_name = cvlearned.create(family, device="cpu")
    assert by_factory.getParams() == by_name.getParams()
    assert by_factory.getParams()["preset"] == family
    assert by_factory.getDefaultName() == by_name.getDefaultName()


@pytest.mark.parametrize("name", cvlearned.list_features("learned"))
def test_every_learned_name_is_its_factory_with_that_preset(name: str) -> None:
    factory = FAMILIES[name.split("-")[0]]
    assert factory(preset=name, device="cpu").getParams() == cvlearned.create(name, device="cpu").getParams()
