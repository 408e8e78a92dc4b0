"""COVID: Normal vs COVID vs non-COVID pneumonia vs Lung Opacity.

Dataset: COVID-19 Radiography Database, read through ``cxr.datasets.covid`` (citation, download page,
file layout). ``--metadata`` or ``--images`` = the database folder (or the folder holding it).

Labels: the class folders (Viral Pneumonia is named non-COVID pneumonia). Each image is its own patient:
the database publishes no patient ids.
"""
from __future__ import annotations

from cxr.core.errors import InputError
from cxr.datasets import covid
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame

#: class folder -> class
FOLDERS = {"Normal": "Normal", "COVID": "COVID", "Viral Pneumonia": "non-COVID pneumonia",
           "Lung_Opacity": "Lung Opacity"}


@TASKS.register("covid")
class CovidRadiography(BenchmarkTask):
    name = "covid"
    classes = ("Normal", "COVID", "non-COVID pneumonia", "Lung Opacity")
    quota = Quota(train_per_class=300, test_per_class=1000)
    dataset = covid.NAME

    def locate(self, paths):
        for p in paths:
            root = covid.find_root(p)
            if root is not None:
                return {"root": root}
        raise InputError(f"task 'covid' needs the COVID-19 Radiography Database folder (with "
                         f"{', '.join(covid.CLASS_FOLDERS)} sub-folders); not found in: "
                         f"{', '.join(map(str, paths)) or 'nothing (pass --metadata or --images DIR)'}")

    def candidates(self, files, images):
        table = covid.list_images(files["root"])
        return candidates_frame(table["path"], table["folder"].map(FOLDERS), table["patient_id"],
                                ["any"] * len(table))
