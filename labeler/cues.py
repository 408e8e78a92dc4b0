"""Context cues (negation, hedging, pseudo-negation, terminators, resolution, history), compiled and found.

Each cue list of ``ontology/cues.yaml`` has a kind and the direction(s) it acts in. The same pattern in
a preceding and a following list becomes one cue acting both ways.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from cxr.labeler.patterns import compile_pattern

PRE, FOL = "preceding", "following"

#: cues.yaml list -> (kind, directions the cue acts in)
CUE_LISTS: dict[str, tuple[str, frozenset[str]]] = {
    "negation_preceding": ("negation", frozenset({PRE})),
    "negation_following": ("negation", frozenset({FOL})),
    "uncertainty_preceding": ("uncertainty", frozenset({PRE})),
    "uncertainty_following": ("uncertainty", frozenset({FOL})),
    "pseudo_negation": ("pseudo", frozenset()),
    "terminators": ("terminator", frozenset()),
    "resolution": ("resolution", frozenset({PRE, FOL})),
    "history": ("history", frozenset({PRE, FOL})),
    # acts only on a mention whose span contains it ("normal heart size"); transparent to the walks
    "negation_within": ("negation", frozenset()),
    # a benign explanation after a finding ("..., likely technical"): the finding is not affirmed; it is
    # hedged itself, so a finding after it is uncertain too ("may be due to overlapping structures or
    # early infiltrate")
    "benign_following": ("benign", frozenset({PRE, FOL})),
    # hedges read as uncertain only under strict hedging (CheXpert); see CueFinder(strict=...)
    "uncertainty_strict_preceding": ("uncertainty", frozenset({PRE})),
    "uncertainty_strict_following": ("uncertainty", frozenset({FOL})),
    "uncertainty_strict_within": ("uncertainty", frozenset()),
}
#: the cue lists a labeler with lenient hedging (PadChest, the Open-i gold) leaves out
STRICT_LISTS = frozenset({"uncertainty_strict_preceding", "uncertainty_strict_following",
                          "uncertainty_strict_within"})


class Cue(NamedTuple):
    kind: str
    directions: frozenset[str]
    source: str


class CueMatch(NamedTuple):
    start: int
    end: int
    cue: Cue


class CueFinder:
    """Cue patterns indexed by trigger key, like the label synonyms."""

    def __init__(self, cue_lists: dict[str, tuple[str, ...]], strict: bool = False):
        merged: dict[tuple[str, str], set[str]] = {}
        for list_name, patterns in cue_lists.items():
            if list_name in STRICT_LISTS and not strict:
                continue
            kind, directions = CUE_LISTS[list_name]
            for pat in patterns:
                key = (" ".join(pat.lower().split()), kind)
                merged.setdefault(key, set()).update(directions)
        self._index: dict[str, list[tuple]] = {}
        for pid, ((source, kind), directions) in enumerate(sorted(merged.items())):
            cp = compile_pattern(source)
            cue = Cue(kind, frozenset(directions), source)
            for key in cp.triggers:
                self._index.setdefault(key, []).append((pid, cue, cp.regex, cp.may_match))

    def find(self, text: str, start: int, end: int, words: set[str], keys: set[str]) -> list[CueMatch]:
        """Non-overlapping cues in ``text[start:end]`` in text order (benign explanation and pseudo-negation
        first, then longest).

        ``words``/``keys`` as for ``LabelMatcher.find``.
        """
        seen: set[int] = set()
        found: list[CueMatch] = []
        for key in keys:
            for pid, cue, regex, may_match in self._index.get(key, ()):
                if pid not in seen and may_match(words, keys):
                    seen.add(pid)
                    for m in regex.finditer(text, start, end):
                        found.append(CueMatch(m.start(), m.end(), cue))
        if len(found) > 1:
            found = _non_overlapping(found)
        return found


#: overlap priority of cue kinds (lower first): a benign explanation ("most likely represents a nipple
#: shadow") outranks the pseudo-negation inside it ("most likely"), which outranks every other cue
_PRIORITY = {"benign": 0, "pseudo": 1}


def _non_overlapping(found: list[CueMatch]) -> list[CueMatch]:
    """Greedy by priority (benign explanation, pseudo-negation, then longer); O(n log n) so run-on text
    stays fast."""
    found.sort(key=lambda c: (_PRIORITY.get(c.cue.kind, 2), c.start - c.end, c.start, c.cue.source))
    starts: list[int] = []
    kept: list[CueMatch] = []          # sorted by start; non-overlapping, so also by end
    for c in found:
        i = bisect_left(starts, c.start)
        if i < len(kept) and kept[i].start < c.end:        # the next kept one starts inside c
            continue
        if i > 0 and kept[i - 1].end > c.start:            # the previous kept one reaches into c
            continue
        starts.insert(i, c.start)
        kept.insert(i, c)
    return kept
