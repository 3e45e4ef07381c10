"""Atomic writes and file fingerprints."""

import hashlib

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
