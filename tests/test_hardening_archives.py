"""Crafted tar/zip archives whose links escape the destination: refused (UnsafeArchiveError, a
ValueError) before anything is written, with and without Python's ``filter="data"``."""

from __future__ import annotations

import importlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from cvlearned.datasets import DatasetSpec, RemoteFile, UnsafeArchiveError, download, extract_archive

download_module = importlib.import_module("cvlearned.datasets.download")

#: (kind, name, link target or file content): kind is "file", "dir", "sym" or "hard"
Member = tuple[str, str, str]
ESCAPING: dict[str, list[Member]] = {
    "dot-chain": [("sym", "d", "."), ("sym", "d2", "d/.."), ("file", "d2/x", "pwned")],
    "dir-link-chain": [("dir", "sub", ""), ("sym", "sub/up", ".."), ("sym", "sub/up/l2", ".."),
                       ("file", "l2/x", "pwned")],
    "link-made-escaping-later": [("sym", "a", "x/.."), ("sym", "x", ".")],
    "write-through-later-link": [("sym", "a", "x/.."), ("sym", "x", "."), ("file", "a/x", "pwned")],
    "parent-link": [("sym", "up", ".."), ("file", "up/x", "pwned")],
    "absolute-link": [("sym", "abs", "/tmp")],
    "hardlink-through-link": [("sym", "up", ".."), ("hard", "h", "up/x")],
    "hardlink-dotdot": [("hard", "h", "../x")],
    "link-loop": [("sym", "a", "b"), ("sym", "b", "a"), ("file", "a/x", "pwned")],
}
SAFE: list[Member] = [("dir", "data", ""), ("file", "data/f.txt", "hi"), ("sym", "alias", "data"),
                      ("file", "alias/g.txt", "yo"), ("sym", "data/back", "../data/f.txt"),
                      ("hard", "copy.txt", "data/f.txt"), ("sym", "chain", "alias/back")]


def _tar(path: Path, members: list[Member]) -> Path:
    with tarfile.open(path, "w") as tar:
        for kind, name, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value.encode()))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[kind]
            info.linkname = value
            tar.addfile(info)
    return path


@pytest.fixture(params=["with-data-filter", "without-data-filter"])
def python_filter(request, monkeypatch):
    """Both branches of extract_archive: Python >= 3.11.4 (filter="data") and older ones."""
    if request.param == "without-data-filter":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return request.param


@pytest.mark.parametrize("case", sorted(ESCAPING))
def test_escaping_links_are_refused_before_writing(tmp_path, python_filter, case):
    archive = _tar(tmp_path / f"{case}.tar", ESCAPING[case])
    dest = tmp_path / "out" / "dest"
    with pytest.raises(UnsafeArchiveError):
        extract_archive(archive, dest)
    assert list(dest.iterdir()) == []  # checked before anything is written
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dest"]


def test_safe_links_inside_extract(tmp_path, python_filter):
    dest = tmp_path / "dest"
    extract_archive(_tar(tmp_path / "safe.tar", SAFE), dest)
    assert (dest / "data" / "g.txt").read_text() == "yo"  # written through the alias link
    assert (dest / "chain").read_text() == "hi" and (dest / "copy.txt").read_text() == "hi"


def test_links_already_in_the_destination_are_followed(tmp_path):
    outside, dest = tmp_path / "outside", tmp_path / "dest"
    outside.mkdir()
    dest.mkdir()
    (dest / "data").symlink_to(outside)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("data/x", "pwned")
    with pytest.raises(UnsafeArchiveError, match="data/x"):
        extract_archive(tmp_path / "a.zip", dest)
    _tar(tmp_path / "a.tar", [("file", "data/x", "pwned")])
    with pytest.raises(UnsafeArchiveError, match="data/x"):
        extract_archive(tmp_path / "a.tar", dest)
    assert list(outside.iterdir()) == []


def test_refusal_of_the_data_filter_is_a_clear_error(tmp_path, monkeypatch):
    """Were the own check to miss a member, filter="data"'s refusal is no traceback either."""
    if not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no extraction filters")
    monkeypatch.setattr(download_module, "_check_tar", lambda tar, dest: None)
    with pytest.raises(UnsafeArchiveError, match="outside the destination"):
        extract_archive(_tar(tmp_path / "chain.tar", ESCAPING["dot-chain"]), tmp_path / "dest")


def test_corrupt_tar_is_a_value_error(tmp_path):
    data = _tar(tmp_path / "ok.tar", SAFE).read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[:1025])  # inside the first file's data
    with pytest.raises(ValueError):
        extract_archive(tmp_path / "cut.tar", tmp_path / "dest")


def test_download_reports_an_escaping_archive(tmp_path):
    archive = _tar(tmp_path / "chain.tar", ESCAPING["dot-chain"])
    spec = DatasetSpec("evil", "crafted", (RemoteFile(archive.as_uri()),), root="evil")
    with pytest.raises(ValueError, match="escapes the destination"):
        download(spec, tmp_path / "data", progress=False)
    assert not (tmp_path / "x").exists()
