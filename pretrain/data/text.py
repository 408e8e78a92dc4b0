"""Text attached to a training image: report sentences, label prompts, and the per-epoch choice."""
from __future__ import annotations

import re
from typing import Callable

from cxr.core.registry import Registry

_MASK = (1 << 64) - 1
# Section headers (FINDINGS:, IMPRESSION:, ...) are layout, not content: drop them from sentences.
_HEADER = re.compile(r"^\s*[A-Z][A-Z /&()-]{2,40}:\s*", re.MULTILINE)
# A sentence ends at . ! ? followed by space/newline and an upper-case letter or digit, or at a
# blank line; "1.5 cm" and "Dr. Smith"-style abbreviations rarely occur in CXR findings.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])|\n\s*\n")
NO_FINDING = "no finding"


def split_sentences(report: str | None) -> list[str]:
    """Split a report into sentences without section headers; empty pieces are dropped."""
    if not report or not isinstance(report, str):
        return []
    body = _HEADER.sub("\n\n", report)
    pieces = (" ".join(p.split()) for p in _BOUNDARY.split(body))
    return [p for p in pieces if len(p) > 1 and any(ch.isalpha() for ch in p)]


def label_prompt(positive_names: list[str]) -> str:
    """The text of a label-only image: its positive findings, comma-separated, or 'no finding'."""
    return ", ".join(positive_names) if positive_names else NO_FINDING


#: ``data.label_text``: (positive label names, a per-(seed, epoch, item) hash) -> the text of a
#: label-only image
LabelText = Callable[[list[str], int], str]
LABEL_TEXTS: Registry[LabelText] = Registry("label text")
#: the paper's caption for images without a report
RADIOLOGY_IMAGE = "A radiology image of {}"


@LABEL_TEXTS.register("list")
def listed(positive_names: list[str], key: int) -> str:
    return label_prompt(positive_names)


@LABEL_TEXTS.register("sampled")
def sampled(positive_names: list[str], key: int) -> str:
    """One positive, drawn anew each epoch, in the paper's caption; 'no finding' when none."""
    name = positive_names[key % len(positive_names)] if positive_names else NO_FINDING
    return RADIOLOGY_IMAGE.format(name)


def mix(*values: int) -> int:
    """A 64-bit hash of small integers (splitmix64 steps): cheap, stateless, identical everywhere.

    Per-item choices keyed on (seed, epoch, row) make sentence sampling independent of worker
    count, item order and resume point.
    """
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (int(v) & _MASK)) & _MASK
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
        h ^= h >> 31
    return h
