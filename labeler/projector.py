"""Label values of one report -> the cells of an output row in a chosen vocabulary.

Does what ``Ontology.project`` does (precedence positive > uncertain > negative over the labels feeding a
target), with the label -> column table computed once: the writer calls it for every report.
"""
from __future__ import annotations

from typing import Mapping

from labeler.ontology import PRECEDENCE, Ontology

_CELL = {1: "1", 0: "0", -1: "-1"}


class Projector:
    def __init__(self, onto: Ontology, vocabulary: str = "padchest"):
        self.vocabulary = vocabulary
        self.columns: list[str] = onto.vocabulary(vocabulary)   # raises OntologyError when unknown
        feeds: dict[str, list[int]] = {}
        if vocabulary == "padchest":
            feeds = {name: [i] for i, name in enumerate(self.columns)}
        else:
            for i, sources in enumerate(onto.projections[vocabulary].targets.values()):
                for src in sources:
                    feeds.setdefault(src, []).append(i)
        self._feeds = {k: tuple(v) for k, v in feeds.items()}

    def render(self, values: Mapping[str, int]) -> tuple[list[str], list[int]]:
        """CSV cell strings of one row ('' = not mentioned) and the indices of its positive columns.

        Works on the few mentioned labels only; rows are sparse, ~200 columns with a handful set.
        """
        cells = self.row(values) if values else ()
        text = [""] * len(self.columns)
        positive: list[int] = []
        for label in values:
            for i in self._feeds.get(label, ()):
                value = cells[i]
                text[i] = _CELL[value]
                if value == 1 and i not in positive:
                    positive.append(i)
        return text, positive

    def row(self, values: Mapping[str, int]) -> list[int | None]:
        """One cell per column: 1 / 0 / -1, or None when no feeding label is mentioned."""
        cells: list[int | None] = [None] * len(self.columns)
        feeds = self._feeds
        for label, value in values.items():
            for i in feeds.get(label, ()):
                old = cells[i]
                if old is None or PRECEDENCE[value] > PRECEDENCE[old]:
                    cells[i] = value
        return cells
