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

import functools
import re
from bisect import bisect_left
from itertools import accumulate, chain
from typing import Iterable, NamedTuple

from cxr.labeler.ontology import Label, Ontology
from cxr.labeler.patterns import (Gate, PatternInfo, analyse_pattern, compile_pattern, gate_open, make_gate,
                                  prefix_token)


class RawMention(NamedTuple):
    start: int
    end: int
    label: str
    pattern: str   # the synonym that matched (its mini-language source), for --explain


#: ``new_mention(RawMention, (start, end, label, pattern))``: a RawMention without the named tuple's
#: Python-level ``__new__`` (a third of the cost of creating one)
new_mention = tuple.__new__


#: Per cent of clauses that contain a word with this key / this word, in the 1,278 Open-i development
#: reports (those at 1 % or more). A pattern is indexed under the mandatory element expected in the fewest
#: clauses (a candidate looked at is a set test, a regex run is worse); only speed depends on these tables.
KEY_SHARE: dict[str, float] = {
    "the": 34.9, "no": 33.7, "is": 20.7, "are": 20.1, "nor": 18.1, "car": 15.7, "wit": 14.8, "lun": 14.3,
    "and": 14.1, "of": 14, "eff": 14, "acu": 13.9, "con": 13.5, "pne": 13.4, "ple": 13.2, "or": 12.9,
    "xxx": 12.1, "hea": 11.1, "siz": 10.6, "foc": 8.8, "cle": 8, "dis": 8, "lim": 7.8, "pul": 7.6, "med": 7.4,
    "in": 7.2, "abn": 7.1, "rig": 6.4, "air": 6, "lef": 5.7, "sil": 5.2, "opa": 4.6, "sta": 4.5, "vas": 4.5,
    "app": 4.5, "int": 4.3, "cha": 3.9, "1": 3.6, "pro": 3.5, "fin": 3.4, "tho": 3.4, "str": 3.2, "for": 3.2,
    "che": 3.2, "mil": 3.2, "low": 3, "inf": 2.9, "bon": 2.9, "cal": 2.9, "spi": 2.9, "unr": 2.9, "evi": 2.8,
    "a": 2.7, "to": 2.7, "lar": 2.5, "lob": 2.5, "bas": 2.5, "see": 2.4, "bil": 2.4, "not": 2.3, "vis": 2.3,
    "upp": 2.3, "sca": 2.1, "deg": 2.1, "ate": 2.1, "oss": 2.1, "aor": 2.1, "gra": 2, "pre": 2, "ide": 2,
    "nod": 2, "2": 2, "vol": 1.9, "pos": 1.7, "ede": 1.6, "hyp": 1.6, "mid": 1.5, "lat": 1.5, "com": 1.4,
    "thi": 1.4, "def": 1.4, "pat": 1.4, "exa": 1.3, "on": 1.3, "fro": 1.3, "neg": 1.3, "be": 1.3, "rad": 1.3,
    "act": 1.3, "ove": 1.2, "pri": 1.2, "sma": 1.2, "spa": 1.2, "enl": 1.2, "rep": 1.1, "unc": 1.1, "may": 1.1,
    "oth": 1.1, "rib": 1.1, "chr": 1, "gro": 1,
}
WORD_SHARE: dict[str, float] = {
    "no": 33.7, "the": 27.4, "is": 20.7, "are": 19.7, "normal": 17.8, "and": 14.1, "of": 14, "acute": 13.9,
    "pleural": 13.1, "or": 12.9, "xxxx": 12.1, "pneumothorax": 11.8, "effusion": 11.7, "there": 11,
    "heart": 10.8, "size": 10.5, "lungs": 9.9, "focal": 8.8, "clear": 8, "within": 7.9, "cardiopulmonary": 7.7,
    "pulmonary": 7.6, "limits": 7.5, "disease": 7.2, "in": 7.2, "right": 6.4, "left": 5.7,
    "consolidation": 5.5, "abnormality": 5.4, "silhouette": 5, "airspace": 4.7, "mediastinal": 4.7,
    "with": 4.6, "lung": 4.5, "stable": 4.4, "cardiomediastinal": 3.8, "1": 3.6, "chest": 3.2, "changes": 3.2,
    "findings": 3.1, "for": 3.1, "contour": 2.9, "unremarkable": 2.9, "spine": 2.8, "structures": 2.8,
    "evidence": 2.7, "a": 2.7, "to": 2.7, "without": 2.6, "bony": 2.6, "mild": 2.5, "contours": 2.5,
    "thoracic": 2.5, "mediastinum": 2.5, "large": 2.5, "opacity": 2.4, "seen": 2.4, "cardiac": 2.3,
    "effusions": 2.3, "upper": 2.3, "lobe": 2.2, "appear": 2.2, "opacities": 2.2, "degenerative": 2.1,
    "atelectasis": 2.1, "osseous": 2, "vascularity": 2, "calcified": 2, "identified": 2, "2": 2, "intact": 2,
    "process": 1.8, "volumes": 1.7, "cardiomegaly": 1.6, "lower": 1.6, "visualized": 1.6, "edema": 1.6,
    "vasculature": 1.6, "abnormalities": 1.6, "noted": 1.5, "lateral": 1.5, "low": 1.4, "aorta": 1.4,
    "infiltrate": 1.4, "on": 1.3, "negative": 1.3, "be": 1.3, "base": 1.3, "active": 1.3, "scarring": 1.2,
    "present": 1.2, "bilaterally": 1.2, "bilateral": 1.2, "interstitial": 1.2, "small": 1.2, "air": 1.1,
    "pneumonia": 1.1, "appearance": 1.1, "may": 1.1, "prior": 1.1, "otherwise": 1.1, "this": 1, "chronic": 1,
    "unchanged": 1,
}
#: The same tables for Spanish: clauses of the MINING half of PadChest's development reports (stemmed,
#: bench/padchest_es.py), the commonest keys and words.
KEY_SHARE_ES: dict[str, float] = {
    "con": 24.2, "sin": 22.9, "sig": 18.5, "hal": 15.7, "cam": 14.5, "der": 12.3, "est": 11, "pul": 10.9,
    "inf": 9.6, "rel": 9.6, "rad": 9.3, "no": 9.1, "car": 9, "pro": 8.2, "res": 8, "izq": 7.7, "pre": 7.7,
    "den": 6.1, "ple": 6, "com": 6, "par": 5.7, "nor": 5.5, "aor": 5.3, "cos": 4.8, "epo": 4.8, "dor": 4.8,
    "pat": 4.3, "apr": 4.3, "alt": 4.2, "ate": 4.2, "cro": 4.1, "aum": 4.1, "hil": 3.9, "cal": 3.9, "int": 3.9,
    "elo": 3.8, "bas": 3.7, "bil": 3.7, "sen": 3.5, "med": 3.5, "dis": 3.4, "per": 3.2, "hem": 3.1, "esc": 3.1,
    "ni": 3, "ant": 3, "tra": 3, "gra": 3, "eng": 2.7, "sil": 2.7, "sup": 2.5, "ima": 2.4, "mar": 2.3,
    "fec": 2.2, "dia": 2.1, "tor": 2.1, "vas": 2, "ind": 2, "val": 1.9, "pin": 1.9, "nod": 1.8, "aer": 1.8,
    "cli": 1.8, "sug": 1.7, "obs": 1.7, "atr": 1.7, "sub": 1.7, "ext": 1.7, "alv": 1.7, "pos": 1.6, "vis": 1.6,
    "obj": 1.5, "ver": 1.4, "neu": 1.4, "des": 1.4, "pac": 1.4, "ori": 1.4, "ret": 1.4, "lig": 1.4, "lob": 1.4,
    "deg": 1.3, "fra": 1.3, "mej": 1.3, "lim": 1.3, "niv": 1.3, "amb": 1.3, "peq": 1.3, "bia": 1.3, "ose": 1.3,
    "ide": 1.2, "lib": 1.2, "bro": 1.2, "col": 1.2, "bib": 1.2, "cif": 1.2, "aso": 1.1, "cor": 1.1, "met": 1.1,
    "cen": 1.1, "ele": 1.1, "opa": 1.1, "mam": 1.1, "imp": 1, "esp": 1,
}
WORD_SHARE_ES: dict[str, float] = {
    "sin": 22.8, "con": 17.2, "hallazg": 15.7, "cambi": 13.2, "signific": 10.5, "derech": 10.1, "estudi": 9.8,
    "no": 9.1, "radiolog": 8.6, "izquierd": 7.7, "sign": 7.2, "infiltr": 6.8, "previ": 6.6, "relev": 6.4,
    "pulmon": 5.8, "respect": 5.7, "normal": 5.5, "pulmonar": 5.2, "epoc": 4.8, "pleural": 4.6, "cronic": 4.1,
    "apreci": 4, "aument": 4, "aortic": 4, "hili": 3.8, "dentr": 3.7, "bilateral": 3.6, "parenquim": 3.5,
    "probabl": 3.5, "sen": 3.4, "dorsal": 3.3, "relacion": 3.2, "elongacion": 3.1, "costofren": 3.1,
    "alter": 3.1, "ni": 3, "derram": 3, "comp": 2.8, "engros": 2.7, "siluet": 2.7, "escoliosis": 2.6,
    "atelectasi": 2.5, "patolog": 2.5, "calcific": 2.4, "condens": 2.4, "basal": 2.3, "cardiomegali": 2.3,
    "densid": 2.2, "anterior": 2.2, "prominent": 2.1, "indic": 2, "hemitorax": 2, "superior": 2,
    "vascul": 1.9, "cardiotorac": 1.9, "pinzamient": 1.8, "aere": 1.8, "medi": 1.8, "patron": 1.7,
    "nodul": 1.7, "atrap": 1.7, "mediastin": 1.7, "valor": 1.6, "intersticial": 1.6, "infecci": 1.5,
    "observ": 1.5, "ateromatosis": 1.5, "clinic": 1.5, "imag": 1.5, "inflamatori": 1.4, "bas": 1.4,
    "proces": 1.4, "orig": 1.4, "liger": 1.3, "rest": 1.3, "costal": 1.3, "degener": 1.3, "fractur": 1.3,
    "limit": 1.3, "sugest": 1.3, "pequen": 1.3, "ose": 1.3, "pleuroparenquimat": 1.3, "biapical": 1.2,
    "aort": 1.2, "libr": 1.2, "cardiomediastin": 1.2, "bibasal": 1.2, "alveol": 1.1, "hemidiafragm": 1.1,
    "ambos": 1, "granulom": 1, "retrocardiac": 1, "cardiac": 1, "central": 1, "marcapas": 1,
}
#: language -> (key shares, word shares); a language without tables uses the English ones
SHARES: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "en": (KEY_SHARE, WORD_SHARE), "es": (KEY_SHARE_ES, WORD_SHARE_ES)}
#: share assumed for a key / a word that is not in the tables (both rarer than 1 %)
RARE_KEY, RARE_WORD = 0.5, 0.3

#: Index atoms: a whole word ("w", word) or a key ("k", a word key or a ``prefix_token``: "plaque*").
Atom = tuple[str, str]


def _atom_cost(atom: Atom, language: str = "en") -> float:
    """Expected share of clauses holding the atom; a word or prefix is never commoner than its key."""
    kind, text = atom
    key_share, word_share = SHARES.get(language, SHARES["en"])
    key = key_share.get(text[:3], RARE_KEY)
    if kind == "w":
        return word_share.get(text, min(key, RARE_WORD))
    if text.endswith("*"):   # the words of the table that start with it, else as rare as an unknown word
        prefix = text[:-1]
        return min(key, sum(s for w, s in _words_by_key(language).get(prefix[:3], ()) if w.startswith(prefix))
                   or RARE_WORD)
    return key


@functools.lru_cache(maxsize=None)
def _words_by_key(language: str) -> dict[str, list[tuple[str, float]]]:
    """The word share table grouped by key: a prefix's share sums the few words that share its key."""
    out: dict[str, list[tuple[str, float]]] = {}
    for word, share in SHARES.get(language, SHARES["en"])[1].items():
        out.setdefault(word[:3], []).append((word, share))
    return out


def index_atoms(info: PatternInfo, language: str = "en", avoid: frozenset[str] = frozenset()) -> tuple[Atom, ...]:
    """The atoms to index a pattern under: the mandatory element that is rarest in reports.

    Any mandatory element is a valid index (every match contains one of its words, or a word with one
    of its keys or prefixes); the trigger chosen by the pattern compiler knows word lengths, not which words
    are everywhere. A pattern runs only where its index atom occurs *and* its mandatory words/keys do, so
    the choice changes only how many candidates are looked at, never a result. An option with an atom
    whose key is in ``avoid`` is taken only when every option has one.
    """
    # On a tie the first option wins: a wildcard word ("granuloma*") is usually the head noun, rarer than
    # its modifiers ("calcified"); sorting makes the choice independent of set order.
    options: list[tuple[Atom, ...]] = [(("k", prefix_token(p)),) for p in sorted(info.required_prefixes)]
    options += [(("w", w),) for w in sorted(info.required_words)]
    options += [tuple(("k", k) for k in sorted(info.triggers))]
    options += [tuple(("w", w) for w in sorted(words)) + tuple(("k", prefix_token(p)) for p in sorted(prefixes))
                for words, prefixes in info.required_any]
    return min(options, key=lambda atoms: (any(t[:3] in avoid for _, t in atoms),
                                           sum(_atom_cost(a, language) for a in atoms)))


def pattern_gate(info: PatternInfo, atoms: tuple[Atom, ...]) -> Gate | None:
    """The mandatory words/prefixes/alternations of a pattern left to test once its index atom was found:
    those the atom itself proves are dropped; None when nothing is left."""
    words, prefixes, any_of = info.required_words, info.required_prefixes, info.required_any
    hit_words = frozenset(t for k, t in atoms if k == "w")
    hit_prefixes = frozenset(t.rstrip("*") for k, t in atoms if k == "k")   # a key proves that 3-letter prefix
    if len(atoms) == 1:                       # the atom is certainly in the text
        words, prefixes = words - hit_words, prefixes - hit_prefixes
        any_of = tuple(a for a in any_of if a[0].isdisjoint(hit_words) and a[1].isdisjoint(hit_prefixes))
    else:                                     # one of the atoms is: an alternation made of them holds
        any_of = tuple(a for a in any_of if not (a[0] <= hit_words and a[1] <= hit_prefixes))
    if not (words or prefixes or any_of):
        return None
    return make_gate(words, prefixes, any_of)


def index_keys(info: PatternInfo) -> frozenset[str]:
    """The word keys of ``index_atoms`` (a word or prefix atom counts by its key)."""
    return frozenset(text[:3] for _, text in index_atoms(info))


class AtomIndex:
    """Entries (of patterns) filed under their index atoms; ``lookup`` gives the entry lists of the atoms a
    clause holds, each list in the order its entries were added."""

    def __init__(self, filed: Iterable[tuple[tuple[Atom, ...], tuple]]):
        by_word: dict[str, list[tuple]] = {}
        by_key: dict[str, list[tuple]] = {}
        for atoms, entry in filed:
            for kind, text in atoms:
                (by_word if kind == "w" else by_key).setdefault(text, []).append(entry)
        self._by_word = {k: tuple(v) for k, v in by_word.items()}
        self._by_key = {k: tuple(v) for k, v in by_key.items()}
        # the atoms as sets: a set & set intersection reuses the stored hashes, and is twice as fast as one
        # with a dict's keys
        self._words = frozenset(by_word)
        self._keys = frozenset(by_key)

    def lookup(self, atoms: set[str]) -> list[tuple[tuple, ...]]:
        """The entry lists of the atoms a clause holds (``ClauseAtoms``), by one C-level set intersection
        each (most words index nothing); a pattern indexed under several atoms may come in several lists."""
        found = [*map(self._by_word.__getitem__, atoms & self._words)]
        if not self._keys.isdisjoint(atoms):
            found += map(self._by_key.__getitem__, atoms & self._keys)
        return found


class _Exclusions(NamedTuple):
    """The exclusion patterns of one label: the atoms they are indexed under (``index_atoms``: a match
    holds one of them), and per pattern its whole gate (``pattern_gate`` of no atom) and source.

    They are looked at only in clauses that mention the label, so they are indexed under an element whose
    key no synonym of the label requires where they have one ("(femur|hip|...) fractur*" under the bones,
    not "fractur*"): the clause then rarely holds it."""
    atoms: frozenset[str]
    patterns: tuple[tuple[Gate, str], ...]

    @classmethod
    def of(cls, label: Label, language: str) -> "_Exclusions":
        synonyms = [analyse_pattern(x) for x in label.synonyms]
        avoid = frozenset(w[:3] for info in synonyms
                          for w in chain(info.triggers, info.required_words, info.prefixes(),
                                         *(ws for ws, _ in info.required_any)))
        infos = [analyse_pattern(x) for x in label.exclusions]
        return cls(frozenset(t for info in infos for _, t in index_atoms(info, language, avoid)),
                   tuple((pattern_gate(info, ()) or _OPEN, info.source) for info in infos))


#: the gate of a pattern with no requirement beyond its index atom (every text passes)
_OPEN: Gate = (frozenset(), ())


class LabelMatcher:
    """Compiled synonyms and exclusions of an ontology, indexed by whole word, word key or prefix token."""

    def __init__(self, onto: Ontology):
        # An entry is (pattern id, label, source, what else a match needs (``pattern_gate``), whether the
        # label has exclusions). Regexes compile on first use: re.compile of ~1,000 patterns would be most
        # of the start-up time, and a corpus needs a fraction of them.
        excluded = {lab.name for lab in onto.labels.values() if lab.exclusions}
        filed: list[tuple[tuple[Atom, ...], tuple]] = []
        #: the wildcard prefixes of the synonyms and exclusions: the ``ClauseAtoms`` that ``find`` needs
        self.prefixes: frozenset[str] = frozenset().union(*(analyse_pattern(x).prefixes()
                                                            for lab in onto.labels.values()
                                                            for x in (*lab.synonyms, *lab.exclusions)))
        self._sources: list[str] = []
        self._regexes: list[re.Pattern | None] = []
        self._multi: set[int] = set()    # patterns indexed under several atoms: run once per clause
        for label, syn in ((lab.name, syn) for lab in onto.labels.values() for syn in lab.synonyms):
            info = analyse_pattern(syn)
            pid = len(self._sources)
            self._sources.append(info.regex_source)
            self._regexes.append(None)
            atoms = index_atoms(info, onto.language)
            if len(atoms) > 1:
                self._multi.add(pid)
            filed.append((atoms, (pid, label, syn, pattern_gate(info, atoms), label in excluded)))
        self._index = AtomIndex(filed)
        #: label -> its exclusion patterns (``_Exclusions``), run only where their words occur (compiled on
        #: first use)
        self._exclusions = {lab.name: _Exclusions.of(lab, onto.language)
                            for lab in onto.labels.values() if lab.exclusions}
        #: label -> itself and its ancestors: the labels a longer mention of it makes redundant
        self._covers: dict[str, frozenset[str]] = {
            name: frozenset((name, *onto.ancestors(name))) for name in onto.labels}

    def _regex(self, pid: int) -> re.Pattern:
        regex = self._regexes[pid]
        if regex is None:
            regex = self._regexes[pid] = re.compile(self._sources[pid])
        return regex

    def find(self, text: str, start: int, end: int, atoms: set[str]) -> list[RawMention]:
        """Mentions in ``text[start:end]`` (normalised text), sorted by position, overlaps settled.

        ``atoms``: ``ClauseAtoms(self.prefixes).of(text, start, end)``. A pattern runs only when the range
        has its index atom, its mandatory words and the prefixes of its mandatory wildcard words.
        """
        regexes, multi = self._regexes, self._multi
        seen: set[int] = set()
        found: list[RawMention] = []
        excluded = False
        for entries in self._index.lookup(atoms):
            for pid, label, source, gate, has_exclusions in entries:
                if gate is not None and not gate_open(gate, atoms):
                    continue
                if pid in multi:
                    if pid in seen:
                        continue
                    seen.add(pid)
                regex = regexes[pid] or self._regex(pid)
                for m in regex.finditer(text, start, end):
                    found.append(new_mention(RawMention, (m.start(), m.end(), label, source)))
                    excluded = excluded or has_exclusions
        if not found:
            return found
        if excluded:
            found = self._drop_excluded(text, start, end, atoms, found)
        if len(found) > 1:
            found = _settle_overlaps(found, self._covers)
        return found

    def _drop_excluded(self, text: str, start: int, end: int, atoms: set[str],
                       found: list[RawMention]) -> list[RawMention]:
        blocked: dict[str, tuple[list[int], list[int]]] = {}
        for label in {m.label for m in found}:
            ex = self._exclusions.get(label)
            # most clauses that mention such a label hold none of the index atoms of its exclusions
            if ex is None or ex.atoms.isdisjoint(atoms):
                continue
            spans = sorted(x.span() for gate, source in ex.patterns if gate_open(gate, atoms)
                           for x in compile_pattern(source).regex.finditer(text, start, end))
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
