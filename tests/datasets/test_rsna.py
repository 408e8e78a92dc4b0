"""cxr.datasets.rsna on tiny challenge files in the official format."""
from __future__ import annotations

from cxr.datasets import rsna
from tests.datasets.official_files import write_rsna


def test_box_rows_become_one_row_per_image(tmp_path):
    write_rsna(tmp_path, n_pneumonia=2, n_normal=1, n_other=1)
    images = rsna.read_train_labels(tmp_path / rsna.TRAIN_LABELS[0])
    assert images["patient_id"].tolist() == ["norm-0000", "other-0000", "pneu-0000", "pneu-0001"]
    assert images["target"].tolist() == [0.0, 0.0, 1.0, 1.0]                  # two boxes, one image
    assert images["path"].iloc[0] == "stage_2_train_images/norm-0000.dcm"
    detail = rsna.read_detailed_classes(tmp_path / rsna.DETAILED_CLASSES[0])
    assert set(detail.loc[detail["class"] == rsna.NORMAL, "patient_id"]) == {"norm-0000"}
