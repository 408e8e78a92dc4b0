"""cxr.datasets.vindr on tiny label files in the official format (one row per reader, 'Brocho-' spelling)."""
from __future__ import annotations

from cxr.datasets import vindr
from tests.datasets.official_files import write_vindr


def test_readers_rows_merge_per_image_and_the_spelling_is_corrected(tmp_path):
    write_vindr(tmp_path, per_class=1)
    columns = ("No finding", "Broncho-pneumonia", "Pneumonia")
    train = vindr.read_image_labels(tmp_path / vindr.LABEL_FILES["train"], "train", columns)
    assert train.columns.tolist() == ["path", "patient_id", *columns]
    assert len(train) == 5 and train["path"].iloc[0] == f"train/{train['patient_id'].iloc[0]}.dicom"
    assert train[list(columns)].sum().tolist() == [1.0, 1.0, 1.0]         # the silent reader adds nothing
    test = vindr.read_image_labels(tmp_path / vindr.LABEL_FILES["test"], "test", columns)
    assert test["path"].str.startswith("test/").all()
