"""Finding and reading the official files: every official CSV goes through ``read_csv_text``.

Cells stay text, so ids keep their leading zeros ('00001280'); empty cells are NaN. Column names are
stripped because some official headers carry stray spaces (SIIM's ' EncodedPixels').
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from cxr.core.errors import InputError


def read_csv_text(path: str | Path, required: Iterable[str] = ()) -> pd.DataFrame:
    """An official CSV (plain or .gz) with every cell as text, empty cells as NaN, and the ``required``
    columns (an error names the missing ones)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    require_columns(frame, required, path)
    return frame


def require_columns(table: pd.DataFrame, columns: Iterable[str], where: str | Path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)}; is this the right official "
                         f"file? Columns present: {', '.join(map(str, table.columns))}")


def find_file(root: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``names`` present in ``root`` (official files come plain or gzipped)."""
    for name in names:
        if (root / name).is_file():
            return root / name
    raise InputError(f"{root}: {what} not found (looked for {', '.join(names)})")
