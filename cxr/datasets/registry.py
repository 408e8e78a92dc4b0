"""How a dataset module registers its canonical name: the one spelling every stage uses for a dataset.

Pre-training sources write it into a manifest's ``source`` column and evaluation tasks declare by it
the dataset they draw from, so leakage checks compare names exactly. Ask ``cxr.datasets.catalog``, which
imports every dataset module, whether a name is registered: ``DATASETS`` here holds only the modules
imported so far.
"""
from __future__ import annotations

from dataclasses import dataclass

from cxr.core.registry import Registry


@dataclass(frozen=True)
class Dataset:
    name: str       # canonical name, e.g. "mimic-cxr"
    title: str      # what people call it, shown when a name is rejected
    module: str     # the module documenting its citation, download page and file layout


DATASETS: Registry[Dataset] = Registry("dataset")


def register_dataset(name: str, title: str, module: str) -> str:
    """Register a dataset module under its canonical name; returns the name (the module's ``NAME``)."""
    DATASETS.register(name)(Dataset(name, title, module))
    return name

