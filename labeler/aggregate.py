"""From mention statuses to one value per label and report.

Rules, in order:

1. **Precedence** (``labeler.ontology.strongest``): a label mentioned several times takes positive over
   uncertain over negative ("no effusion on the left; small right effusion" -> 1).
2. **Propagation upwards**: a positive label makes every ancestor positive; an uncertain label makes
   every ancestor at least uncertain (never lowering a positive). Negatives do not propagate: "no
   calcified granuloma" says nothing about granulomas in general. Nothing propagates downwards.
3. **normal** (a top-level label): 1 when no finding or diagnosis label (devices included, as in PadChest
   and the Open-i gold) is positive or uncertain, else 0. Top-level labels ('suboptimal study',
   'exclude') are not findings and leave it alone. Every report with readable text gets a value for
   'normal'; a report without text gets none.
"""
from __future__ import annotations

from typing import Iterable

from cxr.labeler.ontology import NEGATIVE, POSITIVE, UNCERTAIN, WINNER, Ontology

NORMAL = "normal"
#: label kinds that count as abnormal for the 'normal' rule
ABNORMAL_KINDS = ("finding", "diagnosis")


def stated_values(mentions: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Rule 1: each mentioned label's value, the strongest of its (label, status) mentions."""
    values: dict[str, int] = {}
    for label, status in mentions:
        old = values.get(label)
        values[label] = status if old is None else WINNER[old][status]
    return values


class Aggregator:
    """Per-ontology tables (ancestors, abnormal labels) computed once, applied to every report."""

    def __init__(self, onto: Ontology):
        self._ancestors = {name: tuple(onto.ancestors(name)) for name in onto.labels}
        self._abnormal = frozenset(n for n, lab in onto.labels.items() if lab.kind in ABNORMAL_KINDS)
        self._has_normal = NORMAL in onto.labels

    def close_upwards(self, labels: list[str]) -> list[str]:
        """``labels`` followed by their ancestors not already listed (a sentence's positive labels)."""
        if not labels:
            return labels
        out = list(labels)
        for label in labels:
            out.extend(a for a in self._ancestors[label] if a not in out)
        return out

    def aggregate(self, stated: dict[str, int]) -> tuple[dict[str, int], dict[str, str]]:
        """(label values, why each derived value was set) from the report's ``stated_values``.

        ``why`` maps labels set by propagation or the normal rule to a short explanation.
        """
        values = dict(stated)
        why: dict[str, str] = {}
        for label, status in stated.items():
            if status == NEGATIVE:
                continue
            for anc in self._ancestors[label]:
                old = values.get(anc)
                if WINNER[old][status] != old:
                    values[anc] = status
                    why[anc] = f"propagated from {label!r}"
        if self._has_normal:
            abnormal = next((n for n, v in values.items() if v != NEGATIVE and n in self._abnormal), None)
            values[NORMAL] = NEGATIVE if abnormal else POSITIVE
            why[NORMAL] = f"abnormal label {abnormal!r} present" if abnormal else "no abnormal label present"
        return values, why


__all__ = ["Aggregator", "stated_values", "NORMAL", "POSITIVE", "NEGATIVE", "UNCERTAIN"]
