"""Context cues (negation, hedging, pseudo-negation, terminators, resolution, history), compiled and found.

Each cue list of ``ontology/cues.yaml`` has a kind and the direction(s) it acts in. The same pattern in
a preceding and a following list becomes one cue acting both ways.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from cxr.labeler.matcher import AtomIndex, index_atoms, pattern_gate
from cxr.labeler.patterns import compile_pattern, gate_open

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


#: ``new_match(CueMatch, (start, end, cue))``: a CueMatch without the named tuple's Python-level ``__new__``
new_match = tuple.__new__


class CueFinder:
    """Cue patterns indexed like the label synonyms (``matcher.index_atoms``): under the whole word, word
    key or prefix token of their rarest mandatory element, so a clause looks only at the cues whose index
    atom it holds, and runs a regex only when the cue's other mandatory words are there too."""

    def __init__(self, cue_lists: dict[str, tuple[str, ...]], strict: bool = False, language: str = "en"):
        merged: dict[tuple[str, str], set[str]] = {}
        for list_name, patterns in cue_lists.items():
            if list_name in STRICT_LISTS and not strict:
                continue
            kind, directions = CUE_LISTS[list_name]
            for pat in patterns:
                key = (" ".join(pat.lower().split()), kind)
                merged.setdefault(key, set()).update(directions)
        # An entry is (pattern id, cue, regex, what else a match needs (``matcher.pattern_gate``)). Entries
        # stay in pattern-id order within each list: cues of one source and span tie in ``_non_overlapping``,
        # and the stable sort then keeps the order they were found in.
        filed: list[tuple[tuple, tuple]] = []
        #: the wildcard prefixes of the cues: the ``ClauseAtoms`` that ``find`` needs
        self.prefixes: frozenset[str] = frozenset().union(*(compile_pattern(x).prefixes() for x, _ in merged))
        self._multi: set[int] = set()    # cues indexed under several atoms: run once per clause
        for pid, ((source, kind), directions) in enumerate(sorted(merged.items())):
            cp = compile_pattern(source)
            atoms = index_atoms(cp, language)
            if len(atoms) > 1:
                self._multi.add(pid)
            entry = (pid, Cue(kind, frozenset(directions), source), cp.regex, pattern_gate(cp, atoms))
            filed.append((atoms, entry))
        self._index = AtomIndex(filed)

    def find(self, text: str, start: int, end: int, atoms: set[str]) -> list[CueMatch]:
        """Non-overlapping cues in ``text[start:end]`` in text order (benign explanation and pseudo-negation
        first, then longest).

        ``atoms`` as for ``LabelMatcher.find`` (with this finder's ``prefixes``).
        """
        found: list[CueMatch] = []
        # most clauses hold one or two indexed atoms; a third of the clauses with mentions none
        candidates = self._index.lookup(atoms)
        if not candidates:
            return found
        multi = self._multi
        seen: set[int] | None = None
        for entries in candidates:
            for pid, cue, regex, gate in entries:
                if gate is not None and not gate_open(gate, atoms):
                    continue
                if pid in multi:
                    if seen is None:
                        seen = set()
                    elif pid in seen:
                        continue
                    seen.add(pid)
                # search, not finditer: a quarter of the runs find nothing, and then no iterator is made
                m = regex.search(text, start, end)
                while m is not None:
                    found.append(new_match(CueMatch, (m.start(), m.end(), cue)))
                    m = regex.search(text, m.end(), end)
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
