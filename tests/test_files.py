"""Atomic writes and file fingerprints."""

import hashlib
import os
from pathlib import Path

import pytest

from ivig_kit.files import file_sha256, write_atomically


def test_write_atomically_replaces_and_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = write_atomically(tmp_path / "report.html", "good")
    assert path.read_text() == "good"
    monkeypatch.setattr("os.fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, "half")
    assert path.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(b"site,patient_id\nA,007\n")
    assert file_sha256(path) == hashlib.sha256(b"site,patient_id\nA,007\n").hexdigest()


def test_check_output_path_accepts_a_new_path_and_a_regular_file(tmp_path):
    from ivig_kit.files import check_output_path

    assert check_output_path(tmp_path / "new" / "scores.csv") == tmp_path / "new" / "scores.csv"
    (tmp_path / "old.csv").write_text("x")
    assert check_output_path(tmp_path / "old.csv", inputs=[tmp_path / "visits.csv"]) == tmp_path / "old.csv"


def test_check_output_path_refuses_the_input_itself_even_through_another_name(tmp_path):
    from ivig_kit.errors import InputError
    from ivig_kit.files import check_output_path

    visits = tmp_path / "visits.csv"
    visits.write_text("site\n")
    os.link(visits, tmp_path / "hardlink.csv")
    for name in (visits, tmp_path / "." / "visits.csv", tmp_path / "hardlink.csv"):
        with pytest.raises(InputError, match=r"is the input file .*visits.csv; refusing to overwrite an input"):
            check_output_path(name, inputs=[visits])


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "folder", "device"])
def test_check_output_path_refuses_anything_but_a_regular_file(tmp_path, kind):
    from ivig_kit.errors import InputError
    from ivig_kit.files import check_output_path

    target = tmp_path / "target.csv"
    target.write_text("keep me")
    path = tmp_path / "out.csv"
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "dangling symlink":
        path.symlink_to(tmp_path / "nowhere.csv")
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path(os.devnull)
    expected = {
        "symlink": "is a symbolic link",
        "dangling symlink": "is a symbolic link",
        "folder": "is a folder",
        "device": "is not a regular file",
    }[kind]
    with pytest.raises(InputError, match=expected):
        check_output_path(path)
    with pytest.raises(InputError, match=expected):
        write_atomically(path, "replaced")
    assert target.read_text() == "keep me" and Path(os.devnull).is_char_device()
    assert not list(tmp_path.glob(".*partial*"))


def test_two_writers_to_one_path_get_distinct_temporary_files(tmp_path):
    from ivig_kit.files import atomic_output

    with atomic_output(tmp_path / "scores.csv") as first, atomic_output(tmp_path / "scores.csv") as second:
        assert first != second and first.parent == second.parent == tmp_path
        first.write_text("first")
        second.write_text("second")
    assert (tmp_path / "scores.csv").read_text() == "first"  # the outer one renamed last
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_an_interrupted_write_leaves_nothing_behind(tmp_path):
    from ivig_kit.files import atomic_output

    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "scores.csv") as partial:
        partial.write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
