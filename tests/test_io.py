"""cvlearned.io: hloc-layout feature / match / pair files that read back exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import cvlearned
from cvlearned import io

from feature_files import keypoint_fields

pytest.importorskip("h5py")


def _write(path, name, keypoints, descriptors, size, shape=None):
    with io.open_h5(path, "a") as h5:
        io.write_features(h5, name, keypoints, descriptors, size, shape)


@pytest.mark.parametrize("name", ["sift", "orb", "akaze", "superpoint-lite"])
def test_round_trip_equals_detect_and_compute(name, photo_bgr, tmp_path):
    feature = cvlearned.create(name)
    keypoints, descriptors = feature.detectAndCompute(photo_bgr, None)
    assert len(keypoints) > 50
    _write(tmp_path / "f.h5", "dir/x.png", keypoints, descriptors, (320, 240))
    kp, desc, size = io.read_features(tmp_path / "f.h5", "dir/x.png")
    assert keypoint_fields(kp) == keypoint_fields(keypoints)
    assert desc.dtype == descriptors.dtype and np.array_equal(desc, descriptors)
    assert size == (320, 240)


def test_hloc_layout_and_convention(photo_bgr, tmp_path):
    """hloc reads keypoints (N, 2) = KeyPoint.pt (pixel centres), descriptors (D, N), scores, image_size (W, H)."""
    keypoints, descriptors = cvlearned.create("sift").detectAndCompute(photo_bgr, None)
    _write(tmp_path / "f.h5", "seq/0001.png", keypoints, descriptors, (320, 240))
    with io.open_h5(tmp_path / "f.h5") as h5:
        group = h5["seq"]["0001.png"]  # "/" in a name makes nested groups, as in hloc
        assert np.array_equal(group["keypoints"][()], np.float32([k.pt for k in keypoints]))
        assert group["descriptors"].shape == (128, len(keypoints))
        assert np.array_equal(group["scores"][()], np.float32([k.response for k in keypoints]))
        assert group["image_size"][()].tolist() == [320, 240]
        assert h5.attrs.get("feature") is None  # only the extraction command sets it


@pytest.mark.parametrize("name", ["sift", "orb"])
def test_empty_result_reads_back_as_opencv_returned_it(name, tmp_path):
    """OpenCV 5.1: SIFT gives a (0, 128) array, ORB None; both come back as they were."""
    feature = cvlearned.create(name)
    keypoints, descriptors = feature.detectAndCompute(np.zeros((64, 64), np.uint8), None)
    _write(tmp_path / "f.h5", "blank.png", keypoints, descriptors, (64, 64),
           (feature.descriptorSize(), np.uint8 if feature.descriptorType() == cv2.CV_8U else np.float32))
    kp, desc, _ = io.read_features(tmp_path / "f.h5", "blank.png")
    assert kp == () and len(keypoints) == 0
    if descriptors is None:
        assert desc is None
    else:
        assert desc.shape == descriptors.shape and desc.dtype == descriptors.dtype


def test_incomplete_group_is_not_listed_and_is_replaced(photo_bgr, tmp_path):
    path = tmp_path / "f.h5"
    keypoints, descriptors = cvlearned.create("orb").detectAndCompute(photo_bgr, None)
    with io.open_h5(path, "a") as h5:
        h5.create_group("half.png")["keypoints"] = np.zeros((3, 2), np.float32)  # an interrupted write
    assert io.feature_names(path) == []
    with pytest.raises(KeyError, match="half.png"):
        io.read_features(path, "half.png")
    _write(path, "half.png", keypoints, descriptors, (320, 240))
    assert io.feature_names(path) == ["half.png"]


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        io.read_features(tmp_path / "missing.h5", "x.png")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(OSError, match="cannot open .* as an HDF5 file"):
        io.read_features(tmp_path / "text.h5", "x.png")
    assert io.feature_names(tmp_path / "missing.h5") == []


def test_descriptor_count_mismatch_is_refused(tmp_path):
    with io.open_h5(tmp_path / "f.h5", "a") as h5, pytest.raises(ValueError, match="2 keypoints but descriptors"):
        io.write_features(h5, "x.png", [cv2.KeyPoint(1, 1, 2)] * 2, np.zeros((3, 8), np.float32), (4, 4))


def test_pair_key_is_hlocs():
    assert io.names_to_pair("a/b.png", "c.png") == "a-b.png/c.png"


def test_matches_round_trip_both_orders(tmp_path):
    found = [cv2.DMatch(0, 4, 0.5), cv2.DMatch(2, 1, 0.25), cv2.DMatch(3, 0, 1.0)]
    with io.open_h5(tmp_path / "m.h5", "a") as h5:
        io.write_matches(h5, "x/0.png", "1.png", found, 5, np.float32([0.9, 0.8, 0.7]))
    with io.open_h5(tmp_path / "m.h5") as h5:
        group = h5["x-0.png"]["1.png"]
        assert group["matches0"][()].tolist() == [4, -1, 1, 0, -1]
        assert group["matching_scores0"][()].tolist() == pytest.approx([0.9, 0, 0.8, 0.7, 0])
    pairs, scores = io.read_matches(tmp_path / "m.h5", "x/0.png", "1.png")
    assert pairs.tolist() == [[0, 4], [2, 1], [3, 0]]
    assert scores.tolist() == pytest.approx([0.9, 0.8, 0.7])
    reverse, reverse_scores = io.read_matches(tmp_path / "m.h5", "1.png", "x/0.png")
    assert reverse.tolist() == [[0, 3], [1, 2], [4, 0]]
    assert reverse_scores.tolist() == pytest.approx([0.7, 0.8, 0.9])
    assert io.pair_names(tmp_path / "m.h5") == ["x-0.png/1.png"]
    with pytest.raises(KeyError, match="2.png"):
        io.read_matches(tmp_path / "m.h5", "x/0.png", "2.png")


def test_pairs_file(tmp_path):
    io.write_pairs(tmp_path / "p.txt", [("a.png", "s/b.png"), ("b.png", "c.png")])
    assert (tmp_path / "p.txt").read_text() == "a.png s/b.png\nb.png c.png\n"
    (tmp_path / "q.txt").write_text("# comment\n\na.png b.png\n")
    assert io.read_pairs(tmp_path / "q.txt") == [("a.png", "b.png")]
    (tmp_path / "bad.txt").write_text("a.png b.png\nc.png\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 'name0 name1'"):
        io.read_pairs(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="whitespace"):
        io.write_pairs(tmp_path / "p.txt", [("a b.png", "c.png")])


def test_file_written_by_another_feature_is_refused(tmp_path):
    with io.ChunkedWriter(tmp_path / "f.h5", attrs={"feature": "sift"}) as writer:
        writer.file()
    io.check_attribute(tmp_path / "f.h5", "feature", "sift")
    with pytest.raises(ValueError, match="holds results of feature 'sift', not 'orb'"):
        io.check_attribute(tmp_path / "f.h5", "feature", "orb")
