"""The on-disk layout of a ``cxr prepare`` cache folder, shared by the writer and the reader.

::

    CACHE/
      images.u8        raw uint8, C order, shape meta["images"]["shape"] = [N, S, S]
      index.parquet    one row per manifest row kept: row, path, patient_id, study_id, source,
                       view, split, status, label columns, not_annotated, report, sentences
      failures.csv     row, path, status, error (images skipped as missing / unreadable)
      meta.json        written last: its presence means the cache is complete
      .prepare/        work state of an unfinished run (deleted when the cache completes)

A raw file (not .npy) keeps reads a plain ``np.memmap`` with the shape taken from meta.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cxr.core.errors import InputError

FORMAT = "cxr-cache"
VERSION = 1
IMAGES = "images.u8"
INDEX = "index.parquet"
FAILURES = "failures.csv"
META = "meta.json"
WORK = ".prepare"
STATUS_OK = "ok"


def is_complete(cache_dir: str | Path) -> bool:
    return (Path(cache_dir) / META).is_file()


def read_meta(cache_dir: str | Path) -> dict:
    """The meta of a complete cache; a clear error for a missing or unfinished one."""
    cache_dir = Path(cache_dir)
    path = cache_dir / META
    if not path.is_file():
        hint = (" (an unfinished `cxr prepare` run: rerun it to resume)" if (cache_dir / WORK).is_dir()
                else " (build one with `cxr prepare`)")
        raise InputError(f"{cache_dir} is not a complete cxr cache: no {META}{hint}")
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(f"{path}: not a {FORMAT} v{VERSION} cache meta "
                         f"(format={meta.get('format')!r}, version={meta.get('version')!r})")
    return meta


def open_images(cache_dir: str | Path, meta: dict, mode: str = "r") -> np.memmap:
    shape = tuple(meta["images"]["shape"])
    path = Path(cache_dir) / meta["images"]["file"]
    expected = int(np.prod(shape))
    if not path.is_file() or path.stat().st_size != expected:
        raise InputError(f"{path}: missing or truncated image array (expected {expected} bytes for {shape})")
    return np.memmap(path, dtype=np.uint8, mode=mode, shape=shape)
