"""Dataset downloads: registry of public archives, safe fetch + extract, CLI helpers.

``download(name, dest_dir)`` fetches each archive of ``DATASETS[name]`` to ``<file>.part``
(renamed on success, sha256-checked when known), extracts it into ``dest_dir`` (members that
would land outside ``dest_dir`` are rejected), writes ``dest_dir/.<name>.complete`` and
returns ``dest_dir/<spec.root>``, the folder the matching loader takes. Calls are
idempotent: an existing marker skips everything unless ``force=True``.
Network access goes through ``opener(url)`` (default :func:`_urlopen`), so tests can inject
a fake or use ``file://`` URLs.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

Opener = Callable[[str], Any]  # url -> context manager with .read(n) (and optional .headers)


class ManualDownloadRequired(RuntimeError):
    """The dataset cannot be fetched automatically; the message says what to do."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the destination folder."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch; ``filename`` defaults to the URL's last component."""

    url: str
    sha256: str | None = None
    filename: str | None = None
    extract: bool = True

    @property
    def name(self) -> str:
        return self.filename or self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from and which folder (``root``, relative to dest) to load."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    root: str
    loader: str = ""
    manual: bool = False
    instructions: str = ""
    notes: str = ""
    required: tuple[str, ...] = field(default_factory=tuple)  # paths under root (manual)


_HPATCHES_URL = "http://icvl.ee.ic.ac.uk/vbalnt/hpatches"

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="hpatches",
            description="HPatches full sequences (116 scenes x 5 homography pairs)",
            files=(RemoteFile(f"{_HPATCHES_URL}/hpatches-sequences-release.tar.gz"),),
            root="hpatches-sequences-release",
            loader="load_hpatches(root, split='all'|'viewpoint'|'illumination')",
            notes="Official release URL from the HPatches benchmark page; no published checksum.",
        ),
        DatasetSpec(
            name="megadepth1500",
            description="MegaDepth-1500 relative-pose test pairs (LoFTR/LightGlue protocol)",
            files=(RemoteFile("https://cvg-data.inf.ethz.ch/megadepth/megadepth1500.zip"),),
            root="megadepth1500",
            loader="load_megadepth1500(root)",
            notes=(
                "Archive used by glue-factory's MegaDepth-1500 evaluation: megadepth1500/images/ "
                "and pairs_calibrated.txt. No published checksum."
            ),
        ),
        DatasetSpec(
            name="scannet1500",
            description="ScanNet-1500 relative-pose test pairs (SuperGlue/LoFTR protocol)",
            files=(RemoteFile("https://cvg-data.inf.ethz.ch/scannet/scannet1500.zip"),),
            root="scannet1500",
            loader="load_scannet1500(root, resize=(640, 480))",
            notes=(
                "Archive used by glue-factory's ScanNet-1500 evaluation (pairs_calibrated.txt "
                "+ images); layout taken from glue-factory's config, not verified here. "
                "ScanNet terms of use apply. No published checksum."
            ),
        ),
        DatasetSpec(
            name="kitti-odometry",
            description="KITTI odometry (grey images, calibration, ground-truth poses 00-10)",
            files=(),
            root="kitti-odometry/dataset",
            loader="load_kitti_pairs(root, sequence='00')",
            manual=True,
            required=("sequences", "poses"),
            instructions=(
                "KITTI requires registration, so it cannot be downloaded automatically.\n"
                "1. Register / log in at https://www.cvlibs.net/datasets/kitti/eval_odometry.php\n"
                "2. Download 'odometry data set (grayscale)' data_odometry_gray.zip,\n"
                "   'calibration files' data_odometry_calib.zip and\n"
                "   'ground truth poses' data_odometry_poses.zip\n"
                "3. Unzip all three into {dest}/kitti-odometry (they create dataset/sequences/"
                " and dataset/poses/)\n"
                "4. Re-run this command; it then reports {root}."
            ),
        ),
        DatasetSpec(
            name="tum-fr2-desk",
            description="TUM RGB-D freiburg2_desk raw sequence (rgb/, depth/, groundtruth.txt)",
            files=(
                RemoteFile(
                    "https://cvg.cit.tum.de/rgbd/dataset/freiburg2/rgbd_dataset_freiburg2_desk.tgz"
                ),
            ),
            root="rgbd_dataset_freiburg2_desk",
            loader="(raw TUM format; not a pairs.txt)",
            notes=(
                "Raw sequence, CC BY 4.0. It is not in pairs.txt form: pairs must be built "
                "from groundtruth.txt (the shared pose_pairs/tum_fr2_desk set is a 20-frame "
                "subset in pairs.txt form). No published checksum."
            ),
        ),
    )
}


def get_spec(name: str | DatasetSpec) -> DatasetSpec:
    """Spec for ``name``; ValueError listing the valid names when unknown."""
    if isinstance(name, DatasetSpec):
        return name
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}"
        ) from None


def default_data_dir() -> Path:
    """``$CVLEARNED_DATA`` or ``~/.cache/cvlearned/data``."""
    return Path(os.environ.get("CVLEARNED_DATA", "~/.cache/cvlearned/data")).expanduser()


# --------------------------------------------------------------------------- fetch
def _urlopen(url: str) -> Any:
    """Default opener: ``urllib.request.urlopen`` with a User-Agent and a 60 s timeout."""
    request = urllib.request.Request(url, headers={"User-Agent": "cvlearned-datasets"})
    return urllib.request.urlopen(request, timeout=60)


def _content_length(response: Any) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def fetch(
    url: str,
    path: str | Path,
    *,
    sha256: str | None = None,
    progress: bool = True,
    opener: Opener | None = None,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``path`` via ``path.part``; checks size and optional sha256."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    opener = opener or _urlopen
    digest = hashlib.sha256()
    written = 0
    try:
        try:
            response = opener(url)
        except (urllib.error.URLError, OSError) as e:
            raise ConnectionError(
                f"could not download {url}: {e}. Download it by hand to {path} and re-run."
            ) from e
        with response, open(part, "wb") as out:
            total = _content_length(response)
            with tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024,
                desc=path.name, disable=not progress,
            ) as bar:
                while chunk := response.read(chunk_size):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
        if total is not None and written != total:
            raise ConnectionError(f"incomplete download of {url}: {written} of {total} bytes")
        if sha256 and digest.hexdigest() != sha256.lower():
            raise ValueError(
                f"sha256 mismatch for {url}: expected {sha256}, got {digest.hexdigest()}"
            )
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- extract
#: what ``filter="data"`` raises for a refused member (nothing on a Python without filters)
_FILTER_ERROR: Any = getattr(tarfile, "FilterError", ())
#: symlink hops followed while resolving one member before it counts as a loop (as Linux)
_MAX_LINK_HOPS = 40


def _member_parts(member: str) -> list[str]:
    """Path components of an archive member name; UnsafeArchiveError for an absolute name."""
    name = member.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"archive member has an absolute path: {member!r}")
    return name.split("/")


def _link_target(dest: Path, parts: list[str], links: dict[str, str]) -> str | None:
    """Target of the symlink at ``dest/parts``: one the archive makes (``links``), else one on disk."""
    key = "/".join(parts)
    if key in links:
        return links[key]
    path = dest.joinpath(*parts)
    return os.readlink(path) if path.is_symlink() else None


def _resolve_inside(dest: Path, parts: list[str], links: dict[str, str], member: str,
                    follow_last: bool = True) -> list[str]:
    """Components, relative to ``dest``, of where ``parts`` lands once every symlink on the way
    (``links`` made by earlier members, and links on disk) is followed, chains included.

    Raises:
        UnsafeArchiveError: any step leaves ``dest`` (naming ``member``), or a link loop.
    """
    resolved: list[str] = []
    pending = list(parts)
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                raise UnsafeArchiveError(f"archive member escapes the destination folder: {member!r}")
            resolved.pop()
            continue
        target = _link_target(dest, [*resolved, part], links)
        if target is None or (not pending and not follow_last):
            resolved.append(part)
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS:
            raise UnsafeArchiveError(f"symlink loop at archive member {member!r}")
        if os.path.isabs(target):  # only links already on disk get here (members' are refused)
            if not Path(target).is_relative_to(dest):
                raise UnsafeArchiveError(f"archive member {member!r} leads through a link to {target!r}")
            resolved, pending = [], [*Path(target).relative_to(dest).parts, *pending]
        else:
            pending = [*target.split("/"), *pending]
    return resolved


def _safe_target(dest: Path, member: str) -> Path:
    """Where ``member`` lands under ``dest`` (links on disk followed); UnsafeArchiveError if it escapes."""
    return dest.joinpath(*_resolve_inside(dest, _member_parts(member), {}, member))


def _check_tar(tar: tarfile.TarFile, dest: Path) -> None:
    """Refuse, before anything is written, every member that lands or links outside ``dest``
    once the symlinks of earlier members are followed, every special file, and every symlink
    that a later member makes point outside (checked again against all links at the end)."""
    links: dict[str, str] = {}
    for m in tar.getmembers():
        if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            raise UnsafeArchiveError(f"special file in archive: {m.name!r}")
        where = _resolve_inside(dest, _member_parts(m.name), links, m.name, follow_last=not m.issym())
        if m.issym():
            if os.path.isabs(m.linkname.replace("\\", "/")) or m.linkname[1:2] == ":":
                raise UnsafeArchiveError(f"absolute symlink in archive: {m.name!r} -> {m.linkname!r}")
            _check_link(dest, where, m.linkname, links)
            links["/".join(where)] = m.linkname
        elif m.islnk():
            _resolve_inside(dest, _member_parts(m.linkname), links, f"{m.name} -> {m.linkname}")
    for key, target in links.items():
        _check_link(dest, key.split("/"), target, links)


def _check_link(dest: Path, where: list[str], target: str, links: dict[str, str]) -> None:
    """UnsafeArchiveError unless the symlink at ``dest/where`` → ``target`` resolves inside ``dest``."""
    _resolve_inside(dest, [*where[:-1], *target.split("/")], links, f"{'/'.join(where)} -> {target}")


def _extract_tar(archive: Path, dest: Path) -> None:
    """Check, then extract (with ``filter="data"`` where Python has it) a tar archive."""
    try:
        with tarfile.open(archive) as tar:
            _check_tar(tar, dest)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:  # Python < 3.11.4 without extraction filters: _check_tar is the guard
                tar.extractall(dest)
    except _FILTER_ERROR as exc:  # e.g. LinkOutsideDestinationError: a traceback no more
        raise UnsafeArchiveError(f"unsafe member in {archive}: {exc}") from exc
    except tarfile.TarError as exc:  # truncated or corrupt archive
        raise ValueError(f"cannot extract {archive}: {exc}") from exc


def extract_archive(archive: str | Path, dest_dir: str | Path) -> None:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``dest_dir``.

    All members are checked before anything is written: absolute paths, ``..`` escapes,
    links pointing outside (following every symlink chain through earlier members and links
    already in ``dest_dir``) and device files raise :class:`UnsafeArchiveError`; tar archives
    are then extracted with ``filter="data"`` where Python has it (3.11.4+), whose refusals
    are raised as :class:`UnsafeArchiveError` too. A corrupt archive raises ValueError.
    """
    archive = Path(archive)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _safe_target(dest, info.filename)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        _extract_tar(archive, dest)
    else:
        raise ValueError(f"not a zip or tar archive: {archive}")


# --------------------------------------------------------------------------- download
def _marker(dest: Path, spec: DatasetSpec) -> Path:
    return dest / f".{spec.name}.complete"


def download(
    name: str | DatasetSpec,
    dest_dir: str | Path,
    *,
    force: bool = False,
    progress: bool = True,
    opener: Opener | None = None,
    keep_archive: bool = False,
) -> Path:
    """Download and extract a dataset into ``dest_dir``; returns its root folder.

    Args:
        name: a key of :data:`DATASETS` (or a DatasetSpec).
        dest_dir: destination folder (created).
        force: download and extract again even when already complete.
        progress: show a tqdm progress bar.
        opener: ``url -> response`` used instead of urllib (tests, proxies).
        keep_archive: keep the downloaded archive after extraction.

    Raises:
        ValueError: unknown name, checksum mismatch, unsafe archive.
        ManualDownloadRequired: dataset needs a manual download (message has instructions).
        ConnectionError: network failure.
    """
    spec = get_spec(name)
    dest = Path(dest_dir).expanduser()
    root = dest / spec.root
    if spec.manual:
        if all((root / p).exists() for p in spec.required) and root.is_dir():
            return root
        raise ManualDownloadRequired(
            f"dataset {spec.name!r} must be downloaded manually:\n"
            + spec.instructions.format(dest=dest, root=root)
        )
    marker = _marker(dest, spec)
    if marker.exists() and root.exists() and not force:
        return root
    dest.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    for remote in spec.files:
        path = dest / remote.name
        reuse = path.exists() and not force
        if reuse and remote.sha256 and sha256_file(path) != remote.sha256.lower():
            reuse = False
        if not reuse:
            fetch(remote.url, path, sha256=remote.sha256, progress=progress, opener=opener)
        if remote.extract:
            extract_archive(path, dest)
            if not keep_archive:
                path.unlink()
    if not root.exists():
        raise FileNotFoundError(
            f"{spec.name}: the downloaded files did not create the expected folder {root}"
        )
    marker.write_text(f"{spec.name} complete\n", encoding="utf-8")
    return root


# --------------------------------------------------------------------------- CLI helpers
def list_datasets() -> str:
    """Human-readable table of the known datasets."""
    lines = []
    for spec in DATASETS.values():
        how = "manual download" if spec.manual else ", ".join(f.url for f in spec.files)
        lines.append(f"{spec.name:<16} {spec.description}")
        lines.append(f"{'':<16}   source: {how}")
        lines.append(f"{'':<16}   load:   {spec.loader}")
        if spec.notes:
            lines.append(f"{'':<16}   notes:  {spec.notes}")
    return "\n".join(lines)


def data_command(args: Any, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """CLI entry: ``args.name`` (None/"list" lists), ``args.dir``, ``args.force``; exit code.

    Prints the dataset root on success; prints instructions for manual datasets (exit 1)
    and errors (exit 2).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    name = getattr(args, "name", None)
    if not name or name == "list":
        print(list_datasets(), file=out)
        return 0
    dest = getattr(args, "dir", None) or default_data_dir()
    try:
        root = download(
            name,
            dest,
            force=bool(getattr(args, "force", False)),
            progress=bool(getattr(args, "progress", True)),
        )
    except ManualDownloadRequired as e:
        print(str(e), file=err)
        return 1
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=err)
        return 2
    print(root, file=out)
    return 0
