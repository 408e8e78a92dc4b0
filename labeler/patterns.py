"""The synonym mini-language of the ontology, compiled to regular expressions.

Radiologists' phrasing varies in inflection, optional words and word order; a small language keeps the
YAML readable for clinicians while compiling to fast regular expressions:

==============  =====================================================  ===========================
syntax          meaning                                                example
==============  =====================================================  ===========================
``word``        the word, case-insensitive, on word boundaries         ``effusion``
``word*``       any word starting with ``word`` (inflections)          ``opacit*`` (opacity, -ies)
``a-b``         a hyphen matches a hyphen or a space                   ``air-space``
``(a|b c)``     one of the alternatives (each a sequence)              ``(heart|cardiac) size``
``[a b]``       optional sequence                                      ``[pleural] effusion*``
``...``         a gap of up to three words (no punctuation)            ``heart ... enlarged``
==============  =====================================================  ===========================

Text is lower-cased before matching. Every pattern gets *triggers*: the keys of a word that any match
must contain, so the labeler only runs the patterns whose trigger occurs in a sentence.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import chain
from typing import Iterable

GAP = r"(?:[\w'/]+\s+){0,3}?"
_SEP = r"[\s\-]+"
_TOKEN_RE = re.compile(r"\(|\)|\[|\]|\||\.\.\.|[^\s()\[\]|]+")
_WORD_CHARS = re.compile(r"[a-z0-9]+")
_VALID_WORD = re.compile(r"^[a-z0-9][a-z0-9'./+&%-]*\*?$")


class PatternError(ValueError):
    """A synonym/cue pattern that does not parse; the message says where."""


def trigger_key(word: str) -> str:
    """Index key of a word: its first three characters (short words are kept whole)."""
    return word[:3]


def sentence_keys(words: list[str]) -> set[str]:
    return {w[:3] for w in words}


def words_of(text: str) -> list[str]:
    """The tokenisation triggers are computed on: runs of lower-case letters and digits."""
    return _WORD_CHARS.findall(text)


_KEY_OF_WORD = re.compile(r"([a-z0-9]{1,3})[a-z0-9]*")


def text_keys(text: str, start: int = 0, end: int | None = None) -> set[str]:
    """``sentence_keys(words_of(text[start:end]))`` in one C-level pass."""
    return set(_KEY_OF_WORD.findall(text, start, len(text) if end is None else end))


def prefix_token(prefix: str) -> str:
    """How a clause's atoms hold a wildcard's prefix (the letters before '*'): a three-letter prefix is a
    key; a longer one is itself followed by '*' (never a word nor a key), so "plaque*" is not among the
    atoms of a clause of 'place' and 'plate', which share its key."""
    return prefix if len(prefix) == 3 else prefix + "*"


#: distinct words whose atoms ``ClauseAtoms`` remembers (bounded memory; refilling is cheap)
CLAUSE_ATOMS_MEMO = 100_000


class ClauseAtoms(dict):
    """word -> its atoms: itself, its key (``trigger_key``) and the ``prefix_token`` of each registered
    prefix it starts with; worked out the first time the word is seen (a report collection has a small
    vocabulary), so a clause's atoms cost one dict look-up per word.

    Words and keys share one set: a key equal to a word only makes a filter let a pattern through whose
    regex then finds nothing; a word of three letters or fewer is its own key anyway."""

    def __init__(self, prefixes: Iterable[str]):
        super().__init__()
        self._long: dict[str, list[tuple[str, str]]] = {}    # key -> (prefix, token) of the longer prefixes
        for p in sorted(set(prefixes)):
            if len(p) > 3:
                self._long.setdefault(p[:3], []).append((p, prefix_token(p)))

    def __missing__(self, word: str) -> tuple[str, ...]:
        key = word[:3]
        found = (word, key, *(token for p, token in self._long.get(key, ()) if word.startswith(p)))
        if len(self) >= CLAUSE_ATOMS_MEMO:
            self.clear()
        self[word] = found
        return found

    def of(self, text: str, start: int = 0, end: int | None = None) -> set[str]:
        """The atoms of ``text[start:end]``: its words (``words_of``), their keys and prefix tokens."""
        found = _WORD_CHARS.findall(text, start, len(text) if end is None else end)
        return set(chain.from_iterable(map(self.__getitem__, found)))


#: What a text must hold for a pattern to match, as a cheap test on its atoms (``ClauseAtoms``): (atoms it
#: must hold, groups of alternatives of which it must hold one atom each).
Gate = tuple[frozenset[str], tuple[frozenset[str], ...]]


def make_gate(words: frozenset[str], prefixes: frozenset[str],
              any_of: tuple[tuple[frozenset[str], frozenset[str]], ...]) -> Gate:
    """The gate of required words and prefixes (each as its ``prefix_token``)."""
    return (words | frozenset(map(prefix_token, prefixes)),
            tuple(w | frozenset(map(prefix_token, ps)) for w, ps in any_of))


def gate_open(gate: Gate, atoms: set[str]) -> bool:
    """Whether a text with these atoms passes the gate (the matcher's and the cue finder's filter)."""
    required, groups = gate
    if not required <= atoms:
        return False
    for group in groups:
        if group.isdisjoint(atoms):
            return False
    return True


@dataclass(frozen=True)
class PatternInfo:
    """A parsed pattern before ``re.compile`` (which is most of the cost of loading an ontology)."""
    source: str
    regex_source: str
    triggers: frozenset[str]
    #: words every match contains whole, and prefixes (the letters before a wildcard's '*', three or more)
    #: every match contains a word starting with: a cheap set test that skips most candidate patterns
    #: before their regex runs
    required_words: frozenset[str] = frozenset()
    required_prefixes: frozenset[str] = frozenset()
    #: per mandatory alternation: (words, prefixes) of which a match contains at least one
    required_any: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()

    def prefixes(self) -> frozenset[str]:
        """Every prefix the pattern requires, alone or among alternatives."""
        return self.required_prefixes.union(*(ps for _, ps in self.required_any))


@dataclass(frozen=True)
class CompiledPattern(PatternInfo):
    regex: re.Pattern = re.compile("(?!)")


@dataclass
class _Node:
    """A parsed sequence element: a word, a gap, an alternation or an optional sequence."""
    kind: str                     # 'word' | 'gap' | 'alt' | 'opt'
    word: str = ""
    branches: list[list["_Node"]] | None = None


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _TOKEN_RE.findall(text.lower())
        self.pos = 0

    def error(self, msg: str) -> PatternError:
        return PatternError(f"pattern {self.text!r}: {msg}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end")
        self.pos += 1
        return tok

    def sequence(self, closers: tuple[str, ...]) -> list[_Node]:
        seq: list[_Node] = []
        while (tok := self.peek()) is not None and tok not in closers:
            self.take()
            if tok == "(":
                seq.append(_Node("alt", branches=self.branches(")")))
            elif tok == "[":
                seq.append(_Node("opt", branches=self.branches("]")))
            elif tok == "...":
                seq.append(_Node("gap"))
            elif tok in (")", "]", "|"):
                raise self.error(f"unexpected {tok!r}")
            else:
                if not _VALID_WORD.match(tok) or "*" in tok[:-1]:
                    raise self.error(f"bad word {tok!r}")
                if tok.endswith("*") and len(tok) < 4:
                    raise self.error(f"wildcard {tok!r} needs at least three letters before '*'")
                seq.append(_Node("word", word=tok))
        return seq

    def branches(self, closer: str) -> list[list[_Node]]:
        out = [self.sequence(("|", closer))]
        while (tok := self.take()) == "|":
            out.append(self.sequence(("|", closer)))
        if tok != closer:
            raise self.error(f"missing {closer!r}")
        if any(not b for b in out):
            raise self.error("empty alternative")
        return out

    def parse(self) -> list[_Node]:
        if not self.tokens:
            raise self.error("empty pattern")
        seq = self.sequence(())
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        if seq[0].kind in ("gap", "opt") and all(n.kind in ("gap", "opt") for n in seq):
            raise self.error("pattern has no mandatory word")
        # A separator follows every element, so an optional part or gap at either end cannot match.
        if seq[0].kind == "gap" or seq[-1].kind in ("gap", "opt"):
            raise self.error("a pattern must not start with '...' nor end with '...' or '[...]'")
        return seq


#: The word-boundary test at the start of a match, placed after the match's first character (a letter or
#: digit): "not preceded by a word character" is then a fixed-width look-behind over that character and
#: the one before. The regex then starts with a literal (or a set of them), which ``re`` finds with a
#: fast scan instead of trying the pattern at every position of the sentence.
_GUARD = r"(?<![\w].)"


def _word_regex(word: str, guard: bool = False) -> str:
    star = word.endswith("*")
    core = word[:-1] if star else word
    body = r"[\s\-]".join(re.escape(part) for part in core.split("-"))
    if guard:   # the first character of a word is [a-z0-9] (the parser checks), never escaped
        body = body[0] + _GUARD + body[1:]
    return body + (r"[\w\-]*" if star else "")


def _guardable(seq: list[_Node]) -> bool:
    """Whether every way a match of ``seq`` can start is a word (not a gap), so ``_GUARD`` can go there."""
    for node in seq:
        if node.kind == "word":
            return True
        if node.kind == "gap":
            return False
        if not all(_guardable(b) for b in node.branches or []):
            return False
        if node.kind == "alt":
            return True
    return True


def _seq_regex(seq: list[_Node], guard: bool = False) -> str:
    """Regex of a sequence; separators go *between* elements so a match starts and ends on a word.

    An optional part or a gap before the first mandatory element carries its separator after it,
    every later element carries it before, so any element (an alternation too) may end a pattern.
    ``guard``: the sequence starts the match; each word that can be the match's first gets ``_GUARD``.
    """
    parts: list[str] = []
    started = False
    for node in seq:
        lead = _SEP if started else ""
        first = guard and not started
        if node.kind == "word":
            parts.append(lead + _word_regex(node.word, first))
            started = True
        elif node.kind == "alt":
            parts.append(lead + "(?:" + "|".join(_seq_regex(b, first) for b in node.branches or []) + ")")
            started = True
        elif node.kind == "opt":
            inner = "|".join(_seq_regex(b, first) for b in node.branches or [])
            parts.append(f"(?:{lead}(?:{inner}))?" if started else f"(?:(?:{inner}){_SEP})?")
        else:
            parts.append(r"(?:\s+[\w'/]+){0,3}?" if started else GAP)
    return "".join(parts)


_COMMON_WORDS = frozenset({"a", "an", "and", "as", "at", "be", "by", "for", "in", "is", "are", "of", "on",
                           "or", "the", "to", "with", "was", "were", "has", "have", "there"})


def _seq_triggers(seq: list[_Node]) -> frozenset[str] | None:
    """Keys of the most selective mandatory element of a sequence (None when nothing is mandatory)."""
    best: frozenset[str] | None = None
    best_len = float("-inf")  # an alternation with many distinct keys still beats nothing
    for node in seq:
        if node.kind == "word":
            pieces = words_of(node.word.rstrip("*"))
            if not pieces:
                continue
            piece = max(pieces, key=len)
            # a function word occurs in most sentences: any content word or small alternation is better
            cand, length = frozenset({trigger_key(piece)}), (0 if piece in _COMMON_WORDS else len(piece))
        elif node.kind == "alt":
            keys = [_seq_triggers(b) for b in node.branches or []]
            if any(k is None for k in keys):
                continue
            cand = frozenset().union(*keys)  # type: ignore[arg-type]
            length = 3 - len(cand)  # an alternation is less selective than one word
        else:
            continue
        if length > best_len:
            best, best_len = cand, length
    return best


def _seq_required(seq: list[_Node]) -> tuple[frozenset[str], frozenset[str]]:
    """Whole words and word prefixes that every match of a sequence contains (its mandatory words)."""
    words: set[str] = set()
    prefixes: set[str] = set()
    for node in seq:
        if node.kind != "word":
            continue
        pieces = words_of(node.word.rstrip("*"))
        if node.word.endswith("*") and pieces:
            prefix = pieces.pop()
            if len(prefix) >= 3:
                prefixes.add(prefix)
        words.update(pieces)
    return frozenset(words), frozenset(prefixes)


Requirement = tuple[frozenset[str], frozenset[str]]


def _branch_requirement(seq: list[_Node]) -> Requirement | None:
    """One mandatory element of a sequence as (any of these words, any of these prefixes); a plain word is
    preferred (a whole word is more selective than a prefix); None when nothing is mandatory."""
    fallback: Requirement | None = None
    for node in seq:
        if node.kind == "word":
            pieces = words_of(node.word.rstrip("*"))
            whole = pieces[:-1] if node.word.endswith("*") else pieces
            if whole:
                return frozenset({max(whole, key=len)}), frozenset()
            if pieces and len(pieces[-1]) >= 3 and fallback is None:
                fallback = frozenset(), frozenset({pieces[-1]})
        elif node.kind == "alt" and fallback is None:
            fallback = _alt_requirement(node)
    return fallback


def _alt_requirement(node: _Node) -> Requirement | None:
    words: set[str] = set()
    prefixes: set[str] = set()
    for branch in node.branches or []:
        req = _branch_requirement(branch)
        if req is None:
            return None
        words |= req[0]
        prefixes |= req[1]
    return frozenset(words), frozenset(prefixes)


def _seq_required_any(seq: list[_Node]) -> tuple[Requirement, ...]:
    """For each mandatory alternation: a match contains one of its words or a word with one of its prefixes."""
    out = []
    for node in seq:
        if node.kind == "alt":
            req = _alt_requirement(node)
            if req is not None:
                out.append(req)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def analyse_pattern(text: str) -> PatternInfo:
    """Parse one pattern of the mini-language (no regex compilation); raises ``PatternError``.

    Validation needs only this: the parser rejects everything ``re.compile`` could reject.
    """
    if not isinstance(text, str):
        raise PatternError(f"pattern {text!r}: must be a string")
    seq = _Parser(text).parse()
    triggers = _seq_triggers(seq)
    if not triggers:
        raise PatternError(f"pattern {text!r}: no mandatory word to index it by")
    if _guardable(seq):
        body = "(?:" + _seq_regex(seq, guard=True) + r")(?![\w])"
    else:
        body = r"(?<![\w])(?:" + _seq_regex(seq) + r")(?![\w])"
    return PatternInfo(text, body, triggers, *_seq_required(seq), _seq_required_any(seq))


@functools.lru_cache(maxsize=None)
def compile_pattern(text: str) -> CompiledPattern:
    """Compile one pattern of the mini-language; raises ``PatternError`` with the reason.

    Cached: compiled patterns are immutable and an ontology repeats patterns across loads.
    """
    info = analyse_pattern(text)
    try:
        regex = re.compile(info.regex_source)
    except re.error as exc:  # pragma: no cover - the parser should prevent this
        raise PatternError(f"pattern {text!r}: {exc}") from None
    return CompiledPattern(**{f: getattr(info, f) for f in info.__dataclass_fields__}, regex=regex)
