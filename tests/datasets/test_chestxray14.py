"""cxr.datasets.chestxray14: the Data_Entry file and the NIH-CXR-LT label files, official format."""
from __future__ import annotations

from cxr.datasets import chestxray14
from tests.datasets.official_files import write_data_entry, write_nih_lt


def test_data_entry(tmp_path):
    frame = chestxray14.read_data_entry(write_data_entry(tmp_path), image_dir="png")
    assert frame["path"].iloc[0] == "png/00000001_000.png" and frame["study_id"].iloc[0] == "00000001_000.png"
    assert frame["patient_id"].tolist() == ["1", "1", "2", "3"] and frame["view"].iloc[2] == "AP"
    assert frame["findings"].tolist() == [["Cardiomegaly"], ["Cardiomegaly", "Effusion"], ["No Finding"],
                                          ["Pleural_Thickening", "Hernia"]]


def test_long_tail_labels_and_their_patient_ids(tmp_path):
    path = write_nih_lt(tmp_path, per_class=2) / chestxray14.LONG_TAIL_TRAIN
    frame = chestxray14.read_long_tail(path)
    assert frame.columns.tolist() == ["path", "patient_id", *chestxray14.LONG_TAIL_CLASSES]
    assert frame["path"].iloc[0] == "images/00000000_000.png" and frame["patient_id"].iloc[0] == "00000000"
    assert frame["Pleural Thickening"].sum() == 2                       # the file's Pleural_Thickening
    no_subject = tmp_path / "no_subject.csv"
    text = path.read_text().splitlines()
    no_subject.write_text("\n".join(line.rsplit(",", 1)[0] for line in text) + "\n")
    by_entry = chestxray14.read_long_tail(no_subject, {"00000000_000.png": "0"})
    assert by_entry["patient_id"].tolist()[:3] == ["0", "00000000", "00000100"]   # Data_Entry, else the name
