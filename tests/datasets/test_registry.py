"""Every public dataset has one module, registered under the one name every stage uses for it."""
from __future__ import annotations

import sys

from cxr.datasets.catalog import DATASETS, registered_names, unregistered
from cxr.evaluate.tasks import TASKS, get_task
from cxr.pretrain.data.sources import SOURCES

NAMES = {"mimic-cxr", "chexpert", "padchest", "chestxray14", "rsna", "siim", "covid-radiography", "vindr-pcxr"}


def test_each_dataset_module_documents_citation_download_and_layout():
    assert set(DATASETS.names()) == NAMES
    for name in DATASETS:
        module = sys.modules[DATASETS.get(name).module]
        assert module.NAME == name
        doc = module.__doc__
        assert "Citation:" in doc and "Download" in doc and "https://" in doc and "Layout" in doc, name
        assert "Patient id" in doc and "Path template" in doc, name


def test_sources_and_tasks_use_registered_names():
    assert not unregistered(n for n in SOURCES if n != "manifest")   # the generic reader is no dataset
    assert not unregistered(get_task(t).dataset for t in TASKS)
    assert "mimic-cxr (MIMIC-CXR-JPG)" in registered_names()
    assert unregistered(["mimic", "nih", "mimic-cxr"]) == ["mimic", "nih"]
