"""Finding mentions: which ontology labels a clause names, and where.

Patterns are indexed by their trigger keys (labeler.patterns), so a clause runs only the few patterns
whose trigger word it contains. Overlaps are settled so that the most specific wording wins:

- an exclusion of a label that overlaps that label's mention removes the mention
  ("pericardial effusion" is not a pleural effusion);
- of overlapping mentions of one label the longest is kept;
- a mention lying strictly inside a longer mention of the same label or of one of its descendants is
  dropped ("calcified granuloma" beats "granuloma"; the parent comes back by propagation); nested
  mentions of unrelated labels both stand ("pacemaker with a single lead": single chamber device and
  pacemaker).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from itertools import accumulate
from typing import NamedTuple

from cxr.labeler.ontology import Ontology
from cxr.labeler.patterns import PatternInfo, analyse_pattern, compile_pattern


class RawMention(NamedTuple):
    start: int
    end: int
    label: str
    pattern: str   # the synonym that matched (its mini-language source), for --explain


#: Keys of words found in most chest X-ray reports ("no", "normal", "pleural", "heart", ...). A pattern
#: indexed under one of them is a candidate in nearly every sentence; only speed depends on this list.
COMMON_KEYS = frozenset({
    "no", "nor", "the", "is", "are", "or", "and", "of", "in", "a", "to", "for", "on", "wit", "not", "fin",
    "imp", "eff", "pne", "ple", "lun", "car", "acu", "hea", "siz", "con", "foc", "cle", "lim", "med", "dis",
    "pul", "abn", "air", "sil", "vas", "rig", "lef", "app", "cha", "pro", "tho", "sta", "che", "bon", "spi",
    "evi", "mil", "lar", "sma", "see", "vis", "bil", "low", "upp", "bas", "lob", "sho", "cha", "pri", "int",
})


def index_keys(info: PatternInfo) -> frozenset[str]:
    """The keys to index a pattern under: the mandatory element whose keys are rarest in reports.

    Any mandatory element is a valid index (every match contains a word with one of its keys); the
    trigger chosen by the pattern compiler knows word lengths, not which words are everywhere.
    """
    # On a tie the first option wins: a wildcard word ("granuloma*") is usually the head noun, rarer than
    # its modifiers ("calcified"); sorting makes the choice independent of set order.
    options = [frozenset({k}) for k in sorted(info.required_keys)]
    options += [frozenset({w[:3]}) for w in sorted(info.required_words)]
    options += [info.triggers]
    options += [frozenset({w[:3] for w in words}) | keys for words, keys in info.required_any]
    return min(options, key=lambda keys: sum(50 if k in COMMON_KEYS else 1 for k in keys))


class LabelMatcher:
    """Compiled synonyms and exclusions of an ontology, indexed by trigger key."""

    def __init__(self, onto: Ontology):
        # index key -> ((pattern id, label, source, required words, required keys, required any), ...). Regexes compile on first use: re.compile of ~1,000 patterns would be most of
        # the start-up time, and a corpus needs a fraction of them.
        index: dict[str, list[tuple]] = {}
        self._sources: list[str] = []
        self._regexes: list[re.Pattern | None] = []
        self._multi: set[int] = set()    # patterns indexed under several keys: run once per clause
        for label, syn in ((lab.name, syn) for lab in onto.labels.values() for syn in lab.synonyms):
            info = analyse_pattern(syn)
            pid = len(self._sources)
            self._sources.append(info.regex_source)
            self._regexes.append(None)
            if len(info.triggers) > 1:
                self._multi.add(pid)
            entry = (pid, label, syn, info.required_words, info.required_keys, info.required_any)
            for key in index_keys(info):
                index.setdefault(key, []).append(entry)
        self._index = {k: tuple(v) for k, v in index.items()}
        # label -> its exclusion patterns, run only where their words occur (compiled on first use)
        self._exclusions: dict[str, tuple[PatternInfo, ...]] = {
            lab.name: tuple(analyse_pattern(x) for x in lab.exclusions) for lab in onto.labels.values() if lab.exclusions}
        #: label -> itself and its ancestors: the labels a longer mention of it makes redundant
        self._covers: dict[str, frozenset[str]] = {
            name: frozenset((name, *onto.ancestors(name))) for name in onto.labels}

    def _regex(self, pid: int) -> re.Pattern:
        regex = self._regexes[pid]
        if regex is None:
            regex = self._regexes[pid] = re.compile(self._sources[pid])
        return regex

    def find(self, text: str, start: int, end: int, words: set[str], keys: set[str]) -> list[RawMention]:
        """Mentions in ``text[start:end]`` (normalised text), sorted by position, overlaps settled.

        ``words``/``keys``: ``text_words``/``text_keys`` of the same range; a pattern runs only when the
        range has its trigger key, its mandatory words and the keys of its mandatory wildcard words.
        """
        index, regexes, multi = self._index, self._regexes, self._multi
        seen: set[int] = set()
        found: list[RawMention] = []
        for key in keys:
            entries = index.get(key)
            if entries is None:
                continue
            for pid, label, source, req_words, req_keys, req_any in entries:
                # PatternInfo.may_match, inlined: this loop is the labeler's hottest
                if not (req_words <= words and req_keys <= keys):
                    continue
                if req_any:
                    for any_words, any_keys in req_any:
                        if any_words.isdisjoint(words) and any_keys.isdisjoint(keys):
                            break
                    else:
                        req_any = None
                    if req_any is not None:
                        continue
                if pid in multi:
                    if pid in seen:
                        continue
                    seen.add(pid)
                regex = regexes[pid] or self._regex(pid)
                for m in regex.finditer(text, start, end):
                    found.append(RawMention(m.start(), m.end(), label, source))
        if not found:
            return found
        if self._exclusions:
            found = self._drop_excluded(text, start, end, words, keys, found)
        if len(found) > 1:
            found = _settle_overlaps(found, self._covers)
        return found

    def _drop_excluded(self, text: str, start: int, end: int, words: set[str], keys: set[str],
                       found: list[RawMention]) -> list[RawMention]:
        blocked: dict[str, tuple[list[int], list[int]]] = {}
        for label in {m.label for m in found}:
            infos = self._exclusions.get(label)
            if not infos:
                continue
            spans = sorted(x.span() for info in infos if info.may_match(words, keys)
                           for x in compile_pattern(info.source).regex.finditer(text, start, end))
            if spans:
                blocked[label] = ([a for a, _ in spans], list(accumulate((b for _, b in spans), max)))
        if not blocked:
            return found
        return [m for m in found if m.label not in blocked or not _overlaps_any(m, *blocked[m.label])]


def _overlaps_any(m: RawMention, starts: list[int], max_ends: list[int]) -> bool:
    """Whether any blocked span (sorted starts, running max of ends) overlaps ``m``; O(log n)."""
    i = bisect_left(starts, m.end)          # spans starting before the mention ends
    return i > 0 and max_ends[i - 1] > m.start


def _settle_overlaps(found: list[RawMention], covers: dict[str, frozenset[str]] | None = None) -> list[RawMention]:
    """Drop mentions strictly inside a longer one that covers them, then keep the longest of overlapping
    same-label ones.

    ``covers``: label -> the labels a mention of it makes redundant (itself and its ancestors); a nested
    mention of any other label stands. Without it, any strictly nested mention is dropped. Both passes are
    linear after one sort (plus the few spans open at a time), so a pathological 1 MB report stays fast.
    Ties are ordered by label and pattern: the result never depends on set/dict iteration order.
    """
    found.sort()                                # (start, end, label, pattern): plain tuple order
    if all(a.end <= b.start for a, b in zip(found, found[1:])):
        return found                            # the common case: nothing overlaps
    found.sort(key=lambda m: (m.start, -m.end, m.label, m.pattern))
    outer: list[RawMention] = []
    open_spans: list[RawMention] = []           # kept mentions that may still contain later ones
    for m in found:
        open_spans = [c for c in open_spans if c.end > m.start] if open_spans else open_spans
        nested = False
        for c in open_spans:                    # c.start <= m.start (sorted)
            if c.end >= m.end and (c.start, c.end) != (m.start, m.end) and (
                    covers is None or m.label in covers.get(c.label, (c.label,))):
                nested = True
                break
        if nested:
            continue                            # strictly inside a longer mention that covers it
        outer.append(m)
        open_spans.append(m)
    last: dict[str, int] = {}                   # label -> index in kept of its latest mention
    kept: list[RawMention | None] = []
    for m in outer:
        i = last.get(m.label)
        if i is not None and kept[i].start < m.end and m.start < kept[i].end:   # type: ignore[union-attr]
            prev = kept[i]
            if (m.end - m.start) > (prev.end - prev.start):                      # type: ignore[union-attr]
                kept[i] = None
                last[m.label] = len(kept)
                kept.append(m)
            continue
        last[m.label] = len(kept)
        kept.append(m)
    return [m for m in kept if m is not None]
