"""COVID: Normal vs COVID vs non-COVID pneumonia vs Lung Opacity.

Dataset: COVID-19 Radiography Database (Chowdhury et al., "Can AI help in screening viral and COVID-19
pneumonia?", IEEE Access 2020; Rahman et al., Comput. Biol. Med. 2021). Download:
https://www.kaggle.com/datasets/tawsifurrahman/covid19-radiography-database

Expected layout (``--metadata`` or ``--images`` = the database folder; the class folders are the
official labels; images directly in each class folder or in its ``images/`` sub-folder)::

    COVID-19_Radiography_Dataset/
        COVID/images/COVID-1.png ...              -> COVID
        Normal/images/Normal-1.png ...            -> Normal
        Lung_Opacity/images/Lung_Opacity-1.png    -> Lung Opacity
        Viral Pneumonia/images/Viral Pneumonia-1.png -> non-COVID pneumonia

The database publishes no patient ids, so each image is its own patient (a known limitation: the COVID
class gathers several public sources that may hold more than one image of a person).
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.errors import InputError

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame

FOLDERS = {"Normal": "Normal", "COVID": "COVID", "Viral Pneumonia": "non-COVID pneumonia",
           "Lung_Opacity": "Lung Opacity"}
_SUFFIXES = {".png", ".jpg", ".jpeg"}


@TASKS.register("covid")
class CovidRadiography(BenchmarkTask):
    name = "covid"
    classes = ("Normal", "COVID", "non-COVID pneumonia", "Lung Opacity")
    quota = Quota(train_per_class=300, test_per_class=1000)
    sources = ("covid-radiography", "covid19-radiography")

    def locate(self, paths):
        for p in paths:
            root = _database_root(p)
            if root is not None:
                return {"root": root}
        raise InputError(f"task 'covid' needs the COVID-19 Radiography Database folder (with "
                         f"{', '.join(FOLDERS)} sub-folders); not found in: "
                         f"{', '.join(map(str, paths)) or 'nothing (pass --metadata or --images DIR)'}")

    def candidates(self, files, images):
        root = files["root"]
        rows = []
        for folder, label in FOLDERS.items():
            for f in sorted((root / folder).rglob("*")):
                if f.suffix.lower() in _SUFFIXES and "mask" not in f.parent.name.lower():
                    rel = f.relative_to(root).as_posix()
                    rows.append((rel, label, f.stem))
        paths, labels, patients = zip(*rows) if rows else ((), (), ())
        return candidates_frame(paths, labels, patients, ["any"] * len(rows))


def _database_root(p: Path) -> Path | None:
    for candidate in (p, *([c for c in sorted(p.iterdir()) if c.is_dir()] if p.is_dir() else [])):
        if candidate.is_dir() and all((candidate / f).is_dir() for f in FOLDERS):
            return candidate
    return None
