"""The labeler as a spaCy pipeline component: ``nlp.add_pipe("cxr_labeler")`` in any pipeline.

The fast engine (``cxr.labeler.engine.Labeler``) does the work on the Doc's text, the whole report with
its section headers; this component only turns its result into spaCy objects:

- ``doc.spans["cxr_mentions"]``: every mention, ``span.label_`` = ontology label. Mentions may overlap
  ("pacemaker with a single lead" is `single chamber device` and `pacemaker`), which ``doc.ents`` cannot
  hold, so the span group is the complete list;
- ``doc.ents``: the mentions that overlap neither each other (longest first, as ``filter_spans``) nor an
  entity already there (a user's own NER keeps its entities);
- per mention ``span._.status`` (1 / 0 / -1), ``span._.cue`` (the cue text or None), ``span._.rule``
  (why: see ``cxr.labeler.context``), ``span._.pattern`` (the ontology synonym that matched), and
  negspacy's ``span._.negex`` (True when negated), so code written for negspacy / medspaCy reads it as is;
- ``doc._.cxr_labels``: the report's label values in the chosen vocabulary (mentioned labels only,
  label -> 1 / 0 / -1), the same values as ``Labeler.label`` / ``cxr label``.

The factory is registered through the ``spacy_factories`` entry point (pyproject.toml), so spaCy finds
it without ``import cxr``. spaCy loads every such entry point when it creates a Language, so importing
this module must stay cheap: the ontology is compiled when the component is created, not at import.

    nlp = spacy.blank("en")
    nlp.add_pipe("cxr_labeler", config={"vocabulary": "chexpert"})
    doc = nlp("FINDINGS: No pleural effusion. Possible left lower lobe pneumonia.")
    [(e.label_, e._.status, e._.negex) for e in doc.ents]
"""
from __future__ import annotations

import math
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from cxr.labeler.engine import Labeler, ReportResult
from cxr.labeler.ontology import NEGATIVE, OWN_VOCABULARY, load_ontology
from cxr.labeler.sections import DEFAULT_SECTIONS

FACTORY = "cxr_labeler"
SPANS_KEY = "cxr_mentions"
SPAN_EXTENSIONS = ("status", "cue", "rule", "pattern", "negex")
DOC_EXTENSIONS = ("cxr_labels",)


def _writable(cls, name: str) -> bool:
    """Whether ``cls._.name`` can be assigned (another library may own it as a getter-only property)."""
    default, method, getter, setter = cls.get_extension(name)
    return method is None and (getter is None or setter is not None)


def register_extensions() -> None:
    """Register the extensions unless already there (negspacy registers ``negex`` itself: both set a bool)."""
    for name in SPAN_EXTENSIONS:
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    for name in DOC_EXTENSIONS:
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


register_extensions()


class CxrLabeler:
    """The pipeline component; ``labeler`` is the engine it wraps (``cxr.labeler.engine.Labeler``)."""

    def __init__(self, nlp: Language, name: str = FACTORY, vocabulary: str = OWN_VOCABULARY,
                 ontology: Optional[str] = None, sections: tuple[str, ...] | list[str] = DEFAULT_SECTIONS,
                 spans_key: str = SPANS_KEY, set_ents: bool = True, labeler: Labeler | None = None,
                 language: Optional[str] = None):
        self.name = name
        if labeler is None:
            onto = load_ontology(ontology)
            # the pipeline's own language when the ontology has it (spacy.blank("es") labels Spanish)
            language = language or (nlp.lang if nlp.lang in onto.languages else "en")
            labeler = Labeler(onto, sections=tuple(sections), conventions=vocabulary, language=language)
        self.labeler = labeler
        self.vocabulary = vocabulary
        # raises now on an unknown vocabulary
        self._direct = bool(self.labeler.onto.projection(vocabulary).direct)
        self.spans_key = spans_key
        self.set_ents = set_ents
        register_extensions()
        self._own = {n: _writable(Span, n) for n in SPAN_EXTENSIONS}

    def __call__(self, doc: Doc) -> Doc:
        res = self.labeler.label(doc.text)
        spans = []
        for m in res.mentions:
            span = doc.char_span(m.span[0], m.span[1], label=m.label, alignment_mode="expand")
            if span is None:   # offsets inside whitespace only: cannot happen for a matched word
                continue
            self._annotate(span, m.status, m.cue, m.rule, m.pattern)
            spans.append(span)
        doc.spans[self.spans_key] = spans
        if self.set_ents and spans:
            taken = {i for e in doc.ents for i in range(e.start, e.end)}
            free = [s for s in filter_spans(spans) if not taken.intersection(range(s.start, s.end))]
            doc.ents = sorted([*doc.ents, *free], key=lambda s: s.start)
        doc._.cxr_labels = self.doc_labels(res)
        return doc

    def _annotate(self, span: Span, status: int, cue, rule: str, pattern: str) -> None:
        for name, value in (("status", status), ("cue", cue), ("rule", rule), ("pattern", pattern),
                            ("negex", status == NEGATIVE)):
            if self._own[name]:
                span._.set(name, value)

    def doc_labels(self, res: ReportResult) -> dict[str, int]:
        """The report's values in ``self.vocabulary``, mentioned labels only (as ``cxr label`` writes them)."""
        projected = self.labeler.onto.project(res.values, self.vocabulary,
                                              res.direct_values() if self._direct else None)
        return {k: int(v) for k, v in projected.items() if not (isinstance(v, float) and math.isnan(v))}


@Language.factory(FACTORY, default_config={"vocabulary": OWN_VOCABULARY, "ontology": None,
                                           "sections": list(DEFAULT_SECTIONS), "spans_key": SPANS_KEY,
                                           "set_ents": True, "language": None})
def make_cxr_labeler(nlp: Language, name: str, vocabulary: str, ontology: Optional[str], sections: list[str],
                     spans_key: str, set_ents: bool, language: Optional[str]) -> CxrLabeler:
    """spaCy factory ``cxr_labeler``: config ``vocabulary`` (padchest or a projection), ``ontology`` (folder,
    None = shipped), ``sections`` (read like ``cxr label --sections``), ``spans_key``, ``set_ents``,
    ``language`` (en, es or auto; None = the pipeline's language, ``spacy.blank("es")`` -> es)."""
    return CxrLabeler(nlp, name, vocabulary=vocabulary, ontology=ontology, sections=tuple(sections),
                      spans_key=spans_key, set_ents=set_ents, language=language)
