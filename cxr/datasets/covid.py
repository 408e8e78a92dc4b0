"""COVID-19 Radiography Database: PNG radiographs in four class folders (COVID-19, normal, lung opacity,
viral pneumonia), gathered from several public sources.

Citation: Chowdhury MEH, Rahman T, Khandakar A, et al. "Can AI help in screening viral and COVID-19
pneumonia?" IEEE Access 8:132665-132676 (2020); Rahman T, Khandakar A, Qiblawey Y, et al. "Exploring the
effect of image enhancement techniques on COVID-19 detection using chest X-ray images." Computers in
Biology and Medicine 132:104319 (2021).
Download: https://www.kaggle.com/datasets/tawsifurrahman/covid19-radiography-database

Layout (the class folders are the official labels; images directly in each class folder or in its
``images/`` sub-folder, lung masks in ``masks/``)::

    COVID-19_Radiography_Dataset/
        COVID/images/COVID-1.png ...
        Normal/images/Normal-1.png ...
        Lung_Opacity/images/Lung_Opacity-1.png ...
        Viral Pneumonia/images/Viral Pneumonia-1.png ...

Path template: ``{class folder}/images/{file}`` as found. Patient id: the file name without suffix; the
database publishes no patient ids, so each image is its own patient (a known limitation: the COVID folder
gathers sources that may hold more than one image of a person).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.datasets.registry import register_dataset

NAME = register_dataset("covid-radiography", "COVID-19 Radiography Database", __name__)
CLASS_FOLDERS = ("Normal", "COVID", "Viral Pneumonia", "Lung_Opacity")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def find_root(path: Path) -> Path | None:
    """The database folder: ``path`` itself or one of its sub-folders, holding every class folder."""
    children = [c for c in sorted(path.iterdir()) if c.is_dir()] if path.is_dir() else []
    for candidate in (path, *children):
        if candidate.is_dir() and all((candidate / f).is_dir() for f in CLASS_FOLDERS):
            return candidate
    return None


def list_images(root: Path) -> pd.DataFrame:
    """One row per image (masks left out): path (relative to ``root``), folder (the class), patient_id."""
    rows = [(f.relative_to(root).as_posix(), folder, f.stem)
            for folder in CLASS_FOLDERS for f in sorted((root / folder).rglob("*"))
            if f.suffix.lower() in IMAGE_SUFFIXES and "mask" not in f.parent.name.lower()]
    return pd.DataFrame(rows, columns=["path", "folder", "patient_id"])
