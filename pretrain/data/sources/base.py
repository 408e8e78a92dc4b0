"""The source-dataset registry: ``@register_source("name")`` readers that return a ``SourceFrame``.

A reader turns one public dataset's official files into manifest rows (path, patient_id, study_id,
source, view, optional report/sentences) plus label columns in that dataset's own vocabulary.
``pretrain.data.labelspace.build_label_matrix`` then maps every source onto one training label space.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from cxr.core.errors import InputError

FRONTAL_VIEWS = ("PA", "AP")


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
SOURCES: dict[str, Reader] = {}


def register_source(name: str) -> Callable[[Reader], Reader]:
    def decorate(reader: Reader) -> Reader:
        if name in SOURCES:
            raise ValueError(f"source {name!r} registered twice")
        SOURCES[name] = reader
        return reader
    return decorate


def source_options(name: str) -> list[str]:
    """The keyword options a reader accepts (shown in CLI errors)."""
    params = inspect.signature(SOURCES[name]).parameters.values()
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
    return SOURCES[name](Path(root), onto=onto, **options)


def require_columns(table: pd.DataFrame, columns: tuple[str, ...] | list[str], where: str | Path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)}; "
                         f"columns present: {', '.join(map(str, table.columns))}")


def find_file(root: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``names`` present in ``root`` (official files come plain or gzipped)."""
    for name in names:
        if (root / name).is_file():
            return root / name
    raise InputError(f"{root}: {what} not found (looked for {', '.join(names)})")


def read_csv_text(path: Path) -> pd.DataFrame:
    """An official CSV with every cell as text (ids keep their zeros), empty cells as NaN."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse as CSV: {exc}") from None
