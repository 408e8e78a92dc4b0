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

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CompiledPattern:
    source: str
    regex: re.Pattern
    triggers: frozenset[str]


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


def _word_regex(word: str) -> str:
    star = word.endswith("*")
    core = word[:-1] if star else word
    body = r"[\s\-]".join(re.escape(part) for part in core.split("-"))
    return body + (r"[\w\-]*" if star else "")


def _seq_regex(seq: list[_Node]) -> str:
    parts: list[str] = []
    for node in seq:
        if node.kind == "word":
            parts.append(_word_regex(node.word) + _SEP)
        elif node.kind == "gap":
            parts.append(GAP)
        else:
            inner = "|".join(_seq_regex(b) for b in node.branches or [])
            parts.append(f"(?:{inner})" + ("?" if node.kind == "opt" else ""))
    return "".join(parts)


def _seq_triggers(seq: list[_Node]) -> frozenset[str] | None:
    """Keys of the most selective mandatory element of a sequence (None when nothing is mandatory)."""
    best: frozenset[str] | None = None
    best_len = -1
    for node in seq:
        if node.kind == "word":
            pieces = words_of(node.word.rstrip("*"))
            if not pieces:
                continue
            piece = max(pieces, key=len)
            cand, length = frozenset({trigger_key(piece)}), len(piece)
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


def compile_pattern(text: str) -> CompiledPattern:
    """Compile one pattern of the mini-language; raises ``PatternError`` with the reason."""
    if not isinstance(text, str):
        raise PatternError(f"pattern {text!r}: must be a string")
    seq = _Parser(text).parse()
    # Every element ends with a separator; the last one is dropped so the match ends on a word.
    body = _seq_regex(seq)
    body = re.sub(re.escape(_SEP) + r"$", "", body)
    triggers = _seq_triggers(seq)
    if not triggers:
        raise PatternError(f"pattern {text!r}: no mandatory word to index it by")
    try:
        regex = re.compile(r"(?<![\w])(?:" + body + r")(?![\w])")
    except re.error as exc:  # pragma: no cover - the parser should prevent this
        raise PatternError(f"pattern {text!r}: {exc}") from None
    return CompiledPattern(text, regex, triggers)
