"""``extract`` and ``match`` over many processes or machines with Ray
(``pip install cvlearned[distributed]``).

The work list (images, or pairs) is cut into shards; a pool of Ray actors, one per CPU
of the cluster (each holds one feature or matcher, created once), processes the shards:
each actor writes its shard to a local HDF5 file with the single-process code
(:func:`~cvlearned.folder_extraction.extract_images`,
:func:`~cvlearned.folder_matching.match_pairs`) and returns the file's bytes; the driver
merges every shard into the output as it arrives. The output therefore holds exactly
what a single-process run writes, and resuming works the same way (the driver skips
what the file already holds before sharding).

On a cluster (``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on
the others) every machine needs cvlearned installed and the images (and, for ``match``,
``features.h5``) at the same path, e.g. on a shared file system; only the driver writes
the output file.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm import tqdm

from cvlearned import io
from cvlearned.folder_extraction import ExtractionReport, extract_images, make_bulk_feature
from cvlearned.folder_matching import MatchReport, check_pair_names, match_pairs, pending_pairs

__all__ = ["connect", "extract_with_ray", "match_with_ray", "merge_shard", "shards"]

PathLike = str | os.PathLike
#: ``--ray`` without an address: start a local runtime on this machine
LOCAL = "local"


def connect(address: str | None = LOCAL) -> ModuleType:
    """The ``ray`` module, initialised: already running (tests), a new local runtime
    (``address`` "local" or None), or the cluster at ``address`` ("auto", "HOST:PORT")."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("--ray needs Ray: pip install cvlearned[distributed]") from exc
    if not ray.is_initialized():
        ray.init(address=None if address in (None, LOCAL) else address, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
    return ray


def shards(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` cut into consecutive lists of at most ``size``."""
    if size < 1:
        raise ValueError(f"shard size must be >= 1, got {size}")
    return [list(items[k:k + size]) for k in range(0, len(items), size)]


def _file_bytes(path: Path) -> bytes:
    """The bytes of ``path``, or b"" when it was not written (nothing to store)."""
    return path.read_bytes() if path.exists() else b""


class _ExtractWorker:
    """Ray actor: one feature, extracting shards of images into HDF5 bytes."""

    def __init__(self, image_dir: str, feature_name: str, max_side: int | None, device: str | None,
                 batch_size: int = 1) -> None:
        self.image_dir, self.feature_name, self.batch_size = image_dir, feature_name, batch_size
        self.feature = make_bulk_feature(feature_name, max_side, device)

    def run(self, names: list[str]) -> tuple[bytes, dict[str, str]]:
        with tempfile.TemporaryDirectory() as tmp:
            shard = Path(tmp) / "shard.h5"
            report = extract_images(self.image_dir, names, self.feature, self.feature_name, shard,
                                    batch_size=self.batch_size)
            return _file_bytes(shard), report.failed


class _MatchWorker:
    """Ray actor: one matcher, matching shards of pairs into HDF5 bytes."""

    def __init__(self, features: str, matcher: str) -> None:
        self.features, self.matcher = features, matcher

    def run(self, pairs: list[tuple[str, str]]) -> tuple[bytes, int]:
        with tempfile.TemporaryDirectory() as tmp:
            shard = Path(tmp) / "shard.h5"
            report = match_pairs(self.features, pairs, shard, self.matcher)
            return _file_bytes(shard), report.num_matches


def merge_shard(data: bytes, out: PathLike, attrs: dict[str, str]) -> None:
    """Copy every top-level object of the HDF5 file ``data`` into ``out`` (groups of the
    same name are replaced), setting ``attrs`` on ``out``."""
    if not data:
        return
    with tempfile.NamedTemporaryFile(suffix=".h5", dir=Path(out).parent) as tmp:
        tmp.write(data)
        tmp.flush()
        with io.open_h5(tmp.name) as src, io.open_h5(out, "a") as dst:
            dst.attrs.update(attrs)
            _copy_tree(src, dst)


def _copy_tree(src: Any, dst: Any) -> None:
    """Copy the groups of ``src`` into ``dst``, merging groups that both have (an image
    folder, or the first image of pairs) and replacing the leaves ``src`` holds."""
    import h5py

    for key, obj in src.items():
        holds_data = any(isinstance(v, h5py.Dataset) for v in obj.values())
        if holds_data or key not in dst:
            if key in dst:
                del dst[key]
            src.copy(obj, dst, name=key)
        else:
            _copy_tree(obj, dst[key])


def _run_pool(ray: ModuleType, worker: type, args: tuple, jobs: list[list[Any]], num_actors: int | None,
              on_result: Callable[[Any], None], bar: tqdm) -> None:
    """Process ``jobs`` on ``num_actors`` actors of ``worker(*args)`` (default: one per
    cluster CPU), calling ``on_result`` on each result in job order and advancing ``bar``
    by the job's length."""
    from ray.util import ActorPool

    count = num_actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    actors = [ray.remote(num_cpus=1)(worker).remote(*args) for _ in range(min(count, len(jobs)))]
    try:
        for job, result in zip(jobs, ActorPool(actors).map(lambda actor, job: actor.run.remote(job), jobs)):
            on_result(result)
            bar.update(len(job))
    finally:
        for actor in actors:
            ray.kill(actor)


def extract_with_ray(
    image_dir: PathLike, names: Sequence[str], feature_name: str, out: PathLike, max_side: int | None = None,
    device: str | None = None, address: str | None = LOCAL, shard_size: int = 16, num_actors: int | None = None,
    progress: bool = False, batch_size: int = 1,
) -> ExtractionReport:
    """:func:`~cvlearned.folder_extraction.extract_images` of ``names`` on Ray actors
    (``batch_size`` images per ``detectAndCompute`` call in each actor)."""
    start = time.perf_counter()
    io.check_attribute(out, "feature", feature_name)
    done = set(io.feature_names(out))
    report = ExtractionReport(skipped=[n for n in names if n in done])
    todo = [n for n in names if n not in done]
    if todo:
        ray = connect(address)
        attrs = {"feature": feature_name}

        def merge(result: tuple[bytes, dict[str, str]]) -> None:
            merge_shard(result[0], out, attrs)
            report.failed.update(result[1])

        args = (str(Path(image_dir).resolve()), feature_name, max_side, device, batch_size)
        with tqdm(total=len(names), initial=len(report.skipped), desc="extract", unit="image",
                  disable=not progress) as bar:
            _run_pool(ray, _ExtractWorker, args, shards(todo, shard_size), num_actors, merge, bar)
        report.extracted = [n for n in todo if n not in report.failed]
    report.seconds = time.perf_counter() - start
    return report


def match_with_ray(
    features: PathLike, pairs: Sequence[tuple[str, str]], out: PathLike, matcher: str = "mnn",
    address: str | None = LOCAL, shard_size: int = 256, num_actors: int | None = None, progress: bool = False,
) -> MatchReport:
    """:func:`~cvlearned.folder_matching.match_pairs` on Ray actors."""
    start = time.perf_counter()
    io.check_attribute(out, "matcher", matcher)
    todo = pending_pairs(pairs, set(io.pair_names(out)))
    check_pair_names(todo, features)
    report = MatchReport(skipped=len(pairs) - len(todo))
    if todo:
        ray = connect(address)
        attrs = {"matcher": matcher}

        def merge(result: tuple[bytes, int]) -> None:
            merge_shard(result[0], out, attrs)
            report.num_matches += result[1]

        args = (str(Path(features).resolve()), matcher)
        with tqdm(total=len(todo), desc="match", unit="pair", disable=not progress) as bar:
            _run_pool(ray, _MatchWorker, args, shards(todo, shard_size), num_actors, merge, bar)
        report.matched = len(todo)
    report.seconds = time.perf_counter() - start
    return report
