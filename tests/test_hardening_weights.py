"""Crafted weight files and device names: each is refused with a clear ValueError subclass
(WeightsError) or TypeError naming the problem, never loaded into a network.

torch.load parses the crafted bytes in native code, so the loads run in one child process
(:mod:`isolated`); run as a script with a folder, this file is that child.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

import cvlearned
from cvlearned import weight_files
from cvlearned.device import resolve_device
from cvlearned.weight_files import WeightsError, load_state_dict, weights_dir

SHIPPED = "hardnet-lite-v1.pt"
#: crafted file → regex its WeightsError message must contain (besides the file name)
PATTERNS = {
    "nan": r"tensor '.*' has \d+ NaN or infinite values",
    "inf": "NaN or infinite",
    "minus-inf": "NaN or infinite",
    "empty": r"is empty \(0 bytes\)",
    "text": "is a text file",
    "lfs-pointer": "git lfs pull",
    "truncated": "truncated",
    "truncated-header": "truncated",
    "random-bytes": "cannot read",
    "malicious-pickle": "cannot read",
    "not-a-state-dict": "does not contain a state dict",
}
PWNED = Path("/tmp/cvlearned-hardening-pwned")


class _Exploit:
    """A pickle that would run a shell command when unpickled without weights_only."""

    def __reduce__(self):
        import os

        return os.system, (f"touch {PWNED}",)


def _write_crafted(folder: Path) -> None:
    """One file per :data:`PATTERNS` case in ``folder``, derived from a shipped checkpoint."""
    good = torch.load(weights_dir() / SHIPPED, weights_only=True)
    data = (weights_dir() / SHIPPED).read_bytes()
    name = next(k for k, v in good.items() if v.is_floating_point())
    one_inf = good[name].clone().reshape(-1)
    one_inf[0] = float("inf")
    tensors = {
        "nan": {**good, name: torch.full_like(good[name], float("nan"))},
        "inf": {**good, name: one_inf.reshape(good[name].shape)},
        "minus-inf": {**good, name: torch.full_like(good[name], -float("inf"))},
        "not-a-state-dict": [torch.ones(2)],
    }
    raw = {
        "empty": b"",
        "text": b"these are not weights\n",
        "lfs-pointer": b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n",
        "truncated": data[: len(data) // 2],
        "truncated-header": data[:10],
        "random-bytes": bytes(range(256)) * 64,
        "malicious-pickle": pickle.dumps(_Exploit()),
    }
    for case, content in tensors.items():
        torch.save(content, folder / f"{case}.pt")
    for case, content in raw.items():
        (folder / f"{case}.pt").write_bytes(content)


def _refusal(load, path: Path) -> dict:
    try:
        load(path)
    except Exception as exc:  # noqa: BLE001 (judged by the parent)
        return {"error": type(exc).__name__, "weights_error": isinstance(exc, WeightsError), "message": str(exc)}
    return {"error": None, "weights_error": False, "message": "loaded"}


def _probe(folder: Path) -> dict:
    """Case → how load_state_dict and the HardNet constructor refused the crafted file."""
    _write_crafted(folder)
    loaders = {
        "load_state_dict": load_state_dict,
        "constructor": lambda p: cvlearned.create("hardnet-lite", weights=str(p), device="cpu"),
    }
    results: dict = {case: {how: _refusal(load, folder / f"{case}.pt") for how, load in loaders.items()}
                     for case in PATTERNS}
    results["pwned"] = PWNED.exists()
    return results


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    from isolated import run_isolated

    PWNED.unlink(missing_ok=True)
    return run_isolated(__file__, str(tmp_path_factory.mktemp("crafted")))


@pytest.mark.parametrize("case", sorted(PATTERNS))
def test_crafted_weight_file_is_refused_clearly(probed, case):
    assert issubclass(WeightsError, ValueError)
    for how, row in probed[case].items():
        assert row["weights_error"], f"{case} via {how}: {row['error']}: {row['message']}"
        assert f"{case}.pt" in row["message"] and re.search(PATTERNS[case], row["message"]), row["message"]
    assert probed["pwned"] is False


def test_read_of_nan_weights_changes_nothing(tmp_path):
    _write_crafted(tmp_path)
    feature = cvlearned.create("hardnet-lite", device="cpu")
    params, net = feature.getParams(), feature.net
    (tmp_path / "p.yml").write_text(f"%YAML:1.0\n---\nweights: '{tmp_path / 'nan.pt'}'\n", encoding="utf-8")
    with pytest.raises(WeightsError, match="NaN or infinite"):
        feature.read(str(tmp_path / "p.yml"))
    assert feature.getParams() == params and feature.net is net


def _copy_of_shipped(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the weights folder that :func:`weights_dir` now returns."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in ("manifest.json", SHIPPED):
        shutil.copy(weights_dir() / name, folder / name)
    monkeypatch.setattr(weight_files, "weights_dir", lambda: folder)
    return folder / SHIPPED


def test_shipped_file_is_verified_on_the_bytes_loaded(tmp_path, monkeypatch):
    shipped = _copy_of_shipped(tmp_path, monkeypatch)
    loaded = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda f, **kw: loaded.append(f) or real_load(f, **kw))
    assert load_state_dict(shipped)
    assert len(loaded) == 1 and isinstance(loaded[0], io.BytesIO)  # not the path, reopened after hashing
    data = bytearray(shipped.read_bytes())
    data[-100] ^= 0xFF  # same size, different bytes
    shipped.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 .* expected"):
        load_state_dict(shipped)  # no sha256 argument: the manifest's is used


# ----------------------------------------------------------------------- devices
@pytest.mark.parametrize("device", ["gpu", "bogus", "cuda:x", " cpu", "meta"])
def test_unknown_device_lists_the_valid_ones(device):
    with pytest.raises(ValueError, match=r"'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"):
        resolve_device(device)


def test_device_errors_in_constructor_and_to():
    with pytest.raises(ValueError, match="valid devices"):
        cvlearned.create("superpoint-lite", device="gpu")
    feature = cvlearned.create("superpoint-lite", device="cpu")
    with pytest.raises(ValueError, match="valid devices"):
        feature.to("gpu")
    assert feature.getParams()["device"] == "cpu"
    with pytest.raises(TypeError, match="str or torch.device"):
        resolve_device(3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_device_is_a_value_error():
    for device in ("cuda", "cuda:3"):
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device(device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_index_beyond_the_devices_is_a_value_error():
    count = torch.cuda.device_count()
    assert resolve_device(f"cuda:{count - 1}").index == count - 1
    with pytest.raises(ValueError, match="only cuda:0"):
        resolve_device(f"cuda:{count}")


if __name__ == "__main__":
    print(json.dumps(_probe(Path(sys.argv[1]))))
