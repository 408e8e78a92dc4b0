"""``cxr label --html OUT.html``: each report with its mentions highlighted by status (displaCy).

A separate pass over the first ``limit`` reports of the input through the spaCy component
(``cxr.labeler.spacy_component``) wrapping the same ``Labeler`` as the labels CSV, so the page shows what
the CSV holds. displaCy's "span" style draws every mention, overlapping ones too ("Pacemaker with a single
lead" is `single chamber device` and `pacemaker`), which its "ent" style cannot. Colours follow the
status, not the label: a tag reads "pleural effusion −" on the negative colour. Under each report, its
label values in the chosen vocabulary. spaCy is imported only here, so ``cxr label`` without ``--html``
starts without it.
"""
from __future__ import annotations

import html
import itertools
import re
from typing import Iterable, Iterator

from cxr.labeler.engine import Labeler, is_missing
from cxr.labeler.ontology import NEGATIVE, OWN_VOCABULARY, POSITIVE, UNCERTAIN
from cxr.labeler.reader import ReportSource

DEFAULT_LIMIT = 200
#: status -> (name, tag symbol, colour)
STATUS = {POSITIVE: ("positive", "+", "#f87171"), NEGATIVE: ("negative", "−", "#4ade80"),
          UNCERTAIN: ("uncertain", "?", "#facc15")}
NEWLINE = "\ue000"   # a private-use character standing for a line break through displaCy's escaping

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em 2em; color: #222; }}
h1 {{ font-size: 1.3em; margin: 0 0 .3em 0; }}
.legend {{ margin: .5em 0 1em 0; }}
.chip {{ display: inline-block; padding: .1em .5em; margin: .1em .25em .1em 0; border-radius: .3em;
        font-size: .85em; }}
.report {{ border-top: 1px solid #ddd; padding: .6em 0 .4em 0; }}
.report h2 {{ font-size: 1.05em; }}
.labels {{ margin: .2em 0 0 0; }}
.none {{ color: #777; font-size: .9em; }}
.spans span {{ white-space: nowrap; }}
</style></head>
<body>
<h1>{title}</h1>
<div class="legend">{legend}</div>
<div class="note">{note}</div>
{reports}
</body></html>
"""


def _chip(text: str, status: int) -> str:
    return f'<span class="chip" style="background: {STATUS[status][2]}">{html.escape(text)}</span>'


def legend() -> str:
    return "mention status: " + " ".join(_chip(f"{sym} {name}", s) for s, (name, sym, _) in STATUS.items())


def _breaks(token: str) -> str:
    """Line breaks for displaCy to keep: a run of blank lines becomes one break (its line height is 2.5)."""
    return re.sub(r"\s*\n\s*", NEWLINE, token) if "\n" in token else token


def _display_data(doc, spans_key: str, title: str) -> dict:
    """displaCy "span" manual data; tokens not separated by a space are merged unless a mention starts or
    ends between them, so "effusion." does not read "effusion ."."""
    spans = list(doc.spans[spans_key])
    bounds = {i for s in spans for i in (s.start, s.end)}
    tokens: list[str] = []
    index: dict[int, int] = {}   # doc token -> display token
    for tok in doc:
        joined = tokens and not doc[tok.i - 1].whitespace_ and tok.i not in bounds
        if joined:
            tokens[-1] += tok.text
        else:
            tokens.append(tok.text)
        index[tok.i] = len(tokens) - 1
    index[len(doc)] = len(tokens)
    tokens = [_breaks(t) for t in tokens]
    shown = [{"start_token": index[s.start], "end_token": index[s.end],
              "label": f"{s.label_} {STATUS[s._.status][1]}"} for s in spans]
    return {"text": doc.text, "tokens": tokens, "spans": shown, "title": title}


def render_reports(items: Iterable[tuple[str, object]], labeler: Labeler, vocabulary: str = OWN_VOCABULARY,
                   title: str = "cxr label", note: str = "") -> str:
    """The whole page for ``(report id, text)`` pairs."""
    import spacy
    from spacy import displacy

    from cxr.labeler.spacy_component import CxrLabeler

    nlp = spacy.blank("es" if labeler.language == "es" else "en")
    component = CxrLabeler(nlp, labeler=labeler, vocabulary=vocabulary, set_ents=False)
    colours = {f"{label} {sym}": colour for label in labeler.onto.labels for _, sym, colour in STATUS.values()}
    parts = []
    for rid, text in items:
        doc = component(nlp.make_doc("" if is_missing(text) else str(text)))
        data = _display_data(doc, component.spans_key, html.escape(str(rid)))
        body = displacy.render(data, style="span", manual=True, page=False, jupyter=False,
                               options={"colors": colours, "spans_key": component.spans_key})
        body = body.replace(NEWLINE, "<br>")
        values = doc._.cxr_labels
        labels = " ".join(_chip(f"{k} {v:+d}" if v else f"{k} 0", v) for k, v in values.items()) \
            or '<span class="none">no label mentioned</span>'
        parts.append(f'<div class="report">{body}<p class="labels">{html.escape(vocabulary)}: {labels}</p></div>')
    return PAGE.format(title=html.escape(title), legend=legend(), note=html.escape(note), reports="\n".join(parts))


def _first(source: ReportSource, limit: int) -> Iterator[tuple[str, object]]:
    pairs = ((rid, text) for chunk in source.chunks() for rid, text in zip(chunk.ids, chunk.texts))
    return itertools.islice(pairs, limit)


def build_html(source: ReportSource, labeler: Labeler, *, vocabulary: str = OWN_VOCABULARY,
               limit: int = DEFAULT_LIMIT) -> tuple[str, int]:
    """The page for the first ``limit`` reports of ``source`` and how many it shows (publish it with
    ``cxr.core.atomic.atomic_write_text``)."""
    items = list(_first(source, limit + 1))
    more = f" (the first {limit} of the input: --html-limit)" if len(items) > limit else ""
    items = items[:limit]
    note = f"{len(items)} report(s){more}; each tag names the label and its status; under each report, its labels"
    return render_reports(items, labeler, vocabulary, title=f"cxr label: {source.path.name}", note=note), len(items)
