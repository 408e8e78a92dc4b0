"""What a benchmark task is: classes, protocol counts, the dataset it draws from, and its candidates.

Each task module subclasses ``BenchmarkTask``, registers itself with ``@TASKS.register(name)``, names the
registered dataset it draws from (``dataset``: a ``cxr.datasets`` name, which the leakage checks compare
with a pre-training manifest's ``source`` column), and implements ``candidates(files, images)``, which
reads the official files through that dataset's module and returns one row per eligible image:
``path`` (relative, in the dataset's own layout), ``label``, ``patient_id`` and ``pool``
(``train``/``test`` where the dataset's official split fixes the side, else ``any``).
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import ClassVar

from cxr.core.errors import InputError
from cxr.core.registry import Registry
from cxr.datasets.catalog import DATASETS
from cxr.evaluate.sampling import Quota

TASKS: Registry[type["BenchmarkTask"]] = Registry("task")


class BenchmarkTask:
    name: ClassVar[str]
    classes: ClassVar[tuple[str, ...]]
    quota: ClassVar[Quota]
    #: role -> file-name patterns of the official files (first match wins); roles in ``optional`` may be absent
    files: ClassVar[dict[str, tuple[str, ...]]] = {}
    optional: ClassVar[tuple[str, ...]] = ()
    #: the registered ``cxr.datasets`` name of the dataset the task draws from (leakage checks)
    dataset: ClassVar[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        DATASETS.get(cls.dataset)   # an unregistered name fails at import, naming the known ones
        if len(set(cls.classes)) < 2:
            raise ValueError(f"task {cls.name!r}: a task needs at least two classes, has {list(cls.classes)}")

    def locate(self, paths: list[Path]) -> dict[str, Path]:
        """Find each official file among the given files and folders (and one folder level below)."""
        found: dict[str, Path] = {}
        for role, patterns in self.files.items():
            hit = _first_match(paths, patterns)
            if hit is not None:
                found[role] = hit
            elif role not in self.optional:
                raise InputError(self._missing_message(role, patterns, paths))
        return found

    def _missing_message(self, role: str, patterns: tuple[str, ...], paths: list[Path]) -> str:
        given = ", ".join(str(p) for p in paths) or "nothing (pass --metadata FILE_OR_FOLDER)"
        return (f"task {self.name!r} needs its official {role} file ({' or '.join(patterns)}); "
                f"not found in: {given}. See `cxr eval splits --help` and the docstring of "
                f"{DATASETS.get(self.dataset).module} for the expected layout.")

    def candidates(self, files: dict[str, Path], images: Path | None):  # pragma: no cover - abstract
        raise NotImplementedError


def _first_match(paths: list[Path], patterns: tuple[str, ...]) -> Path | None:
    for pattern in patterns:
        for p in paths:
            for candidate in _candidates_under(p):
                if fnmatch.fnmatch(candidate.name.lower(), pattern.lower()):
                    return candidate
    return None


def _candidates_under(p: Path) -> list[Path]:
    if p.is_dir():
        children = sorted(p.iterdir())
        deeper = [g for c in children if c.is_dir() for g in sorted(c.iterdir()) if not g.is_dir()]
        return children + deeper
    return [p] if p.exists() else []


def single_positive_label(frame, columns, names=None) -> list:
    """The one positive column's name per row (``names`` renames), None unless exactly one is positive.

    ``frame`` holds label values as numbers (1 positive), as the ``cxr.datasets`` readers return them."""
    if not len(frame):
        return []
    pos = frame[list(columns)].eq(1.0).to_numpy()
    names = list(names or columns)
    exactly_one = pos.sum(axis=1) == 1
    return [names[j] if ok else None for j, ok in zip(pos.argmax(axis=1), exactly_one)]


def candidates_frame(paths, labels, patients, pools):
    import pandas as pd

    frame = pd.DataFrame({"path": list(paths), "label": list(labels),
                          "patient_id": [str(p) for p in patients], "pool": list(pools)})
    return frame[frame["label"].notna()].reset_index(drop=True)
