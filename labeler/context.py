"""The status of one mention from the cues around it in its clause (NegEx-style scopes).

From the mention the engine walks to the nearest cue on each side:

- backwards, a cue acting forwards ("no", "possible", "resolution of", "stable") applies; past a history
  cue the walk goes on to a hedge in the same phrase ("may be an old healed fracture" is uncertain); it stops
  at a terminator, a pseudo-negation ("no change in"), a cue acting only backwards (it closes an earlier
  statement), or after ``pre_window`` words. Commas do not stop it, so "no effusion, pneumothorax or
  consolidation" negates all three;
- forwards, a cue acting backwards ("is not seen", "cannot be excluded", "has resolved") applies; the
  walk stops likewise, at a cue acting only forwards ("small effusion, no pneumothorax") or after
  ``fol_window`` words;
- a cue inside the mention span ("heart is not enlarged") applies too.

The decision: uncertainty > negation/resolution > history > affirmed, except that a negation governing
a forward hedge in the same phrase (no comma between them) wins: "no suspicious nodule" and "no opacity to
suggest pneumonia" are negative, "no effusion, possible pneumonia" is uncertain.

Windows: on the Open-i development reports micro-F1 rises up to ``pre_window`` = 12 words and is flat
beyond (lists like "without focal airspace disease, pleural effusion, or pneumothorax" need ~8); 8 words
cost 0.4-1.3 points. ``fol_window`` is flat between 4 and 12.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import NamedTuple

from cxr.labeler.cues import FOL, PRE, CueMatch
from cxr.labeler.ontology import NEGATIVE, POSITIVE, UNCERTAIN

_WORD = re.compile(r"[a-z0-9]+")
_STOPPERS = ("terminator", "pseudo")
_STATUS = {"uncertainty": UNCERTAIN, "negation": NEGATIVE, "resolution": NEGATIVE, "history": POSITIVE}
_RANK = {"uncertainty": 3, "negation": 2, "resolution": 2, "history": 1}


@dataclass(frozen=True)
class ContextRules:
    """Scope limits in words between cue and mention; lists of findings rarely exceed them."""
    pre_window: int = 12
    fol_window: int = 6


class Decision(NamedTuple):
    status: int
    cue: str | None     # matched cue text
    rule: str           # e.g. 'negation_preceding', 'uncertainty_following', 'history', 'affirmed'


AFFIRMED = Decision(POSITIVE, None, "affirmed")


# A window of n words never spans more than this many characters per word; beyond it, no counting is
# needed (and a 1 MB run-on sentence costs no quadratic time).
_MAX_CHARS_PER_WORD = 30


def _within(text: str, a: int, b: int, window: int) -> bool:
    """Whether at most ``window`` words lie between offsets a and b."""
    if b - a > window * _MAX_CHARS_PER_WORD:
        return False
    return b <= a or len(_WORD.findall(text, a, b)) <= window


class ClauseCues:
    """The cues of one clause with their offsets, for O(log n) lookups around each mention."""

    __slots__ = ("cues", "starts", "ends")

    def __init__(self, cues: list[CueMatch]):
        self.cues = cues                       # sorted and non-overlapping, so ends are sorted too
        self.starts = [c.start for c in cues]
        self.ends = [c.end for c in cues]


def _backward(text: str, cc: ClauseCues, ms: int, window: int) -> tuple[CueMatch | None, bool]:
    """Nearest cue acting forwards on a mention at ``ms``, and whether a negation lies farther out."""
    nearest: CueMatch | None = None
    for i in range(bisect_right(cc.ends, ms) - 1, -1, -1):
        c = cc.cues[i]
        kind = c.cue.kind
        if kind in _STOPPERS or PRE not in c.cue.directions or not _within(text, c.end, ms, window):
            break
        if nearest is None:
            nearest = c
            if kind not in ("uncertainty", "history"):
                return nearest, False
        elif nearest.cue.kind == "history":
            # "may be the site of an old healed fracture": a hedge over the whole phrase outranks a
            # nearer history cue; "possible effusion, stable granuloma" (a comma between) does not
            if kind == "uncertainty" and "," not in text[c.end:nearest.start]:
                return c, False
            break
        elif kind == "negation":
            # "no suspicious nodule", "no opacity to suggest pneumonia": the negation governs the hedge
            # within one phrase; "no effusion, possible pneumonia" is a hedge after a negated list
            return nearest, "," not in text[c.end:nearest.start]
        else:
            break
    return nearest, False


def _forward(text: str, cc: ClauseCues, me: int, window: int) -> CueMatch | None:
    i = bisect_left(cc.starts, me)
    if i == len(cc.cues):
        return None
    c = cc.cues[i]
    if c.cue.kind in _STOPPERS or FOL not in c.cue.directions or not _within(text, me, c.start, window):
        return None
    return c


def _inside(cc: ClauseCues, ms: int, me: int) -> list[CueMatch]:
    out = []
    for i in range(bisect_left(cc.starts, ms), len(cc.cues)):
        c = cc.cues[i]
        if c.start >= me:
            break
        if c.end <= me and c.cue.kind in _STATUS:
            out.append(c)
    return out


def decide(text: str, cues: ClauseCues, ms: int, me: int, rules: ContextRules) -> Decision:
    """Status of the mention ``text[ms:me]`` given its clause's cues."""
    if not cues.cues:
        return AFFIRMED
    options: list[tuple[CueMatch, str]] = [(c, "inside") for c in _inside(cues, ms, me)]
    pre, negated_outside = _backward(text, cues, ms, rules.pre_window)
    if pre is not None:
        if negated_outside:
            return Decision(NEGATIVE, text[pre.start:pre.end], "negated_hedge")
        options.append((pre, PRE))
    fol = _forward(text, cues, me, rules.fol_window)
    if fol is not None:
        options.append((fol, FOL))
    if not options:
        return AFFIRMED
    cue, where = max(options, key=lambda o: _RANK[o[0].cue.kind])
    kind = cue.cue.kind
    rule = f"{kind}_{where}" if kind in ("negation", "uncertainty") else kind
    return Decision(_STATUS[kind], text[cue.start:cue.end], rule)
