"""Description sentence -> positive ontology labels, through the project's labeler (built lazily).

Only label-head encoders with novel classes need it; building the labeler compiles the ontology, so it
happens at most once per run, and its absence turns into a warning rather than a crash.
"""
from __future__ import annotations

from typing import Callable


class LabelerDescribe:
    """Callable ``text -> [positive labels]`` with the ontology exposed for ancestor lookups."""

    def __init__(self):
        self._labeler = None
        self.onto = None
        self.error: str | None = None

    def _build(self) -> None:
        try:
            from cxr.labeler.ontology import load_ontology
            from cxr.labeler.engine import Labeler

            self.onto = load_ontology()
            self._labeler = Labeler(self.onto)
        except Exception as exc:  # an ontology or labeler still under construction must not stop evaluation
            self.error = f"labeler unavailable ({type(exc).__name__}: {exc})"

    def available(self) -> bool:
        if self._labeler is None and self.error is None:
            self._build()
        return self._labeler is not None

    def __call__(self, text: str) -> list[str]:
        if not self.available():
            return []
        values = self._labeler.label(text).values
        return [label for label, v in values.items() if v == 1]


def default_describe() -> tuple[Callable[[str], list[str]] | None, object, str | None]:
    """(describe, ontology, warning) for the run; describe is None when the labeler cannot be built."""
    d = LabelerDescribe()
    if d.available():
        return d, d.onto, None
    return None, None, d.error
