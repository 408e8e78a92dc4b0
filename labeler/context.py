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
- a cue inside the mention span ("heart is not enlarged"), or starting inside it ("mediastinal contours
  are within normal limits"), applies too; so do the ``*_within`` cues ("normal heart size",
  "borderline heart size"), which act only there and are transparent to both walks;
- a ``benign_following`` cue after the mention ("..., likely technical") makes it uncertain
  (rule ``benign_explanation``); it outranks every other cue.

The decision: benign explanation > uncertainty > negation/resolution > history > affirmed, except that a negation governing
a forward hedge in the same phrase (no comma between them) wins: "no suspicious nodule" and "no opacity to
suggest pneumonia" are negative, "no effusion, possible pneumonia" is uncertain.

Windows: on the Open-i development reports micro-F1 rises up to ``pre_window`` = 12 words and is flat
beyond (lists like "without focal airspace disease, pleural effusion, or pneumothorax" need ~8); 8 words
cost 0.4-1.3 points. ``fol_window`` is flat between 4 and 12.

After every mention of a clause is decided, ``alternatives`` makes the affirmed members of an
alternative ("atelectasis versus pneumonia", "effusion or thickening") uncertain (rule ``alternative``).
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
_STATUS = {"uncertainty": UNCERTAIN, "negation": NEGATIVE, "resolution": NEGATIVE, "history": POSITIVE,
           "benign": UNCERTAIN}
_RANK = {"benign": 4, "uncertainty": 3, "negation": 2, "resolution": 2, "history": 1}


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
        if not c.cue.directions and kind in _STATUS:
            continue                     # a *_within cue ("normal") acts only inside a mention
        if kind in _STOPPERS or PRE not in c.cue.directions or not _within(text, c.end, ms, window):
            break
        if nearest is None:
            if kind == "benign" and " or " not in text[c.end:ms]:
                break                    # "due to overlying soft tissues or early infiltrate" only
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
    while i < len(cc.cues) and not cc.cues[i].cue.directions and cc.cues[i].cue.kind in _STATUS:
        i += 1                           # *_within cues are transparent
    if i == len(cc.cues):
        return None
    c = cc.cues[i]
    if c.cue.kind in _STOPPERS or FOL not in c.cue.directions or not _within(text, me, c.start, window):
        return None
    return c


def _inside(cc: ClauseCues, ms: int, me: int) -> list[CueMatch]:
    out = []
    i = bisect_left(cc.starts, ms)
    if i and cc.ends[i - 1] > ms:        # a cue running into the mention: "size is [normal and ...]"
        i -= 1
    for i in range(i, len(cc.cues)):
        c = cc.cues[i]
        if c.start >= me:
            break
        # a cue starting inside the mention may run past it: "mediastinal contours are within normal
        # limits" (the mention ends at "normal")
        if c.cue.kind in _STATUS and c.cue.kind != "benign":   # a benign explanation acts backwards only
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
    if kind in ("negation", "uncertainty"):
        rule = f"{kind}_{where}"
    else:
        rule = "benign_explanation" if kind == "benign" else kind
    return Decision(_STATUS[kind], text[cue.start:cue.end], rule)


# --- alternatives --------------------------------------------------------------------------------
# "atelectasis versus pneumonia", "effusion or thickening", "edema and/or infection", "atelectasis,
# scarring, or pneumonia", "atelectasis/scarring": each member of the alternative is uncertain. Two
# mentions form an alternative when only a connector (and at most three modifier words on each side of
# it) lies between them; ", or" also takes in the comma-joined mentions before it ("A, B, or C"); a
# plain "or" and "versus" only their two neighbours ("retrocardiac opacity, atelectasis versus
# pneumonia" and "bibasilar opacities, atelectasis or pneumonia" keep the opacity). A
# gap holding a negation, resolution, pseudo-negation or terminator cue links nothing ("mild
# cardiomegaly, no effusion or pneumothorax"). Only affirmed members change: a negated list ("no
# effusion or pneumothorax") stays negative, and a member positive elsewhere in the report stays
# positive by precedence.
_CONNECTOR = re.compile(r"\b(?:or|versus|vs)\b|/")
_MODS = r"(?:[a-z0-9'-]+\s+){0,3}?"
_ALT_GAP = re.compile(rf"\s*(?:,?\s*[a-z0-9'-]+\s*){{0,3}}?(?P<comma>,\s*)?(?P<c>and/or|and or|or|versus|vs\.?|/)\s*{_MODS}")
# "pneumonia versus aspiration", "edema vs. fluid overload": "versus" makes the mention next to it an
# alternative even when the other side is no mention of ours
_VERSUS_AFTER = re.compile(r"\s*,?\s*(?:versus|vs\.?)(?=\s)")
_VERSUS_BEFORE = re.compile(r"(?<![a-z])(?:versus|vs\.?)\s+(?:[a-z0-9'-]+\s+){0,3}\Z")
_LIST_GAP = re.compile(r"\s*,\s*(?:[a-z0-9'-]+\s+){0,2}?")
_GAP_BLOCKERS = ("negation", "resolution", "pseudo", "terminator", "benign")


def _gap_blocked(cc: ClauseCues, a: int, b: int) -> bool:
    for i in range(bisect_left(cc.starts, a), len(cc.cues)):
        c = cc.cues[i]
        if c.start >= b:
            return False
        if c.cue.kind in _GAP_BLOCKERS:
            return True
    return False


class Kinship:
    """Whether two labels are kinds of one thing: they share an ancestor that is not a root of the tree
    ("pacemaker/ICD": both electrical devices). Such a pair is no alternative: the device is there."""

    def __init__(self, onto) -> None:
        roots = {n for n, lab in onto.labels.items() if not lab.parents}
        self._up = {n: frozenset({n, *onto.ancestors(n)}) - roots for n in onto.labels}

    def __call__(self, a: str, b: str) -> bool:
        return bool(self._up[a] & self._up[b])


def alternatives(text: str, cc: ClauseCues, spans: list[tuple[int, int]],
                 decisions: list[Decision], labels: list[str] | None = None,
                 kin: Kinship | None = None) -> list[Decision]:
    """``decisions`` of one clause's mentions (at ``spans``, of ``labels``) with the affirmed members of
    alternatives made uncertain (rule 'alternative', cue the connector); two mentions of labels that
    are kin (``Kinship``) form no alternative."""
    if not spans or not _CONNECTOR.search(text, min(s for s, _ in spans), max(e for _, e in spans) + 12):
        return decisions
    items: list[list] = []                  # [start, end, mention indices], overlapping mentions merged
    for i in sorted(range(len(spans)), key=lambda k: spans[k]):
        s, e = spans[i]
        if items and s < items[-1][1]:
            items[-1][1] = max(items[-1][1], e)
            items[-1][2].append(i)
        else:
            items.append([s, e, [i]])
    links: list[str | None] = []
    for k in range(len(items) - 1):
        a, b = items[k][1], items[k + 1][0]
        kind = None
        m = _ALT_GAP.fullmatch(text, a, b)
        if m:
            kind = "versus" if m.group("c").startswith("v") else ("list or" if m.group("comma") else "or")
        elif _LIST_GAP.fullmatch(text, a, b):
            kind = "list"
        if kind and _gap_blocked(cc, a, b):
            kind = None
        if kind and kin is not None and labels is not None and any(
                kin(labels[i], labels[j]) for i in items[k][2] for j in items[k + 1][2]):
            kind = None
        links.append(kind if kind is None else (kind, text[m.start("c"):m.end("c")] if m else ","))
    members: dict[int, str] = {}
    for k, link in enumerate(links):
        if link is None or link[0] == "list":
            continue
        members.setdefault(k, link[1])
        members.setdefault(k + 1, link[1])
        if link[0] == "list or":       # "A, B, or C"; not "basal opacities, atelectasis or pneumonia"
            j = k - 1
            while j >= 0 and links[j] is not None and links[j][0] == "list":
                members.setdefault(j, link[1])
                j -= 1
    for k, (s, e, _) in enumerate(items):
        if k in members:
            continue
        m = _VERSUS_AFTER.match(text, e)
        if m and not _gap_blocked(cc, e, m.end()):
            members[k] = m.group().strip(" ,")
            continue
        m = _VERSUS_BEFORE.search(text, max(0, s - 60), s)
        if m and not _gap_blocked(cc, m.start(), s):
            members[k] = m.group().split()[0]
    if not members:
        return decisions
    out = list(decisions)
    for k, connector in members.items():
        for i in items[k][2]:
            if out[i].status == POSITIVE:
                out[i] = Decision(UNCERTAIN, connector, "alternative")
    return out
