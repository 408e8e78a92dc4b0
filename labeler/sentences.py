"""Sentence and clause splitting, fast and tuned to radiology report habits.

One regex finds the boundaries; look-behinds reject the false ones:

- abbreviations ("Dr.", "vs.", "e.g.", "i.e.", single initials) do not end a sentence;
- a list number ("1. No effusion. 2. Stable heart.") starts a sentence, never forms one on its own;
- decimals ("2.5 cm") never split, since a boundary needs whitespace or a word after it;
- a missing space ("apex.There is") still splits;
- line breaks are wrapping in MIMIC reports: only a blank line splits.

Letter case and the kind of whitespace never matter (a property test checks that labels do not change
when a report is upper-cased or re-spaced), so no rule looks for capitals or single newlines.

Clauses are sentence parts between ';' — the scope limit of negation and hedging cues.

scispacy's rule-based splitter (pysbd) was measured as an alternative: same accuracy on the Open-i
development reports, several times slower (docs/benchmarks.md, "scispacy"), so it is not offered; any
``Splitter`` callable can still be passed to ``Labeler(splitter=...)``.
"""
from __future__ import annotations

import re
from typing import Callable

Span = tuple[int, int]
#: A splitter maps (text, start, end) to sentence spans inside [start, end).
Splitter = Callable[[str, int, int], list[Span]]

ABBREVIATIONS = ("dr", "mr", "mrs", "ms", "vs", "e.g", "i.e", "approx", "fig", "cf", "nos", "st", "pt",
                 "resp", "incl", "mt", "prof", "hx", "sq", "ca", "a.m", "p.m")
# Each exception is a fixed-width look-behind tried only after a '.' has matched (look-arounds tried at
# every position would cost several times more), so the whole split runs inside the regex engine. One
# look-behind per abbreviation length (an alternation of equal widths is fixed-width): a full stop then
# costs four look-behinds for them instead of twenty-two.
_BY_LENGTH = sorted({len(a) for a in ABBREVIATIONS})
_NOT_AFTER = "".join(
    rf"(?<!\b(?:{'|'.join(re.escape(a) for a in ABBREVIATIONS if len(a) == n)})\.)" for n in _BY_LENGTH)
_NOT_AFTER += r"(?<!\b[a-z]\.)"                                  # initials: "J. Smith"
_NOT_AFTER += r"(?<![\s(:]\d\.)(?<![\s(:]\d\d\.)(?<!^\d\.)(?<!^\d\d\.)"  # list numbers: "1. No effusion"
# Every boundary starts with one character of [.!?\s]: the regex consumes it first, then tells the cases
# apart by look-behind, so ``re`` scans for that character class instead of trying four alternatives at
# every position (same matches as the alternation "\.(...)|[!?](...)|\n[ \t]*\n|\s(?=...)").
_BOUNDARY = re.compile(
    rf"[.!?\s](?:(?<=\.){_NOT_AFTER}(?:[.!?]*[\"')\]]*(?=\s|$)"  # a full stop before whitespace or the end,
    r"|(?<=[a-z]{2}\.)(?=[a-z]{2}))"                            # or glued to the next word: "apex.There"
    r"|(?<=[!?])[.!?]*[\"')\]]*(?=\s|$)"
    r"|(?<=\n)[ \t]*\n"                                        # a blank line (paragraph break)
    r"|(?<=\s)(?=\d{1,2}[.)]\s+[a-z]))",                       # a list item: "... process 2. Stable"
    re.IGNORECASE)
_HAS_WORD = re.compile(r"[^\W_]")


def split_regex(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` (stripped, non-empty), by the rules in this module's doc."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cur = start
    for m in _BOUNDARY.finditer(text, start, end):
        cut = m.end() if text[m.start()] in ".!?" else m.start()
        piece = text[cur:cut]     # _add, inlined
        stripped = piece.strip()
        if stripped and (stripped[0].isalnum() or _HAS_WORD.search(stripped)):
            a = cur + len(piece) - len(piece.lstrip())
            spans.append((a, a + len(stripped)))
        cur = cut
    _add(text, cur, end, spans)
    return spans


def _add(text: str, a: int, b: int, spans: list[Span]) -> None:
    piece = text[a:b]
    stripped = piece.strip()
    if stripped and (stripped[0].isalnum() or _HAS_WORD.search(stripped)):
        a += piece.find(stripped[0])
        spans.append((a, a + len(stripped)))


def clauses(text: str, start: int, end: int) -> list[Span]:
    """Clause spans of one sentence: the parts between semicolons (a list: most sentences have one clause,
    and a generator would cost more than the search)."""
    spans = []
    cut = text.find(";", start, end)
    while cut >= 0:
        spans.append((start, cut))
        start = cut + 1
        cut = text.find(";", start, end)
    spans.append((start, end))
    return spans
