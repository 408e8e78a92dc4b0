"""Label values of one report -> the cells of an output row in a chosen vocabulary.

The values are those of ``Ontology.project`` (``Projection.cells``); the projector adds the CSV cell
strings, computed only for the touched columns: the writer calls it for every report. Direct
(mention-based) targets read the report's stated values (``ReportResult.direct_values()``) when given.
"""
from __future__ import annotations

from typing import Mapping

from cxr.labeler.ontology import OWN_VOCABULARY, Ontology

_CELL = {1: "1", 0: "0", -1: "-1"}


class Projector:
    def __init__(self, onto: Ontology, vocabulary: str = OWN_VOCABULARY):
        self.vocabulary = vocabulary
        projection = onto.projection(vocabulary)   # raises OntologyError when unknown
        self.columns: list[str] = projection.vocabulary
        #: ``row(values, direct=None)``: one cell per column, 1 / 0 / -1 or None (``Projection.cells``)
        self.row = projection.cells
        self._feeds, self._direct_feeds = projection.feeds
        self._capped_feeds = projection.capped_feeds
        #: whether callers should pass the stated values (the vocabulary has direct targets)
        self.needs_direct = bool(self._direct_feeds)

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
        for table, vals in ((self._feeds, values), (self._direct_feeds, stated), (self._capped_feeds, values)):
            if not table:
                continue
            for label in vals:
                for i in table.get(label, ()):
                    value = cells[i]
                    text[i] = _CELL.get(value, "")   # type: ignore[arg-type]
                    if value == 1 and i not in positive:
                        positive.append(i)
        return text, positive
