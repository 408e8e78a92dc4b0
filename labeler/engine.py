"""The report labeler: report text -> PadChest label values (1 / 0 / -1, absent = not mentioned).

Pipeline per report (each step its own module):
``sections`` (read findings + impression) -> ``normalize`` (lower case, de-id tokens) -> ``sentences``
(sentences, then clauses at ';') -> ``matcher`` (label mentions) -> ``cues`` + ``context`` (status of each
mention) -> ``aggregate`` (precedence, propagation to ancestors, 'normal').

    lab = Labeler(load_ontology())
    res = lab.label("FINDINGS: No pleural effusion. Possible left lower lobe pneumonia.")
    res.values   # {'pleural effusion': 0, 'pneumonia': -1, ...}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

from cxr.labeler.aggregate import Aggregator, stated_values
from cxr.labeler.context import AFFIRMED, ClauseCues, ContextRules, Kinship, alternatives, decide
from cxr.labeler.cues import CueFinder
from cxr.labeler.matcher import LabelMatcher
from cxr.labeler.normalize import normalize
from cxr.labeler.language import AUTO, detect_language
from cxr.labeler.ontology import ENGLISH, OWN_VOCABULARY, POSITIVE, Ontology
from cxr.labeler.patterns import ClauseAtoms
from cxr.labeler.sections import DEFAULT_SECTIONS, select_sections
from cxr.labeler.sentences import Splitter, clauses, split_regex


class Mention(NamedTuple):
    """One matched synonym with its status (a tuple: a report creates dozens, dataclasses cost 5x more)."""
    label: str
    span: tuple[int, int]     # offsets into the report text given to ``Labeler.label``
    text: str                 # the matched words as written in the report
    section: str
    sentence: int             # index into ``ReportResult.sentences``
    status: int               # 1 / 0 / -1
    cue: str | None           # the cue text that negated / hedged / confirmed it
    rule: str                 # see labeler.context.Decision
    pattern: str              # the ontology synonym that matched


@dataclass
class ReportResult:
    values: dict[str, int] = field(default_factory=dict)
    #: (index, text, positive labels of the sentence followed by their ancestors)
    sentences: list[tuple[int, str, list[str]]] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)   # label -> why (propagation, normal rule)
    #: what ``direct_values`` returns; ``values`` are aggregated from it, so it is computed once
    stated: dict[str, int] = field(default_factory=dict, repr=False)
    #: the language the report was labeled as ('en', 'es'; ``Labeler(language="auto")`` decides per report)
    language: str = ENGLISH

    def direct_values(self) -> dict[str, int]:
        """The values the report states itself: each mentioned label by precedence over its mentions,
        before propagation to ancestors and without the 'normal' rule (for direct projection targets).
        The result's own dict, not a copy."""
        return self.stated


def is_missing(text: object) -> bool:
    """A report cell without text: None, NaN, pandas' NA or only whitespace."""
    if text is None or type(text).__name__ == "NAType":   # pd.NA, without importing pandas
        return True
    if isinstance(text, float):
        return math.isnan(text)
    return not str(text).strip()


#: ``new_mention(Mention, (label, span, ...))``: a Mention without the named tuple's Python-level ``__new__``
#: (a report creates dozens)
new_mention = tuple.__new__

#: A sentence's labeling: (start, end, label, pattern, status, cue, rule) per mention, offsets in the sentence.
SentenceMentions = tuple[tuple[int, int, str, str, int, "str | None", str], ...]


#: the cues of a clause without any (``alternatives`` still reads them)
_NO_CUES = ClauseCues([])


class Labeler:
    """Compiles the ontology once; ``label`` is then pure, cheap and safe to call from many processes.

    Radiologists repeat themselves: about half the sentences of 1,289 Open-i reports occur more than once
    ("No pneumothorax."), so each sentence's mentions are cached by its text (``cache_size`` sentences,
    0 = off). A sentence is labeled from its own text only, so the cache never changes a result.
    """

    def __init__(self, onto: Ontology, sections: Sequence[str] = DEFAULT_SECTIONS,
                 splitter: Splitter = split_regex, rules: ContextRules | None = None,
                 cache_size: int = 50_000, conventions: str = OWN_VOCABULARY, language: str = ENGLISH):
        #: the ontology as given (projections, output columns); the patterns come from its ``language`` view
        self.onto = onto
        self.language = language
        #: language -> engine, when each report's language is detected (``language="auto"``)
        self._engines: dict[str, Labeler] | None = None
        if language == AUTO:
            self._engines = {lang: Labeler(onto, sections, splitter, rules, cache_size, conventions, lang)
                             for lang in onto.languages}
            language = ENGLISH   # this instance only dispatches; its own tables below stay unused
        words = onto.in_language(language)
        self._fold = language != ENGLISH
        #: the hedging conventions of vocabulary ``conventions`` (``Projection.hedging``): strict (CheXpert)
        #: makes alternatives ("atelectasis versus pneumonia") and "probable" findings uncertain; lenient
        #: (PadChest, the Open-i gold) codes them as present
        self._alternatives = onto.projection(conventions).hedging == "strict"
        self.sections = frozenset(s.lower() for s in sections)
        self._split = splitter
        self._matcher = LabelMatcher(words)
        self._cues = CueFinder(words.cues, strict=self._alternatives, language=words.language)
        self._atoms_of = ClauseAtoms(self._matcher.prefixes | self._cues.prefixes).of
        self._kin = Kinship(onto) if self._alternatives else None
        self._rules = rules or ContextRules()
        self._aggregator = Aggregator(onto)
        self._cache: dict[str, SentenceMentions] = {}
        self._cache_size = cache_size

    def label(self, text: object) -> ReportResult:
        """Label one report; a missing/blank report gives an empty result (every label not mentioned)."""
        if self._engines is not None:
            return self._label_detected(text)
        if is_missing(text):
            return ReportResult(language=self.language)
        text = str(text)
        low = normalize(text, self._fold)
        result = ReportResult(language=self.language)
        mentions = result.mentions
        for sec in select_sections(text, self.sections):
            for start, end in self._split(text, sec.start, sec.end):
                index = len(result.sentences)
                positives: list[str] = []
                for a, b, label, pattern, status, cue, rule in self._sentence(low[start:end]):
                    mentions.append(new_mention(Mention, (label, (start + a, start + b), text[start + a:start + b],
                                                          sec.name, index, status, cue, rule, pattern)))
                    if status == POSITIVE and label not in positives:
                        positives.append(label)
                result.sentences.append((index, text[start:end], self._aggregator.close_upwards(positives)))
        if result.sentences:   # a report with nothing to read (only an indication) gets no values at all
            result.stated = stated_values((m.label, m.status) for m in mentions)
            result.values, result.derived = self._aggregator.aggregate(result.stated)
        return result

    def _label_detected(self, text: object) -> ReportResult:
        assert self._engines is not None
        lang = ENGLISH if is_missing(text) else detect_language(str(text))
        return self._engines.get(lang, self._engines[ENGLISH]).label(text)

    def _sentence(self, sentence: str) -> SentenceMentions:
        found = self._cache.get(sentence)
        if found is None:
            found = self._label_sentence(sentence)
            if self._cache_size:
                if len(self._cache) >= self._cache_size:
                    self._cache.clear()   # bounded memory; refilling is cheap
                self._cache[sentence] = found
        return found

    def _label_sentence(self, low: str) -> SentenceMentions:
        out = []
        for c_start, c_end in clauses(low, 0, len(low)):
            atoms = self._atoms_of(low, c_start, c_end)
            raw = self._matcher.find(low, c_start, c_end, atoms)
            if not raw:
                continue
            found = self._cues.find(low, c_start, c_end, atoms)
            if found:
                cues = ClauseCues(found)
                decisions = [decide(low, cues, m.start, m.end, self._rules) for m in raw]
            else:   # most clauses: no cue, every mention affirmed (what ``decide`` says without cues)
                cues = _NO_CUES
                decisions = [AFFIRMED] * len(raw)
            if self._alternatives:   # "atelectasis versus pneumonia": both uncertain
                decisions = alternatives(low, cues, [(m.start, m.end) for m in raw], decisions,
                                         [m.label for m in raw], self._kin)
            for m, d in zip(raw, decisions):
                out.append((m.start, m.end, m.label, m.pattern, d.status, d.cue, d.rule))
        return tuple(out)

    def label_many(self, texts: Iterable[object], vocabulary: str = OWN_VOCABULARY) -> list[dict[str, float]]:
        """Values of many reports in ``vocabulary`` (every label of it; NaN = not mentioned)."""
        out = []
        direct = bool(self.onto.projection(vocabulary).direct)
        for t in texts:
            res = self.label(t)
            out.append(self.onto.project(res.values, vocabulary, res.direct_values() if direct else None))
        return out
