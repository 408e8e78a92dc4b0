"""cxr.datasets.siim on a tiny train-rle.csv in the official format (' EncodedPixels' header)."""
from __future__ import annotations

from cxr.datasets import siim
from tests.datasets.official_files import write_siim


def test_mask_rows_become_one_row_per_image(tmp_path):
    write_siim(tmp_path, n_pos=2, n_neg=1)
    images = siim.read_masks(tmp_path / siim.TRAIN_RLE[0])
    assert len(images) == 3 and images["path"].is_unique                      # image 1 has two masks
    assert images["has_mask"].tolist() == [True, True, False]
    assert images["path"].iloc[0] == f"{images['patient_id'].iloc[0]}.dcm"
