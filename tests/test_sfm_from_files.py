"""examples/sfm.py from cvlearned extract / match files, on the rendered sequence of
test_example_sfm: same reconstruction quality, nothing recomputed."""

from __future__ import annotations

import pytest

from cvlearned import io
from cvlearned.folder_extraction import extract_folder
from cvlearned.folder_matching import exhaustive_pairs, match_pairs

pytest.importorskip("pycolmap")
pytest.importorskip("h5py")
from test_example_sfm import N_VIEWS, K, _first_views, sequence, sfm  # noqa: F401  (sequence: fixture)


def _files(folder, tmp_path):
    features, matches = tmp_path / "features.h5", tmp_path / "matches.h5"
    extract_folder(folder, "sift", features, workers=1)
    match_pairs(features, exhaustive_pairs(io.feature_names(features)), matches, "ratio")
    return features, matches


def test_reconstruction_from_files_matches_truth(sequence, tmp_path, monkeypatch):  # noqa: F811
    folder, centres = sequence
    features, matches = _files(folder, tmp_path)
    monkeypatch.setattr(sfm, "extract", None)  # nothing may be extracted again
    result = sfm.run_from_files(folder, features, matches, tmp_path / "out", K=K)
    s = result.summary
    assert result.feature == "sift" and result.num_pairs == N_VIEWS * (N_VIEWS - 1) // 2
    assert s.num_registered == N_VIEWS, s
    assert s.num_points3D > 400, s
    assert s.mean_reprojection_error < 1.0, s
    truth = sfm.compare_to_truth(result.reconstruction, centres)
    assert truth.relative_rms < 0.01, truth


def test_main_from_files(sequence, tmp_path, capsys):  # noqa: F811
    small = _first_views(sequence[0], 4, tmp_path / "four")
    features, matches = _files(small, tmp_path)
    argv = [str(small), "--out", str(tmp_path / "out"), "--features", str(features), "--matches", str(matches),
            "--K", f"{K[0, 0]},{K[1, 1]},{K[0, 2]},{K[1, 2]}"]
    assert sfm.main(argv) == 0
    out = capsys.readouterr().out
    assert "feature sift: " in out and "/6 pairs verified" in out and "registered images: 4/4" in out, out
    with pytest.raises(SystemExit):
        sfm.main([str(small), "--features", str(features)])
    assert "--features and --matches go together" in capsys.readouterr().err


def test_stored_pairs_maps_keys_back_to_names(tmp_path):
    with io.open_h5(tmp_path / "m.h5", "a") as h5:
        io.write_matches(h5, "a/0.png", "b.png", [], 0, [])
        io.write_matches(h5, "b.png", "c.png", [], 0, [])
    assert sfm.stored_pairs(tmp_path / "m.h5", ["a/0.png", "b.png"]) == [("a/0.png", "b.png")]
    with pytest.raises(ValueError, match="same pair key"):
        sfm.stored_pairs(tmp_path / "m.h5", ["a/0.png", "a-0.png"])
