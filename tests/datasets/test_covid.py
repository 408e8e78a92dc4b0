"""cxr.datasets.covid on a tiny database folder in the official layout."""
from __future__ import annotations

from cxr.datasets import covid
from tests.datasets.official_files import write_covid


def test_class_folders_without_the_masks(tmp_path):
    base = write_covid(tmp_path, per_class=2)
    assert covid.find_root(tmp_path) == base and covid.find_root(base) == base
    assert covid.find_root(base / "COVID") is None
    images = covid.list_images(base)
    assert len(images) == 8 and not images["path"].str.contains("masks").any()
    assert images.iloc[0].tolist() == ["Normal/images/Normal-1.png", "Normal", "Normal-1"]
    assert set(images["folder"]) == set(covid.CLASS_FOLDERS)
