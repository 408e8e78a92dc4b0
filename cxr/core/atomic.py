"""Atomic file output: a crash or a bad row never leaves a half-written result behind."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from cxr.core.errors import CxrError


class OutputPathError(CxrError, ValueError):
    """The output location cannot be written (missing folder, not a folder, ...); the CLI reports it as
    a user error."""


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail early, before any work, when OUT cannot be created."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputPathError(f"output folder does not exist: {parent} (for {path})")
    if not parent.is_dir():
        raise OutputPathError(f"output parent is not a folder: {parent}")
    if path.is_dir():
        raise OutputPathError(f"output path is a folder, expected a file: {path}")
    return path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` only if the block succeeds.

    The temp file lives in the same folder so the final ``os.replace`` is atomic on POSIX.
    """
    path = check_output_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; published outputs (shared caches, results) get the usual umask-based mode.
    os.chmod(tmp_path, 0o666 & ~_current_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open()`` that publishes the file only when the ``with`` block completes."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(path, "w", encoding=encoding) as fh:
        fh.write(text)
