"""Output files of ``cxr label``: labels CSV, sentences Parquet, explain JSONL.

The labels CSV is rendered by hand: rows are sparse (a report mentions a handful of ~200 labels), so
joining precomputed cell strings is several times faster than building a DataFrame per chunk (see
bench/labeler_speed.py) and the bytes are fully determined by the values (no float formatting).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

CELL = {1: "1", 0: "0", -1: "-1", None: ""}
_NEEDS_QUOTES = (",", '"', "\n", "\r")


def csv_field(value: str) -> str:
    """RFC 4180 quoting, only when needed."""
    if any(ch in value for ch in _NEEDS_QUOTES) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_header(id_column: str, columns: Sequence[str]) -> str:
    return ",".join(csv_field(c) for c in (id_column, *columns)) + "\n"


def csv_row(report_id: str, cells: Sequence[int | None]) -> str:
    return csv_field(report_id) + "," + ",".join(map(CELL.__getitem__, cells)) + "\n"


def csv_text_row(report_id: str, cells: Sequence[str]) -> str:
    """A row whose cells are already strings (``Projector.render``)."""
    return csv_field(report_id) + "," + ",".join(cells) + "\n"


class SentenceWriter:
    """Appends one row group per chunk to ``sentences.parquet`` (bounded memory)."""

    def __init__(self, path: str | Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.schema = pa.schema([("id", pa.string()), ("sentence_index", pa.int32()),
                                 ("text", pa.string()), ("labels", pa.list_(pa.string()))])
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")

    def write(self, rows: list[tuple[str, int, str, list[str]]]) -> None:
        if not rows:
            return
        ids, idx, texts, labels = zip(*rows)
        table = self._pa.Table.from_arrays(
            [self._pa.array(ids, self._pa.string()), self._pa.array(idx, self._pa.int32()),
             self._pa.array(texts, self._pa.string()), self._pa.array(labels, self._pa.list_(self._pa.string()))],
            schema=self.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
