"""The faster CPU paths (issue 27) give the outputs of the plain PyTorch paths.

Tolerances: keypoints identical (SuperPoint: the same keypoints in the same order, positions
within 1e-3 px and responses within 1e-6, as its sub-pixel refinement follows float rounding
of the heatmap); descriptors within 1e-5 max abs (measured: onnxruntime vs
PyTorch HardNet 1.7e-6, channels_last vs contiguous SuperPoint below 1e-6).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cvlearned
from cvlearned.models import cpu_runtime
from cvlearned.models.heatmap import nms, window_max

DESCRIPTOR_TOLERANCE = 1e-5
#: SuperPoint's sub-pixel refinement moves with heatmap rounding: 1.5e-5 px measured
POSITION_TOLERANCE = 1e-3


def _pooled_max(scores: torch.Tensor, radius: int) -> torch.Tensor:
    k = 2 * radius + 1
    return F.max_pool2d(scores[:, None], k, stride=1, padding=radius)[:, 0]


@pytest.mark.parametrize("radius", [1, 4, 9])
def test_window_max_equals_max_pool_with_ties_and_borders(radius: int) -> None:
    generator = torch.Generator().manual_seed(radius)
    scores = torch.rand(2, 37, 53, generator=generator)
    scores[:, 10:20, 10:20] = 0.5  # a plateau: ties must stay ties
    scores[0, 0, 0] = 2.0  # a corner peak
    assert torch.equal(window_max(scores, radius), _pooled_max(scores, radius))
    assert torch.equal(window_max(scores.double(), radius), _pooled_max(scores.double(), radius))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nms_traces_with_torch_ops() -> None:
    """The OpenCV path must not run while tracing (the ONNX exporter traces nms)."""
    traced = torch.jit.trace(lambda s: nms(s, 2), torch.rand(1, 16, 16))
    other = torch.rand(1, 16, 16)
    assert torch.equal(traced(other), nms(other, 2))


def test_superpoint_channels_last_matches_contiguous(photo_bgr: np.ndarray) -> None:
    feature = cvlearned.create("superpoint-lite", device="cpu")
    assert feature.net.conv1a.weight.is_contiguous(memory_format=torch.channels_last)
    fast_kp, fast_desc = feature.detectAndCompute(photo_bgr, None)
    feature._net = feature.net.to(memory_format=torch.contiguous_format)
    plain_kp, plain_desc = feature.detectAndCompute(photo_bgr, None)
    assert len(fast_kp) > 100
    assert len(fast_kp) == len(plain_kp)
    assert np.abs(np.array([k.pt for k in fast_kp]) - [k.pt for k in plain_kp]).max() <= POSITION_TOLERANCE
    assert np.abs(np.array([k.response for k in fast_kp]) - [k.response for k in plain_kp]).max() <= 1e-6
    assert np.abs(fast_desc - plain_desc).max() <= DESCRIPTOR_TOLERANCE


@pytest.mark.parametrize("name", ["hardnet-lite", "hardnet"])
def test_hardnet_onnxruntime_matches_torch(name: str, photo_bgr: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    feature = cvlearned.create(name, device="cpu", max_keypoints=500)
    assert feature._run.backend == "onnxruntime"
    fast_kp, fast_desc = feature.detectAndCompute(photo_bgr, None)
    monkeypatch.setenv(cpu_runtime.RUNTIME_ENV, "torch")
    assert feature._run.backend == "torch"
    plain_kp, plain_desc = feature.detectAndCompute(photo_bgr, None)
    assert len(fast_kp) > 100
    assert [(k.pt, k.size, k.angle) for k in fast_kp] == [(k.pt, k.size, k.angle) for k in plain_kp]
    assert np.abs(fast_desc - plain_desc).max() <= DESCRIPTOR_TOLERANCE


def _small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten()).eval()


def test_cpu_runner_without_onnxruntime_runs_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    net = _small_net()
    runner = cpu_runtime.CpuRunner(net, (1, 8, 8))
    x = torch.rand(3, 1, 8, 8)
    assert runner.backend == "torch"
    with torch.inference_mode():
        assert torch.equal(runner(x), net(x))


def test_cpu_runner_follows_torch_threads() -> None:
    pytest.importorskip("onnxruntime")
    net = _small_net()
    runner = cpu_runtime.CpuRunner(net, (1, 8, 8))
    x = torch.rand(5, 1, 8, 8)
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with torch.inference_mode():
                assert torch.allclose(runner(x), net(x), atol=1e-6)
            assert runner._sessions[threads].get_session_options().intra_op_num_threads == threads
    finally:
        torch.set_num_threads(before)


def _profile_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "profile_stages.py"
    spec = importlib.util.spec_from_file_location("profile_stages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_clock_counts_nested_time_once(monkeypatch: pytest.MonkeyPatch) -> None:
    profile_stages = _profile_module()
    ticks = iter(range(100))
    monkeypatch.setattr(profile_stages.time, "perf_counter", lambda: float(next(ticks)))
    clock = profile_stages.StageClock()
    inner = clock.wrap("inner", lambda: None)
    outer = clock.wrap("outer", lambda: inner())
    outer()  # outer starts at 0, inner runs 1..2, outer ends at 3
    assert dict(clock.seconds) == {"inner": 1.0, "outer": 2.0}


def test_timed_stages_restores_the_feature(photo_bgr: np.ndarray) -> None:
    profile_stages = _profile_module()
    import cvlearned.models.heatmap as heatmap

    feature = cvlearned.create("superpoint-lite", device="cpu")
    original = heatmap.sample_descriptors
    clock = profile_stages.StageClock()
    with profile_stages.timed_stages(feature, clock):
        feature.detectAndCompute(photo_bgr, None)
    assert clock.seconds["network"] > 0 and clock.seconds["descriptor sampling"] > 0
    assert heatmap.sample_descriptors is original
    assert not {"_prepare", "dense", "_keypoints", "forward"} & (set(vars(feature)) | set(vars(feature.net)))
