"""The command line as a user first meets it: shared argument types (cvlearned.cli_args),
one-line errors before any work, --debug, --version, help texts, did-you-mean names."""

from __future__ import annotations

import argparse
import io
import re

import numpy as np
import pytest

import cvlearned
from cvlearned import cli_args
from cvlearned.cli import TRAINERS, build_parser, main


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``cvlearned argv``, expect an argparse usage error (exit 2); its error line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


# ----------------------------------------------------------------------------- argument types


def test_camera_matrix_forms() -> None:
    np.testing.assert_array_equal(cli_args.camera_matrix("100,110,50,40"), [[100, 0, 50], [0, 110, 40], [0, 0, 1]])
    K = cli_args.camera_matrix("100 0 50  0 110 40  0 0 1")
    assert K.shape == (3, 3) and K[1, 2] == 40
    np.testing.assert_array_equal(cli_args.camera_matrix("100,0,50,0,110,40,0,0,1"), K)


@pytest.mark.parametrize(("text", "message"), [
    ("1,2,3", "expected 4 values fx,fy,cx,cy or 9"),
    ("a,b,c,d", "'a' is not a number"),
    ("0,100,50,40", "positive focal lengths"),
    ("100,0,50,0,110,40,0,1,1", "last row 0,0,1"),
    ("100,nan,50,40", "finite"),
])
def test_camera_matrix_errors(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
        cli_args.camera_matrix(text)


def test_distortion() -> None:
    np.testing.assert_array_equal(cli_args.distortion("-0.1,0.01,0,0"), [-0.1, 0.01, 0, 0])
    assert cli_args.distortion("0.1, 0, 0, 0, 0.2").shape == (5,)
    with pytest.raises(argparse.ArgumentTypeError, match="4 or 5 values k1,k2,p1,p2"):
        cli_args.distortion("0.1,0.2")


def test_feature_names_are_canonical_and_checked() -> None:
    assert cli_args.feature_name(" SIFT") == "sift"
    assert cli_args.feature_list("sift, ORB") == ["sift", "orb"]
    with pytest.raises(argparse.ArgumentTypeError, match="empty feature name in 'sift,'"):
        cli_args.feature_list("sift,")
    with pytest.raises(argparse.ArgumentTypeError, match="listed twice: sift"):
        cli_args.feature_list("sift,orb,Sift")
    with pytest.raises(argparse.ArgumentTypeError, match="did you mean 'akaze'"):
        cli_args.feature_list("sift,akaz")


@pytest.mark.parametrize(("typo", "suggestion"), [("akaz", "akaze"), ("SIFT_", "sift"),
                                                  ("superpoint_lite", "superpoint-lite")])
def test_unknown_feature_suggests_the_closest_name(typo: str, suggestion: str) -> None:
    if suggestion not in cvlearned.list_features():
        pytest.skip(f"{suggestion} is not registered (its weights do not ship)")
    with pytest.raises(ValueError, match=f"unknown feature '{typo}'; did you mean '{suggestion}'"):
        cvlearned.create(typo)


def test_unknown_feature_without_close_name_lists_all() -> None:
    with pytest.raises(ValueError) as info:
        cvlearned.create("surf")
    assert "did you mean" not in str(info.value) and "registered features: akaze, brisk" in str(info.value)


@pytest.mark.parametrize(("text", "value"), [("640x480", (640, 480)), (" 32X16 ", (32, 16))])
def test_image_size(text: str, value: tuple[int, int]) -> None:
    assert cli_args.image_size(text) == value


@pytest.mark.parametrize("text", ["640", "0x480", "640x", "axb", "-3x4"])
def test_image_size_errors(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected WxH"):
        cli_args.image_size(text)


@pytest.mark.parametrize("text", ["0", "-2", "1.5", "x"])
def test_positive_int_errors(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="positive integer"):
        cli_args.positive_int(text)


def test_labelled_feature_checks_the_name() -> None:
    assert cli_args.labelled_feature("few=ORB:max_keypoints=10") == ("few", "orb", {"max_keypoints": 10})
    with pytest.raises(argparse.ArgumentTypeError, match="did you mean 'orb'"):
        cli_args.labelled_feature("few=orv")


@pytest.mark.parametrize(("spec", "message"), [
    ("synthetic-scene", "did you mean 'synthetic-scenes'"),
    ("synthetic-scenes:layot=room", "unknown option(s) ['layot'] for synthetic-scenes"),
    ("synthetic-homography:split", "options are key=value"),
    ("pairs", "needs a path: pairs:PATH"),
    ("pairs:/nonexistent/folder", "does not exist"),
])
def test_dataset_spec_errors(spec: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
        cli_args.dataset_spec(spec)


def test_default_camera_matrix_and_its_note() -> None:
    K = cli_args.default_camera_matrix(40, 20)
    np.testing.assert_array_equal(K, [[48, 0, 19.5], [0, 48, 9.5], [0, 0, 1]])
    assert cli_args.assumed_intrinsics_note(K).startswith("no --K given: assuming fx=fy=48, cx=19.5, cy=9.5")


def test_show_progress_follows_the_flag_and_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert cli_args.show_progress(False) is False  # not a terminal
    monkeypatch.setattr("sys.stderr", Terminal())
    assert cli_args.show_progress(False) is True
    assert cli_args.show_progress(True) is False


def test_plain_text_drops_rest_markup() -> None:
    doc = "Pairs (:mod:`cvlearned.training.patches.patch_pairs`, :func:`~a.b.mine`) in ``--out``."
    assert cli_args.plain_text(doc) == "Pairs (cvlearned.training.patches.patch_pairs, mine) in --out."


# ----------------------------------------------------------------------------- cvlearned command


@pytest.mark.parametrize(("argv", "message"), [
    (["demo", "--K", "1,2,3"], "argument --K: expected 4 values"),
    (["demo", "--features", "sift,hardnet,superpont"], "did you mean 'superpoint'"),
    (["demo", "--features", "sift,"], "empty feature name in 'sift,'"),
    (["demo", "--max-keypoints", "0"], "positive integer"),
    (["bench", "--dataset", "pairs:/nonexistent"], "dataset path /nonexistent does not exist"),
    (["bench", "--size", "640"], "argument --size: expected WxH"),
    (["bench", "--extra", "x=sfit"], "did you mean 'sift'"),
    (["data", "download", "hpatchess", "--dir", "d"], "invalid choice: 'hpatchess'"),
])
def test_mistakes_are_one_line_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str],
                                            message: str) -> None:
    line = usage_error(capsys, argv)
    assert line.startswith(f"cvlearned {argv[0]}") and ": error: " in line and message in line


def test_errors_while_running_are_one_line_with_exit_1(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    images = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert main(["demo", *images]) == 1
    assert capsys.readouterr().err == f"cvlearned: error: image file not found: {images[0]}\n"
    assert main(["demo", "--K", "500,500,320,240"]) == 1  # the rendered pair has its own K
    assert "describe your images" in capsys.readouterr().err
    assert main(["demo", *images, "--dist", "0.1,0,0,0"]) == 1
    assert "--dist needs --K" in capsys.readouterr().err


@pytest.mark.parametrize("debug_first", [True, False])
def test_debug_shows_the_traceback(tmp_path, debug_first: bool) -> None:
    images = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    argv = ["--debug", "demo", *images] if debug_first else ["demo", *images, "--debug"]
    with pytest.raises(FileNotFoundError, match="image file not found"):
        main(argv)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"cvlearned {cvlearned.__version__} (OpenCV {cv2.__version__}, torch ")


@pytest.mark.parametrize("model", sorted(TRAINERS))
def test_train_help_names_the_command_without_markup(capsys: pytest.CaptureFixture[str], model: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", model, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: cvlearned train {model} ")
    assert "``" not in text and ":mod:" not in text and "/work/" not in text and "shared/" not in text


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: sub for a in actions for name, sub in a.choices.items()}


def test_every_option_has_help_and_defaults_show(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _subparsers(build_parser())
    commands.update({f"data {k}": v for k, v in _subparsers(commands["data"]).items()})
    for name, parser in commands.items():
        for action in parser._actions:
            assert action.help, f"cvlearned {name} {action.option_strings or action.dest} has no help"
    bench = commands["bench"].format_help()
    assert "(default: synthetic-scenes)" in bench and "(default: ransac)" in bench
    assert "(default: None)" not in bench and "(default: False)" not in bench
    assert "(default: 2048)" in commands["demo"].format_help()


def test_features_table_is_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features"]) == 0
    rows = capsys.readouterr().out.splitlines()
    kinds = {row.index(" classical ") if " classical " in row else row.index(" learned ") for row in rows}
    assert len(rows) == len(cvlearned.list_features()) and len(kinds) == 1


def test_demo_user_pair_carries_K_and_distortion(tmp_path) -> None:
    import cv2

    from cvlearned.demo import user_pair

    paths = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    for path in paths:
        cv2.imwrite(path, np.zeros((20, 40, 3), np.uint8))
    K, D = cli_args.camera_matrix("30,30,19.5,9.5"), cli_args.distortion("-0.1,0.01,0,0")
    pair = user_pair(paths, K, D)
    np.testing.assert_array_equal(pair.K0, K)
    np.testing.assert_array_equal(pair.D0, D)
    np.testing.assert_array_equal(pair.D1, D)
    assumed = user_pair(paths, None)
    np.testing.assert_array_equal(assumed.K1, cli_args.default_camera_matrix(40, 20))
    assert not assumed.D0.any()
