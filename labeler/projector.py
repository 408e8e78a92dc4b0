"""Label values of one report -> the cells of an output row in a chosen vocabulary.

Does what ``Ontology.project`` does (precedence positive > uncertain > negative over the labels feeding a
target), with the label -> column table computed once: the writer calls it for every report. Direct
(mention-based) targets read the report's stated values (``ReportResult.direct_values()``) when given.
"""
from __future__ import annotations

from typing import Mapping

from cxr.labeler.ontology import PRECEDENCE, Ontology

_CELL = {1: "1", 0: "0", -1: "-1"}


class Projector:
    def __init__(self, onto: Ontology, vocabulary: str = "padchest"):
        self.vocabulary = vocabulary
        self.columns: list[str] = onto.vocabulary(vocabulary)   # raises OntologyError when unknown
        feeds: dict[str, list[int]] = {}
        direct_feeds: dict[str, list[int]] = {}
        if vocabulary == "padchest":
            feeds = {name: [i] for i, name in enumerate(self.columns)}
        else:
            proj = onto.projections[vocabulary]
            for i, (target, sources) in enumerate(proj.targets.items()):
                table = direct_feeds if target in proj.direct else feeds
                for src in sources:
                    table.setdefault(src, []).append(i)
        self._feeds = {k: tuple(v) for k, v in feeds.items()}
        self._direct_feeds = {k: tuple(v) for k, v in direct_feeds.items()}
        #: whether callers should pass the stated values (the vocabulary has direct targets)
        self.needs_direct = bool(direct_feeds)

    def render(self, values: Mapping[str, int],
               direct: Mapping[str, int] | None = None) -> tuple[list[str], list[int]]:
        """CSV cell strings of one row ('' = not mentioned) and the indices of its positive columns.

        Works on the few mentioned labels only; rows are sparse, ~200 columns with a handful set.
        """
        text = [""] * len(self.columns)
        positive: list[int] = []
        if not values and not direct:
            return text, positive
        cells = self.row(values, direct)
        stated = values if direct is None else direct
        for table, vals in ((self._feeds, values), (self._direct_feeds, stated)):
            if not table:
                continue
            for label in vals:
                for i in table.get(label, ()):
                    value = cells[i]
                    text[i] = _CELL[value]   # type: ignore[index]
                    if value == 1 and i not in positive:
                        positive.append(i)
        return text, positive

    def row(self, values: Mapping[str, int], direct: Mapping[str, int] | None = None) -> list[int | None]:
        """One cell per column: 1 / 0 / -1, or None when no feeding label is mentioned.

        Direct targets read ``direct`` (the report's stated values); without it, ``values``.
        """
        cells: list[int | None] = [None] * len(self.columns)
        stated = values if direct is None else direct
        for feeds, vals in ((self._feeds, values), (self._direct_feeds, stated)):
            if not feeds:
                continue
            for label, value in vals.items():
                for i in feeds.get(label, ()):
                    old = cells[i]
                    if old is None or PRECEDENCE[value] > PRECEDENCE[old]:
                        cells[i] = value
        return cells
