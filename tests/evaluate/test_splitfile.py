"""The user-task split format: validated on load, hashed by content."""
from __future__ import annotations

import pytest

from cxr.evaluate.splitfile import read_split
from cxr.core.errors import InputError

GOOD = "path,label,split,patient_id\na.png,x,train,1\nb.png,y,train,2\nc.png,x,test,3\nd.png,y,test,4\n"


def _write(tmp_path, text):
    p = tmp_path / "s.csv"
    p.write_text(text)
    return p


def test_reads_classes_parts_and_hash(tmp_path):
    s = read_split(_write(tmp_path, GOOD))
    assert s.classes == ["x", "y"] and s.labels("test").tolist() == [0, 1]
    assert s.class_counts("train") == {"x": 1, "y": 1} and len(s.sha256) == 64


def test_patient_id_is_optional(tmp_path):
    s = read_split(_write(tmp_path, "path,label,split\na.png,x,train\nb.png,y,train\nc.png,x,test\nd.png,y,test\n"))
    assert (s.frame["patient_id"] == "").all()


@pytest.mark.parametrize("text,match", [
    ("path,label\na,x\n", r"missing column\(s\) \['split'\]"),
    (GOOD.replace("c.png,x,test", "c.png,x,valid"), "must be train or test"),
    (GOOD.replace("c.png,x,test,3", "c.png,x,test,1"), r"1 patient\(s\) appear in both train and test, e.g. \['1'\]"),
    (GOOD.replace("d.png", "a.png"), "listed twice"),
    (GOOD.replace("d.png,y,test", "d.png,z,test"), r"\['z'\] have test rows but no train rows"),
    ("path,label,split\n", "no rows"),
    ("path,label,split\na.png,x,train\nb.png,x,test\n", r"a task needs at least two classes; this split has only \['x'\]"),
])
def test_bad_split_files(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        read_split(_write(tmp_path, text))
