"""Every dataset module, imported, and the questions asked of their names.

A name that is not registered is an error wherever names are compared, never a guess that 'mimic',
'MIMIC-CXR-JPG' and 'mimic-cxr' are one dataset: a wrong guess would silently compare nobody.
"""
from __future__ import annotations

from typing import Iterable

from cxr.datasets import chestxray14, chexpert, covid, mimic_cxr, padchest, rsna, siim, vindr  # noqa: F401
from cxr.datasets.registry import DATASETS

__all__ = ["DATASETS", "registered_names", "unregistered"]


def unregistered(names: Iterable[str]) -> list[str]:
    """The names (sorted) that are not canonical dataset names."""
    return sorted({str(n) for n in names} - set(DATASETS))


def registered_names() -> str:
    """'chestxray14 (NIH ChestX-ray14), chexpert (CheXpert), ...' for error messages."""
    return ", ".join(f"{n} ({DATASETS.get(n).title})" for n in sorted(DATASETS))
