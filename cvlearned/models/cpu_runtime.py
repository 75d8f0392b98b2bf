"""Run a small inference network on the CPU through onnxruntime, falling back to PyTorch.

onnxruntime runs HardNet's patch network about 1.3x faster than PyTorch on a 2-core CPU
(network stage of benchmarks/results/profile-stages-2026-12-02.md) with descriptors equal to
2e-6. :class:`CpuRunner`
exports its module to ONNX once per set of weights (in memory, cached for the process) on
the first call and runs it with onnxruntime at PyTorch's current thread count. It runs
the module itself when onnxruntime or the ONNX exporter is missing (it stays optional:
``pip install cvlearned[onnx]``), when the export fails (with a warning), or when the
environment variable ``CVLEARNED_RUNTIME=torch`` is set.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from typing import Any

import torch
from torch import nn

__all__ = ["CpuRunner", "RUNTIME_ENV"]

#: set to ``torch`` to run every :class:`CpuRunner` with PyTorch
RUNTIME_ENV = "CVLEARNED_RUNTIME"

_EXPORTS: dict[str, bytes] = {}  # weights digest -> serialised ONNX model
_EXPORT_LOCK = threading.Lock()


def _digest(module: nn.Module, sample_shape: tuple[int, ...]) -> str:
    """Identity of a module's class, weights and per-sample input shape."""
    h = hashlib.sha256(f"{type(module).__qualname__}{sample_shape}".encode())
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _export(module: nn.Module, sample_shape: tuple[int, ...]) -> bytes:
    """The module as ONNX bytes with a dynamic batch axis (input ``x`` (N, *sample_shape), output ``y``)."""
    buffer = io.BytesIO()
    example = torch.zeros((2, *sample_shape))
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(module, (example,), buffer, input_names=["x"], output_names=["y"],  # type: ignore[arg-type]
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=17, dynamo=False)
    return buffer.getvalue()


class CpuRunner:
    """``runner(x)`` = ``module(x)`` for a CPU float32 batch (N, *sample_shape), computed by
    onnxruntime when available (see the module docstring), else by ``module``.

    Args:
        module: an eval-mode network with one tensor input and one tensor output.
        sample_shape: the input shape without the batch axis, e.g. (1, 32, 32).
    """

    def __init__(self, module: nn.Module, sample_shape: tuple[int, ...]) -> None:
        self.module = module
        self.sample_shape = tuple(int(v) for v in sample_shape)
        self._sessions: dict[int, Any] = {}  # torch thread count -> onnxruntime session
        self._failed = False

    @property
    def backend(self) -> str:
        """``"onnxruntime"`` or ``"torch"``: what the next call uses (may export the module)."""
        return "torch" if self._session() is None else "onnxruntime"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        session = self._session()
        if session is None or x.device.type != "cpu":
            return self.module(x)
        (y,) = session.run(["y"], {"x": x.detach().float().contiguous().numpy()})
        return torch.from_numpy(y)

    def _session(self) -> Any:
        """The onnxruntime session for PyTorch's current thread count, or None (use torch)."""
        if self._failed or os.environ.get(RUNTIME_ENV, "").strip().lower() == "torch":
            return None
        threads = torch.get_num_threads()
        if threads not in self._sessions:
            try:
                import onnx  # noqa: F401  (the exporter needs it)
                import onnxruntime
            except ImportError:
                self._failed = True
                return None
            try:
                model = self._model_bytes()
            except Exception as exc:  # noqa: BLE001 (any exporter failure: PyTorch still works)
                warnings.warn(f"ONNX export of {type(self.module).__name__} failed ({exc}); running it with PyTorch",
                              RuntimeWarning, stacklevel=3)
                self._failed = True
                return None
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # idle worker threads sleep instead of spinning: no CPU stolen from the caller's other work
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._sessions[threads] = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def _model_bytes(self) -> bytes:
        key = _digest(self.module, self.sample_shape)
        with _EXPORT_LOCK:
            if key not in _EXPORTS:
                _EXPORTS[key] = _export(self.module, self.sample_shape)
            return _EXPORTS[key]
