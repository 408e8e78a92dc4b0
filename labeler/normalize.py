"""The text the patterns run on: lower case, de-identification tokens neutralised, same length as the input.

Keeping every offset identical to the original report lets a mention's span point into the report text
that the user sees (``--explain``), without a second index map.
"""
from __future__ import annotations

import re

from cxr.labeler.ontology import fold_accents

# MIMIC-CXR writes removed names/dates as "___", Open-i as "XXXX". Underscores are not word characters,
# so "Dr. ___ was paged" would look like punctuation to the sentence splitter and the patterns; an
# ordinary word of the same length ("xxx") keeps sentences and mentions intact and matches no synonym.
_DEID = re.compile(r"_{2,}")


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters (e.g. 'İ') lower-case to two code points; keep those unchanged so offsets hold.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def normalize(text: str, fold: bool = False) -> str:
    """Lower-case ``text`` and replace de-identification runs by a neutral word; ``len`` is preserved.

    ``fold``: also remove accents ("pequeño" -> "pequeno"; Spanish reports, see ``cxr.labeler.language``).
    """
    low = _lower_same_length(text)
    if fold:
        low = fold_accents(low)
    if "__" in low:
        low = _DEID.sub(lambda m: "x" * len(m.group(0)), low)
    return low
