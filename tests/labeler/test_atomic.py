"""Atomic outputs: a failure inside the block leaves neither the target nor a temp file."""
import pytest

from cxr.core.atomic import OutputPathError, atomic_open, atomic_write_text


def test_success_publishes_file(tmp_path):
    atomic_write_text(tmp_path / "a.csv", "x\n")
    assert (tmp_path / "a.csv").read_text() == "x\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_failure_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_missing_folder_is_reported_before_work(tmp_path):
    with pytest.raises(OutputPathError, match="output folder does not exist"):
        with atomic_open(tmp_path / "nope" / "a.csv"):
            pass


def test_published_file_follows_umask_not_mkstemp_0600(tmp_path):
    import os
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "shared.csv", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.csv").stat().st_mode & 0o777 == 0o644
