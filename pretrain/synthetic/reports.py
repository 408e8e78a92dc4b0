"""MIMIC-style report text for a phantom: FINDINGS and IMPRESSION sections, with negations of
absent findings, hedges for a share of present ones, lists, and device mentions.

Each finding registers how it is said (present, hedged, negated), so the words live next to
nothing else and a new finding adds one entry here and one class in ``findings``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cxr.core.registry import Registry

Phrase = Callable[[dict, np.random.Generator], str]


@dataclass(frozen=True)
class Wording:
    present: Phrase                 # FINDINGS sentence when seen
    hedged: Phrase | None           # when the reader is unsure (None: never hedged, e.g. devices)
    impression: Phrase | None       # IMPRESSION item (None: not an acute finding)
    negation: str | None            # FINDINGS sentence when absent (None: rarely said)
    negation_noun: str | None = None  # for the combined "No A or B." sentence


#: finding name -> how reports say it
WORDING: Registry[Wording] = Registry("finding wording")


def _wording(name: str, **words: Phrase | str | None) -> None:
    WORDING.register(name)(Wording(**words))  # type: ignore[arg-type]


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _zone(p: dict) -> str:
    v = p["uv"][1]
    return "upper" if v < -0.25 else "mid" if v < 0.1 else "lower"


_wording("cardiomegaly",
    present=lambda p, r: _pick(r, [f"The heart is {p['degree']}ly enlarged.", f"{_cap(p['degree'])} cardiomegaly.",
                                   "The cardiac silhouette is enlarged."]),
    hedged=lambda p, r: "The heart size is possibly mildly enlarged.",
    impression=lambda p, r: f"{_cap(p['degree'])} cardiomegaly.",
    negation="Heart size is normal.")
_wording("pleural effusion",
    present=lambda p, r: _pick(r, [f"{_cap(p['size'])} {p['side']} pleural effusion.",
                                   f"There is a {p['size']} {p['side']} pleural effusion with blunting of the "
                                   f"costophrenic angle."]),
    hedged=lambda p, r: f"Possible small {p['side']} pleural effusion.",
    impression=lambda p, r: f"{_cap(p['size'])} {p['side']} pleural effusion.",
    negation="No pleural effusion.", negation_noun="pleural effusion")
_wording("pneumothorax",
    present=lambda p, r: _pick(r, [f"{_cap(p['size'])} {p['side']} apical pneumothorax.",
                                   f"There is a {p['size']} {p['side']} pneumothorax."]),
    hedged=lambda p, r: f"A small {p['side']} apical pneumothorax cannot be excluded.",
    impression=lambda p, r: f"{_cap(p['size'])} {p['side']} pneumothorax.",
    negation="No pneumothorax.", negation_noun="pneumothorax")
_wording("nodule",
    present=lambda p, r: f"A {p['mm']} mm nodule projects over the {p['side']} {_zone(p)} lung zone.",
    hedged=lambda p, r: f"Possible nodule in the {p['side']} {_zone(p)} lung zone.",
    impression=lambda p, r: f"{p['mm']} mm {p['side']} pulmonary nodule; CT recommended.",
    negation="No suspicious pulmonary nodules.")
_wording("consolidation",
    present=lambda p, r: _pick(r, [f"Patchy consolidation in the {p['side']} {p['zone']} lung.",
                                   f"Focal consolidation in the {p['side']} {p['zone']} zone."]),
    hedged=lambda p, r: f"Opacity in the {p['side']} {p['zone']} lung may represent consolidation.",
    impression=lambda p, r: f"{_cap(p['side'])} {p['zone']} lung consolidation.",
    negation="No focal consolidation.", negation_noun="focal consolidation")
_wording("atelectasis",
    present=lambda p, r: _pick(r, [f"Plate-like atelectasis at the {p['side']} base with mild volume loss.",
                                   f"Linear opacity at the {p['side']} lung base consistent with atelectasis."]),
    hedged=lambda p, r: f"Possible {p['side']} basilar atelectasis.",
    impression=lambda p, r: f"{_cap(p['side'])} basilar atelectasis.",
    negation=None)
_wording("pacemaker",
    present=lambda p, r: ("Left chest wall pacemaker with leads in the right atrium and right ventricle."
                          if p["leads"] == 2 else "Left chest wall pacemaker with a single lead in the right ventricle."),
    hedged=None, impression=None, negation=None)
_wording("central venous catheter",
    present=lambda p, r: (f"Right {'internal jugular' if p['route'] == 'jugular' else 'subclavian'} central venous "
                          f"catheter terminates in the {'mid SVC' if p['tip'] < -0.2 else 'low SVC'}."),
    hedged=None, impression=None, negation=None)
_wording("ground glass pattern",
    present=lambda p, r: "Bilateral peripheral ground-glass opacities, predominantly in the lower lungs.",
    hedged=lambda p, r: "Hazy bilateral peripheral opacities, possibly ground-glass opacity.",
    impression=lambda p, r: "Bilateral peripheral ground-glass opacities.",
    negation=None)

NORMAL_IMPRESSION = ["No acute cardiopulmonary process.", "No acute intrathoracic abnormality."]
CLEAR_LUNGS = ["The lungs are clear.", "Lungs are well expanded and clear."]
LUNG_FINDINGS = {"pleural effusion", "pneumothorax", "nodule", "consolidation", "atelectasis", "ground glass pattern"}


def write_report(present: dict[str, dict], absent: list[str], hedged: set[str], view: str,
                 rng: np.random.Generator, negation_rate: float = 0.6) -> str:
    """The report of one study. ``present`` maps finding -> parameters; ``hedged`` ⊆ present."""
    sentences = [f"{'AP portable' if view == 'AP' else 'PA'} view of the chest."]
    for name, params in present.items():
        words = WORDING.get(name)
        say = words.hedged if name in hedged and words.hedged else words.present
        sentences.append(say(params, rng))
    if not LUNG_FINDINGS & set(present):
        sentences.append(_pick(rng, CLEAR_LUNGS))
    sentences += _negations([n for n in absent if rng.random() < negation_rate])
    items = [WORDING.get(n).impression(p, rng) for n, p in present.items()
             if WORDING.get(n).impression and n not in hedged]
    if len(items) > 1:
        impression = " ".join(f"{k}. {item}" for k, item in enumerate(items, 1))
    elif items:
        impression = items[0]
    else:
        impression = _pick(rng, NORMAL_IMPRESSION)
    return "FINDINGS: " + " ".join(sentences) + "\n\nIMPRESSION: " + impression


def _negations(names: list[str]) -> list[str]:
    """Negated findings; two list-style ones join as 'No A or B.' like radiologists write."""
    words = [WORDING.get(n) for n in names]
    nouns = [w.negation_noun for w in words if w.negation_noun]
    out = [w.negation for w in words if w.negation and not w.negation_noun]
    if len(nouns) >= 2:
        out.append(f"No {', '.join(nouns[:-1])} or {nouns[-1]}.")
    elif nouns:
        out.append(f"No {nouns[0]}.")
    return out
