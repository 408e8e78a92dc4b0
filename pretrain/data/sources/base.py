"""The source-dataset registry: ``@register_source("name")`` readers that return a ``SourceFrame``.

A reader turns one public dataset's official files, read through its ``cxr.datasets`` module, into
manifest rows (path, patient_id, study_id, source, view, optional report/sentences) plus label columns
in that dataset's own vocabulary. Its name, written to the manifest's ``source`` column, is the
dataset's registered name, which the evaluation's leakage check compares exactly.
``pretrain.data.labelspace.build_label_matrix`` then maps every source onto one training label space.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from cxr.core.errors import InputError
from cxr.core.registry import Registry


@dataclass
class SourceFrame:
    """One dataset's rows. ``label_columns`` are named in ``vocabulary`` (an ontology vocabulary);
    NaN = not mentioned. Every label column counts as annotated for every row unless the frame has a
    ``not_annotated`` column ('|'-joined names)."""
    name: str
    frame: pd.DataFrame
    label_columns: list[str]
    vocabulary: str
    warnings: list[str] = field(default_factory=list)


Reader = Callable[..., SourceFrame]
SOURCES: Registry[Reader] = Registry("source")
register_source = SOURCES.register


def source_options(name: str) -> list[str]:
    """The keyword options a reader accepts (shown in CLI errors)."""
    params = inspect.signature(SOURCES.get(name)).parameters.values()
    return [p.name for p in params if p.kind == p.KEYWORD_ONLY and p.name != "onto"]


def read_source(name: str, root: str | Path, onto, **options) -> SourceFrame:
    """Run the reader registered as ``name`` on ``root`` (a folder or file, per reader)."""
    if name not in SOURCES:
        raise InputError(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}")
    accepted = source_options(name)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise InputError(f"source {name!r} has no option(s) {', '.join(unknown)}; "
                         f"it accepts: {', '.join(accepted) or 'none'}")
    return SOURCES.get(name)(Path(root), onto=onto, **options)


def rows(name: str, table: pd.DataFrame, root: Path) -> pd.DataFrame:
    """The manifest's id columns for a dataset module's frame: its relative paths resolved against
    ``root``, ``source`` = the dataset's registered ``name``."""
    return pd.DataFrame({
        "path": [str(root / p) for p in table["path"]],
        "patient_id": table["patient_id"].to_numpy(),
        "study_id": table["study_id"].to_numpy(),
        "source": name,
        "view": table["view"].to_numpy(),
    })
