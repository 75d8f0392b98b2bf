"""Downloads against local fixtures: file:// URLs and fake openers (no network)."""

from __future__ import annotations

import hashlib
import importlib
import io
import tarfile
import zipfile
from argparse import Namespace
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvlearned.datasets import (
    DATASETS,
    DatasetSpec,
    ManualDownloadRequired,
    RemoteFile,
    UnsafeArchiveError,
    data_command,
    download,
    extract_archive,
    list_datasets,
    load_hpatches,
)

# the package re-exports the function ``download``, which shadows the submodule attribute
download_module = importlib.import_module("cvlearned.datasets.download")

H_12 = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]])


def _hpatches_tarball(tmp_path: Path) -> Path:
    src = tmp_path / "src" / "hpatches-sequences-release" / "v_test"
    src.mkdir(parents=True)
    for k in range(1, 7):
        image = np.full((16, 20, 3), 20 * k, np.uint8)
        cv2.imwrite(str(src / f"{k}.ppm"), image)
        if k > 1:
            np.savetxt(src / f"H_1_{k}", H_12 if k == 2 else np.eye(3))
    archive = tmp_path / "hpatches-sequences-release.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src.parent, arcname="hpatches-sequences-release")
    return archive


def _spec(url: str, sha256: str | None = None) -> DatasetSpec:
    return DatasetSpec(
        name="hpatches-test",
        description="fixture",
        files=(RemoteFile(url, sha256=sha256),),
        root="hpatches-sequences-release",
    )


class FakeOpener:
    """Serves the same bytes for every URL and records the URLs asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.urls: list[str] = []

    def __call__(self, url: str) -> io.BytesIO:
        self.urls.append(url)
        return io.BytesIO(self.data)


def _no_network(url: str):
    raise AssertionError(f"unexpected download of {url}")


def test_download_file_url_then_load(tmp_path: Path) -> None:
    archive = _hpatches_tarball(tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest = tmp_path / "data"
    root = download(_spec(archive.as_uri(), digest), dest, progress=False)
    assert root == dest / "hpatches-sequences-release"
    assert not (dest / archive.name).exists()  # archive removed after extraction
    assert not list(dest.glob("*.part"))
    pairs = load_hpatches(root)
    assert len(pairs) == 5 and pairs[0].split == "viewpoint"
    np.testing.assert_allclose(pairs[0].H_0to1, H_12)
    # idempotent: the completion marker skips the network entirely
    assert download(_spec(archive.as_uri()), dest, progress=False, opener=_no_network) == root


def test_download_registered_name_with_fake_opener(tmp_path: Path, capsys) -> None:
    opener = FakeOpener(_hpatches_tarball(tmp_path).read_bytes())
    root = download("hpatches", tmp_path / "d", progress=True, opener=opener)
    assert opener.urls == [DATASETS["hpatches"].files[0].url]
    assert len(load_hpatches(root, split="viewpoint")) == 5
    download("hpatches", tmp_path / "d", force=True, progress=False, opener=opener)
    assert len(opener.urls) == 2  # force downloads again


def test_module_level_urlopen_is_patchable(tmp_path: Path, monkeypatch) -> None:
    opener = FakeOpener(_hpatches_tarball(tmp_path).read_bytes())
    monkeypatch.setattr(download_module, "_urlopen", opener)
    download("hpatches", tmp_path / "d", progress=False)
    assert len(opener.urls) == 1


def test_checksum_mismatch_leaves_no_file(tmp_path: Path) -> None:
    archive = _hpatches_tarball(tmp_path)
    dest = tmp_path / "data"
    with pytest.raises(ValueError, match="sha256 mismatch"):
        download(_spec(archive.as_uri(), "0" * 64), dest, progress=False)
    assert not any(dest.iterdir())


def test_truncated_download_is_rejected(tmp_path: Path) -> None:
    class Short(io.BytesIO):
        headers = {"Content-Length": "100"}

    with pytest.raises(ConnectionError, match="incomplete"):
        download(
            _spec("http://x/a.tar.gz"), tmp_path, progress=False, opener=lambda u: Short(b"abc")
        )
    assert not list(tmp_path.glob("*.part"))


def test_network_error_is_clear(tmp_path: Path) -> None:
    missing = (tmp_path / "nothing.tar.gz").as_uri()
    with pytest.raises(ConnectionError, match="could not download"):
        download(_spec(missing), tmp_path / "d", progress=False)


def _tar_with(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        ok = tarfile.TarInfo("fine/ok.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        if member.isfile():
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        else:
            tar.addfile(member)
    return archive


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_malicious_tar_is_rejected(tmp_path: Path, kind: str) -> None:
    if kind == "dotdot":
        member = tarfile.TarInfo("../evil")
    elif kind == "absolute":
        member = tarfile.TarInfo(str(tmp_path / "evil_abs"))
    else:
        member = tarfile.TarInfo("fine/link")
        member.type = tarfile.SYMTYPE
        member.linkname = "../../evil"
    archive = _tar_with(tmp_path, member)
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError):
        extract_archive(archive, dest)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "evil_abs").exists()
    assert not (dest / "fine").exists()  # nothing extracted before the check
    # the same through download(): a ValueError subclass
    with pytest.raises(ValueError, match="evil"):
        download(_spec(archive.as_uri()), tmp_path / "dl", progress=False)


def test_malicious_zip_is_rejected(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "ok")
        zf.writestr("../evil", "x")
    with pytest.raises(UnsafeArchiveError, match="evil"):
        extract_archive(archive, tmp_path / "dest")
    assert not (tmp_path / "evil").exists()


def test_zip_archive_extracts(tmp_path: Path) -> None:
    archive = tmp_path / "megadepth1500.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("megadepth1500/pairs_calibrated.txt", "")
    spec = DatasetSpec("md", "fixture", (RemoteFile(archive.as_uri()),), root="megadepth1500")
    root = download(spec, tmp_path / "d", progress=False, keep_archive=True)
    assert (root / "pairs_calibrated.txt").is_file()
    assert (tmp_path / "d" / "megadepth1500.zip").is_file()


def test_unknown_name_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        download("nope", tmp_path)
    for name in ("hpatches", "megadepth1500", "scannet1500", "kitti-odometry", "tum-fr2-desk"):
        assert name in str(info.value)


def test_registry_urls() -> None:
    names = {"hpatches", "megadepth1500", "scannet1500", "kitti-odometry", "tum-fr2-desk"}
    assert set(DATASETS) == names
    for spec in DATASETS.values():
        assert spec.manual or all(f.url.startswith(("http://", "https://")) for f in spec.files)
    assert DATASETS["tum-fr2-desk"].files[0].url.endswith("rgbd_dataset_freiburg2_desk.tgz")


def test_kitti_is_manual(tmp_path: Path) -> None:
    with pytest.raises(ManualDownloadRequired, match="cvlibs.net") as info:
        download("kitti-odometry", tmp_path, opener=_no_network)
    assert str(tmp_path / "kitti-odometry") in str(info.value)
    out, err = io.StringIO(), io.StringIO()
    assert data_command(Namespace(name="kitti-odometry", dir=tmp_path, force=False), out, err) == 1
    assert "data_odometry_poses.zip" in err.getvalue()
    # once the user unpacked it, download() just returns the root
    for sub in ("sequences", "poses"):
        (tmp_path / "kitti-odometry" / "dataset" / sub).mkdir(parents=True)
    assert download("kitti-odometry", tmp_path) == tmp_path / "kitti-odometry" / "dataset"


def test_data_command_and_listing(tmp_path: Path) -> None:
    text = list_datasets()
    for spec in DATASETS.values():
        assert spec.name in text
    out, err = io.StringIO(), io.StringIO()
    assert data_command(Namespace(name=None), out, err) == 0 and "hpatches" in out.getvalue()
    assert data_command(Namespace(name="bogus", dir=tmp_path, force=False), out, err) == 2
    assert "valid names" in err.getvalue()
