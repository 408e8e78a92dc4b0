"""Report sections: find MIMIC-CXR / Open-i headers and pick the parts of a report the labeler reads.

Findings, impression and an addendum describe the image; indication, history and comparison describe the request
("evaluate for pneumonia") and must not produce labels. Text before the first header (MIMIC's
"FINAL REPORT" preamble) is administrative. A report without any recognised header is read whole.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: Header text (lower case, as written in reports) -> canonical section name.
HEADERS: dict[str, str] = {
    "findings": "findings", "finding": "findings",
    "findings and impression": "findings", "findings/impression": "findings",
    "impression and findings": "impression",
    "impression": "impression", "impressions": "impression", "conclusion": "impression",
    "conclusions": "impression", "summary": "impression", "opinion": "impression",
    "interpretation": "impression",
    "indication": "indication", "indications": "indication", "clinical indication": "indication",
    "reason for exam": "indication", "reason for examination": "indication",
    "reason for study": "indication", "reason for the examination": "indication",
    "clinical information": "indication", "clinical info": "indication", "clinical data": "indication",
    "clinical question": "indication",
    "history": "history", "clinical history": "history", "medical history": "history",
    "comparison": "comparison", "comparisons": "comparison", "comparison study": "comparison",
    "technique": "technique", "procedure": "technique", "views": "technique",
    "examination": "examination", "exam": "examination", "study": "examination",
    "final report": "preamble",
    "wet read": "wet read",
    "notification": "notification", "notifications": "notification",
    "recommendation": "recommendation", "recommendations": "recommendation",
    "addendum": "addendum",
    # Spanish reports (with and without accents)
    "hallazgos": "findings", "hallazgo": "findings", "descripción": "findings", "descripcion": "findings",
    "conclusión": "impression", "conclusiones": "impression", "impresión": "impression",
    "impresion": "impression", "impresión diagnóstica": "impression", "impresion diagnostica": "impression",
    "diagnóstico": "impression", "diagnostico": "impression", "juicio diagnóstico": "impression",
    "juicio diagnostico": "impression",
    "indicación": "indication", "indicacion": "indication", "motivo de consulta": "indication",
    "motivo de la exploración": "indication", "motivo de la exploracion": "indication",
    "datos clínicos": "indication", "datos clinicos": "indication", "información clínica": "indication",
    "informacion clinica": "indication", "antecedentes": "history",
    "comparación": "comparison", "comparacion": "comparison", "técnica": "technique", "tecnica": "technique",
}

#: MIMIC's ADDENDUM corrects or completes the findings and impression ("ADDENDUM: ... small right
#: pneumothorax"), so it is read too.
DEFAULT_SECTIONS: tuple[str, ...] = ("findings", "impression", "addendum")
#: Name of the single section of a report that has no recognised header.
WHOLE_REPORT = "report"

_ALTS = "|".join(re.escape(h).replace(r"\ ", r"\s+") for h in sorted(HEADERS, key=len, reverse=True))
# A header is "HEADER:" after a word boundary (Open-i/MIMIC inline style), or a header alone on its line
# without a colon ("FINAL REPORT", "IMPRESSION") where a statement can start (``_starts_statement``).
# Scanning the whole report with a 60-way alternation costs more than labeling it, so only the text
# before each colon, and short lines, are examined.
_BEFORE_COLON = re.compile(rf"(?i)(?<![\w\-/])({_ALTS})[ \t]*\Z")
# The same on lower-cased ASCII text: without (?i) ``re`` skips an alternative on its first letter, and a
# report is nearly always ASCII (a non-ASCII character may case-fold to an ASCII letter: ``_BEFORE_COLON``).
_BEFORE_COLON_LOWER = re.compile(rf"(?<![\w\-/])({_ALTS})[ \t]*\Z")
_LOOKBACK = max(map(len, HEADERS)) + 8
_SHORT_LINE = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z /]{2,30}?)[ \t]*$")


def _canonical(header: str) -> str | None:
    return HEADERS.get(" ".join(header.lower().split()))


def _find_headers(text: str) -> list[tuple[int, int, str]]:
    """(header start, body start, canonical name) of every header, in text order."""
    heads = []
    colon = text.find(":")
    while colon >= 0:
        head = _header_before(text, colon)
        if head:
            heads.append((head[0], colon + 1, head[1]))
        colon = text.find(":", colon + 1)
    if "\n" in text:
        line = 0
        while line >= 0:   # ``re`` would try (?m)^ at every character; only line starts can match
            m = _SHORT_LINE.match(text, line)
            if m and (name := _canonical(m.group(1))) and _starts_statement(text, m.start(1)):
                heads.append((m.start(1), m.end(), name))
            line = text.find("\n", line)
            line = line + 1 if line >= 0 else line
        heads.sort()
    return heads


def _header_before(text: str, colon: int) -> tuple[int, str] | None:
    """(start, canonical name) of the header that ends at ``colon`` (spaces allowed before it), if any."""
    first = max(0, colon - _LOOKBACK)
    start = max(0, first - 1)          # one character more, for the look-behind
    window = text[start:colon]
    if window.isascii():
        m = _BEFORE_COLON_LOWER.search(window.lower(), first - start)
    else:
        m = _BEFORE_COLON.search(window, first - start)
    # a non-ASCII letter that case-folds to an ASCII one ("IMPRESSIONſ") matches but names no header
    name = _canonical(m.group(1)) if m else None
    return (start + m.start(), name) if m and name else None


def _starts_statement(text: str, at: int) -> bool:
    """Whether a line starting at ``at`` can be a header: the report starts there, or the text before
    ends a statement (".", ":", "!", "?", ";") or a blank line separates it. A single word on a line of
    its own after an unfinished sentence ("no\n exam") is wrapping, not a header."""
    before = text[:at].rstrip()
    return not before or before[-1] in ".:;!?" or bool(_BLANK_BEFORE.search(text, len(before), at))


_BLANK_BEFORE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Section:
    name: str     # canonical name (HEADERS values), 'preamble' before the first header, or WHOLE_REPORT
    start: int    # body start offset in the report (after the header)
    end: int


#: Sections that hold one short paragraph; text after a blank line inside them is the unheaded report
#: body (MIMIC: "COMPARISON: ___\n\nPA and lateral views show ..."), read as findings.
ONE_PARAGRAPH = frozenset({"indication", "history", "comparison", "technique", "examination"})
UNHEADED_BODY = "findings"
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")


def split_sections(text: str) -> list[Section]:
    """All sections of ``text`` in order; [Section(WHOLE_REPORT, 0, len)] when no header is found."""
    heads = _find_headers(text)
    if not heads:
        return [Section(WHOLE_REPORT, 0, len(text))]
    out = []
    if text[:heads[0][0]].strip():
        out.append(Section("preamble", 0, heads[0][0]))
    for i, (_, body_start, name) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        out.extend(_split_body(text, name, body_start, end))
    return out


def _split_body(text: str, name: str, start: int, end: int) -> list[Section]:
    if name in ONE_PARAGRAPH:
        # skip blank lines right after the header: the paragraph is the first text after them
        first = start + len(text[start:end]) - len(text[start:end].lstrip())
        gap = _BLANK_LINE.search(text, first, end)
        if gap and text[gap.end():end].strip():
            return [Section(name, start, gap.start()), Section(UNHEADED_BODY, gap.end(), end)]
    return [Section(name, start, end)]


def select_sections(text: str, wanted: tuple[str, ...] | frozenset[str] = DEFAULT_SECTIONS) -> list[Section]:
    """The sections the labeler reads: those named in ``wanted``; the whole text when it has no header."""
    sections = split_sections(text)
    if sections[0].name == WHOLE_REPORT:
        return sections
    return [s for s in sections if s.name in wanted]
