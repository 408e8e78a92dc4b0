"""Task class names <-> encoder label names: base/novel partition and prototype lookup.

A task class is *base* for an encoder when one of its ontology names (``class_labels.yaml``) is in the
encoder's pre-training vocabulary (label head names, or the vocabulary recorded in the export config),
else *novel*. With no recorded vocabulary the partition is unknown and base/novel are left empty.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence


from cxr.core.errors import InputError
from cxr.core.yamlio import read_yaml_mapping

CLASS_LABELS_FILE = Path(__file__).with_name("class_labels.yaml")


def norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name)).strip().lower()


@lru_cache(maxsize=4)
def class_synonyms(path: str | None = None) -> dict[str, tuple[str, ...]]:
    file = Path(path) if path else CLASS_LABELS_FILE
    raw = read_yaml_mapping(file, what="class synonyms file",
                            expected="'Class name: [ontology label, ...]' entries")
    if not all(isinstance(v, list) for v in raw.values()):
        raise InputError(f"{file}: expected 'Class name: [ontology label, ...]' entries")
    return {norm(k): tuple(str(x) for x in v) for k, v in raw.items()}


def names_of(task_class: str, synonyms: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """The class's own name first, then its ontology names (normalised, unique)."""
    synonyms = class_synonyms() if synonyms is None else synonyms
    out = [norm(task_class)]
    for s in synonyms.get(norm(task_class), ()):
        if norm(s) not in out:
            out.append(norm(s))
    return out


def match_label(task_class: str, label_names: Sequence[str] | None,
                synonyms: dict[str, tuple[str, ...]] | None = None) -> int | None:
    """Index of the encoder label that names ``task_class``, or None."""
    if not label_names:
        return None
    index = {norm(n): i for i, n in enumerate(label_names)}
    return next((index[n] for n in names_of(task_class, synonyms) if n in index), None)


@dataclass(frozen=True)
class Partition:
    base: tuple[int, ...]
    novel: tuple[int, ...]
    known: bool                 # False when the encoder recorded no vocabulary

    def kind(self, i: int) -> str:
        return "base" if i in self.base else "novel" if i in self.novel else ""


def partition(classes: Sequence[str], vocabulary: Sequence[str] | None,
              synonyms: dict[str, tuple[str, ...]] | None = None) -> Partition:
    if not vocabulary:
        return Partition((), (), False)
    base = tuple(i for i, c in enumerate(classes) if match_label(c, vocabulary, synonyms) is not None)
    novel = tuple(i for i in range(len(classes)) if i not in base)
    return Partition(base, novel, True)


def labels_to_head(labels: Iterable[str], label_names: Sequence[str], onto=None,
                   synonyms: dict[str, tuple[str, ...]] | None = None) -> list[int]:
    """Map labeler output (ontology names) onto head indices: exact name, a synonym entry, or a
    projection target of the ontology whose sources contain the label. Order kept, no duplicates."""
    index = {norm(n): i for i, n in enumerate(label_names)}
    synonyms = class_synonyms() if synonyms is None else synonyms
    by_synonym: dict[str, set[int]] = {}
    for cls, names in synonyms.items():
        if cls in index:
            for n in names:
                by_synonym.setdefault(norm(n), set()).add(index[cls])
    out: list[int] = []
    for label in labels:
        hits = [index[norm(label)]] if norm(label) in index else sorted(by_synonym.get(norm(label), ()))
        if not hits and onto is not None:
            hits = _projection_hits(label, index, onto)
        out.extend(h for h in hits if h not in out)
    return out


def _projection_hits(label: str, index: dict[str, int], onto) -> list[int]:
    hits = []
    for proj in getattr(onto, "projections", {}).values():
        for target, sources in proj.targets.items():
            if norm(target) in index and label in sources:
                hits.append(index[norm(target)])
    return sorted(set(hits))
