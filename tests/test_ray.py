"""extract / match on a local 2-CPU Ray runtime write the files a single process writes."""

from __future__ import annotations

import pytest

from cvlearned import io
from cvlearned.cli import main
from cvlearned.distributed import extract_with_ray, match_with_ray, shards
from cvlearned.folder_extraction import extract_folder, list_image_names
from cvlearned.folder_matching import exhaustive_pairs, match_pairs

from feature_files import READABLE, UNREADABLE, assert_same_files, write_image_folder

ray = pytest.importorskip("ray")
pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def runtime():
    """A local Ray runtime (about 3 s to start on the 2-core CI machine)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("images"))


def test_shards():
    assert shards(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="shard size"):
        shards([1], 0)


@pytest.mark.parametrize("feature", ["sift", "orb"])
def test_extract_and_match_equal_single_process(feature, runtime, folder, tmp_path):
    single, sharded = tmp_path / "single.h5", tmp_path / "ray.h5"
    extract_folder(folder, feature, single, workers=1)
    report = extract_with_ray(folder, list_image_names(folder), feature, sharded, shard_size=2)
    assert sorted(report.extracted) == sorted(READABLE) and list(report.failed) == [UNREADABLE]
    assert_same_files(sharded, single)

    pairs = exhaustive_pairs(READABLE)
    match_pairs(single, pairs, tmp_path / "m_single.h5")
    matched = match_with_ray(single, pairs, tmp_path / "m_ray.h5", shard_size=3)
    assert matched.matched == len(pairs)
    assert_same_files(tmp_path / "m_ray.h5", tmp_path / "m_single.h5")


def test_ray_resumes(runtime, folder, tmp_path):
    names = list_image_names(folder)
    extract_with_ray(folder, names[:2], "sift", tmp_path / "f.h5", shard_size=1)
    report = extract_with_ray(folder, names, "sift", tmp_path / "f.h5", shard_size=2)
    assert report.skipped == names[:2]
    extract_folder(folder, "sift", tmp_path / "single.h5", workers=1)
    assert_same_files(tmp_path / "f.h5", tmp_path / "single.h5")


def test_command_line_ray(runtime, folder, tmp_path, capsys):
    features, pairs, matches = tmp_path / "f.h5", tmp_path / "p.txt", tmp_path / "m.h5"
    assert main(["extract", str(folder), "--feature", "sift", "--out", str(features), "--ray"]) == 0
    assert "sift: 5 images extracted" in capsys.readouterr().out
    assert main(["pairs", "exhaustive", str(features), "--out", str(pairs)]) == 0
    assert main(["match", str(pairs), "--features", str(features), "--out", str(matches), "--ray"]) == 0
    assert "mnn: 10 pairs matched" in capsys.readouterr().out
    assert len(io.pair_names(matches)) == 10
