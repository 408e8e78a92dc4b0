"""Description sentence -> positive ontology labels, through the project's labeler.

Only label-head encoders with novel classes need it: the runner builds it then, because building the
labeler compiles the ontology (a third of a second).
"""
from __future__ import annotations

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import load_ontology


class LabelerDescribe:
    """Callable ``text -> [positive labels]`` with the ontology exposed for ancestor lookups."""

    def __init__(self):
        self.onto = load_ontology()
        self._labeler = Labeler(self.onto)

    def __call__(self, text: str) -> list[str]:
        values = self._labeler.label(text).values
        return [label for label, v in values.items() if v == 1]
