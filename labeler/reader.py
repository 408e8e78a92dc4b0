"""Report inputs, streamed in chunks: a CSV or Parquet table with id and text columns, or a folder of .txt.

Every problem the user can fix becomes one ``InputError`` naming the file, the row/line or the column,
raised before any output is published (the writers are atomic).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from cxr.core.errors import InputError
from cxr.core.registry import Registry

TABLE_SUFFIXES = {".csv": "csv", ".txt.csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class Chunk:
    first_row: int            # 0-based index of the chunk's first report in the input
    ids: list[str]
    texts: list[object]       # str, or None/NaN for a missing report


@dataclass
class ReportSource:
    """An opened, validated input: ``chunks()`` yields it in order; ``rows`` is known for some formats."""
    path: Path
    kind: str
    chunks: Callable[[], Iterator[Chunk]]
    rows: int | None = None


#: input kind -> opener
OPENERS: Registry[Callable[..., ReportSource]] = Registry("report input")


def input_kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix == ".gz" and len(path.suffixes) > 1:
        suffix = path.suffixes[-2].lower()
    kind = TABLE_SUFFIXES.get(suffix)
    if kind is None:
        raise InputError(f"{path}: unsupported input type {path.suffix or '(no suffix)'!r}; "
                         f"expected .csv, .tsv (optionally .gz), .parquet or a folder of .txt reports")
    return kind


def open_reports(path: str | os.PathLike, text_column: str = "report", id_column: str = "study_id",
                 chunk_size: int = 2000, encoding: str = "utf-8") -> ReportSource:
    """Open and validate ``path``. ``text_column`` may name several columns joined by commas; their
    texts are joined by blank lines (e.g. ``findings,impression`` of Open-i)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be at least 1, got {chunk_size}")
    kind = input_kind(path)
    texts = [c.strip() for c in text_column.split(",") if c.strip()]
    if not texts and kind != "folder":
        raise InputError("--text-column is empty")
    return OPENERS.get(kind)(path, texts, id_column, chunk_size, encoding)


def _check_columns(path: Path, available: list[str], texts: list[str], id_column: str) -> None:
    for role, col in [("id", id_column)] + [("text", t) for t in texts]:
        if col not in available:
            flag = "--id-column" if role == "id" else "--text-column"
            raise InputError(f"{path}: no {role} column {col!r} (choose one with {flag}); "
                             f"available columns: {', '.join(map(repr, available))}")


def _join_texts(columns: list[list[object]]) -> list[object]:
    if len(columns) == 1:
        return columns[0]
    out: list[object] = []
    for cells in zip(*columns):
        parts = [str(c) for c in cells if isinstance(c, str) and c.strip()]
        out.append("\n\n".join(parts) if parts else None)
    return out


def _id_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


# --- CSV / TSV ----------------------------------------------------------------------------------------
def _decode_problem(path: Path, encoding: str, exc: UnicodeDecodeError) -> InputError:
    """Find the first undecodable line so the message can point at it."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    if path.suffix.lower() == ".gz":
        import gzip
        open_binary = gzip.open
    else:
        open_binary = open
    with open_binary(path, "rb") as fh:
        for raw in fh:
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as err:
                return InputError(f"{path}: line {line}: bytes not valid {encoding} ({err.reason}, byte "
                                  f"{raw[err.start:err.start + 1]!r}); pass the file's encoding with "
                                  f"--encoding (e.g. --encoding latin-1)")
            line += 1
    return InputError(f"{path}: not valid {encoding} ({exc.reason}); pass the file's encoding with --encoding")


def _open_text(path: Path, encoding: str):
    try:
        # newline="" lets the csv module see the line breaks inside quoted reports
        if path.suffix.lower() == ".gz":
            import gzip
            return gzip.open(path, "rt", encoding=encoding, newline="")
        return open(path, encoding=encoding, newline="")
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r} (--encoding)") from None


def _read_header(path: Path, sep: str, encoding: str) -> list[str]:
    if path.stat().st_size == 0:
        raise InputError(f"{path}: input file is empty")
    with _open_text(path, encoding) as fh:
        try:
            header = next(csv.reader(fh, delimiter=sep), None)
        except UnicodeDecodeError as exc:
            raise _decode_problem(path, encoding, exc) from None
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{path}: input file is empty (no header row)")
    if header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return header


def _open_delimited(path: Path, texts: list[str], id_column: str, chunk_size: int, encoding: str,
                    sep: str, kind: str) -> ReportSource:
    """CSV/TSV through the csv module: streaming, every cell text (ids keep leading zeros, "NA" stays a
    word), and no pandas import, which alone costs more start-up time than labeling 1,000 reports."""
    header = _read_header(path, sep, encoding)
    _check_columns(path, header, texts, id_column)
    id_at = header.index(id_column)
    text_at = [header.index(t) for t in texts]

    def cell(row: list[str], i: int) -> str | None:
        value = row[i] if i < len(row) else None
        return value if value and value.strip() else None

    def chunks() -> Iterator[Chunk]:
        csv.field_size_limit(2**31 - 1)   # a report may be megabytes long
        with _open_text(path, encoding) as fh:
            reader = csv.reader(fh, delimiter=sep)
            first, ids, cols = 0, [], [[] for _ in texts]
            try:
                next(reader)
                for row in reader:
                    if not row:
                        continue          # a blank line is not a report
                    ids.append(row[id_at] if id_at < len(row) else "")
                    for col, i in zip(cols, text_at):
                        col.append(cell(row, i))
                    if len(ids) == chunk_size:
                        yield Chunk(first, ids, _join_texts(cols))
                        first, ids, cols = first + len(ids), [], [[] for _ in texts]
            except UnicodeDecodeError as exc:
                raise _decode_problem(path, encoding, exc) from None
            except csv.Error as exc:
                raise InputError(f"{path}: line {reader.line_num}: malformed {kind.upper()}: {exc}") from None
            if ids:
                yield Chunk(first, ids, _join_texts(cols))
    return ReportSource(path, kind, chunks)


@OPENERS.register("csv")
def _open_csv(path, texts, id_column, chunk_size, encoding) -> ReportSource:
    return _open_delimited(path, texts, id_column, chunk_size, encoding, ",", "csv")


@OPENERS.register("tsv")
def _open_tsv(path, texts, id_column, chunk_size, encoding) -> ReportSource:
    return _open_delimited(path, texts, id_column, chunk_size, encoding, "\t", "tsv")


# --- Parquet ------------------------------------------------------------------------------------------
@OPENERS.register("parquet")
def _open_parquet(path, texts, id_column, chunk_size, encoding) -> ReportSource:
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        raise InputError(f"{path}: input file is empty")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    _check_columns(path, pf.schema_arrow.names, texts, id_column)
    usecols = list(dict.fromkeys([id_column, *texts]))

    def chunks() -> Iterator[Chunk]:
        first = 0
        for batch in pf.iter_batches(batch_size=chunk_size, columns=usecols):
            data = {name: batch.column(i).to_pylist() for i, name in enumerate(batch.schema.names)}
            ids = [_id_text(v) for v in data[id_column]]
            cols = [[v if isinstance(v, str) else None for v in data[c]] for c in texts]
            yield Chunk(first, ids, _join_texts(cols))
            first += batch.num_rows
    return ReportSource(path, "parquet", chunks, rows=pf.metadata.num_rows)


# --- folder of .txt reports (MIMIC-CXR layout: files/p10/p10000032/s50414267.txt) ---------------------
@OPENERS.register("folder")
def _open_folder(path, texts, id_column, chunk_size, encoding) -> ReportSource:
    files = sorted(p for p in path.rglob("*.txt") if p.is_file())
    if not files:
        raise InputError(f"{path}: folder has no .txt reports (searched recursively)")

    def read(p: Path) -> str:
        try:
            return p.read_bytes().decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(f"{p}: byte {exc.start} is not valid {encoding} ({exc.reason}); pass the "
                             f"files' encoding with --encoding (e.g. --encoding latin-1)") from None
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r} (--encoding)") from None

    def chunks() -> Iterator[Chunk]:
        for first in range(0, len(files), chunk_size):
            part = files[first:first + chunk_size]
            yield Chunk(first, [p.stem for p in part], [read(p) for p in part])
    return ReportSource(path, "folder", chunks, rows=len(files))
