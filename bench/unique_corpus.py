"""A corpus of Open-i-length reports in which no sentence repeats (for bench/labeler_speed.py).

Real report collections repeat sentences ("No pneumothorax."), which the labeler's sentence cache exploits;
this corpus measures the engine with the cache useless. Each report copies the shape of an Open-i
development report (FINDINGS and IMPRESSION, the same number of sentences, each of about the same number
of characters) and fills it with sentences composed from radiology vocabulary: findings, locations, laterality,
sizes ("measuring 1.3 cm"), comparison dates, devices, negations and hedges. A sentence whose lower-cased
text was already used is drawn again, so every sentence of the corpus is distinct text.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

FINDINGS = [
    "pleural effusion", "pneumothorax", "consolidation", "atelectasis", "nodule", "opacity", "airspace disease",
    "granuloma", "calcified granuloma", "pulmonary edema", "hilar adenopathy", "mass", "infiltrate", "scarring",
    "interstitial markings", "emphysema", "hyperinflation", "pneumonia", "fracture", "degenerative changes",
    "hiatal hernia", "vascular congestion", "effusion", "pleural thickening", "bronchiectasis", "fibrosis",
    "cavitation", "lymphadenopathy", "calcification", "focal airspace opacity", "linear atelectasis",
    "nodular opacity", "reticular opacities", "volume loss", "subsegmental atelectasis", "patchy infiltrate",
    "pulmonary nodule", "rib fracture", "granulomatous disease", "interstitial edema", "bullae",
    "hilar prominence", "cardiomegaly", "mediastinal widening", "soft tissue density",
]
ADJ = ["small", "moderate", "large", "mild", "minimal", "subtle", "faint", "dense", "patchy", "streaky",
       "rounded", "irregular", "ill-defined", "well-circumscribed", "new", "chronic", "trace", "focal"]
LOCATIONS = ["upper lobe", "lower lobe", "middle lobe", "lung base", "lung apex", "hilum", "costophrenic angle",
             "perihilar region", "retrocardiac region", "lingula", "mid lung zone", "infrahilar region",
             "hemithorax", "paratracheal region", "suprahilar region", "apical segment", "posterior segment",
             "lateral costophrenic sulcus", "cardiophrenic angle", "lung periphery"]
SIDES = ["right", "left", "bilateral"]
DEVICES = ["right internal jugular catheter", "left subclavian catheter", "endotracheal tube",
           "nasogastric tube", "dual-lead pacemaker", "PICC line", "chest tube", "Swan-Ganz catheter",
           "left chest wall pacemaker", "feeding tube"]
STRUCTURES = ["cardiomediastinal silhouette", "heart size", "mediastinal contour", "aortic knob",
              "pulmonary vasculature", "hilar contours", "thoracic aorta", "cardiac silhouette", "trachea"]
NORMAL_STATES = ["within normal limits", "normal", "unremarkable", "stable", "upper normal", "mildly enlarged",
                 "tortuous", "midline", "unchanged"]
BONES = ["thoracic spine", "lumbar spine", "right humeral head", "left clavicle", "sternum", "right shoulder",
         "left shoulder", "posterior ribs", "anterior ribs", "thoracolumbar junction"]
CHANGES = ["improved", "worsened", "unchanged", "slightly increased", "decreased", "resolved",
           "minimally progressed", "stable"]
HEDGES = ["may represent", "likely represents", "is suspicious for", "could reflect", "is consistent with",
          "may reflect", "is concerning for", "suggests"]
NEGATIONS = ["No", "There is no", "Without evidence of", "No evidence of", "No definite", "Negative for",
             "There are no findings of"]
VIEWS = ["PA and lateral", "frontal and lateral", "portable AP", "lateral", "upright AP", "semi-upright"]


def _size(rng: random.Random) -> str:
    return f"{rng.randint(2, 95) / 10:.1f}"


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1998, 2024)}"


# Sentence templates, drawn with rng.choice: (rng, finding, other finding, side, location, adjective) -> text.
CORE = (
    lambda r, f, f2, side, loc, adj: f"there is a {_size(r)} cm {adj} {f} in the {side} {loc}",
    lambda r, f, f2, side, loc, adj: f"{r.choice(NEGATIONS).lower()} {f} or {f2} in the {side} {loc}",
    lambda r, f, f2, side, loc, adj: f"{adj} {f} of the {side} {loc} measuring {_size(r)} x {_size(r)} cm",
    lambda r, f, f2, side, loc, adj: f"{adj} {side} {loc} {f} {r.choice(HEDGES)} {f2}",
    lambda r, f, f2, side, loc, adj: f"{r.choice(CHANGES)} {adj} {f} in the {side} {loc} compared to {_date(r)}",
    lambda r, f, f2, side, loc, adj: f"the {r.choice(DEVICES)} tip terminates {_size(r)} cm above the carina",
    lambda r, f, f2, side, loc, adj: f"the {r.choice(STRUCTURES)} is {r.choice(NORMAL_STATES)} since {_date(r)}",
    lambda r, f, f2, side, loc, adj: f"{adj} {f} of the {r.choice(BONES)} at the level of T{r.randint(1, 12)}",
    lambda r, f, f2, side, loc, adj: (f"{r.choice(VIEWS)} views of the chest dated {_date(r)} demonstrate "
                                      f"{adj} {side} {f}"),
    lambda r, f, f2, side, loc, adj: f"possible {adj} {f} in the {side} {loc}, {_size(r)} cm from the pleural surface",
    lambda r, f, f2, side, loc, adj: f"interval {r.choice(CHANGES)} {f} of the {side} {loc} since {_date(r)}",
    lambda r, f, f2, side, loc, adj: f"{f} is not seen; {adj} {f2} in the {side} {loc} measures {_size(r)} cm",
)
SHORT = (
    lambda r: f"{_size(r)} cm {r.choice(SIDES)} {r.choice(FINDINGS)}",
    lambda r: f"unchanged since {_date(r)}",
    lambda r: f"{r.choice(ADJ)} {r.choice(FINDINGS)}, {_size(r)} cm",
    lambda r: f"no {r.choice(FINDINGS)} since {_date(r)}",
    lambda r: f"stable {r.choice(SIDES)} {r.choice(LOCATIONS)} {_size(r)} cm",
    lambda r: f"{r.choice(DEVICES)} removed {_date(r)}",
)
MEDIUM = (
    lambda r, f, side, loc: f"{r.choice(ADJ)} {side} {loc} {f}, {_size(r)} cm",
    lambda r, f, side, loc: f"no {f} in the {side} {loc} since {_date(r)}",
    lambda r, f, side, loc: f"the {r.choice(STRUCTURES)} is {r.choice(NORMAL_STATES)}, {_size(r)} cm",
    lambda r, f, side, loc: f"{r.choice(CHANGES)} {f} compared to {_date(r)}",
    lambda r, f, side, loc: f"possible {f} in the {side} {loc}, {_size(r)} cm",
    lambda r, f, side, loc: f"{r.choice(DEVICES)} in place since {_date(r)}",
)
EXTENSION = (
    lambda r: f", unchanged from {_date(r)}",
    lambda r: f", measuring {_size(r)} cm",
    lambda r: f" without associated {r.choice(FINDINGS)}",
    lambda r: f", which {r.choice(HEDGES)} {r.choice(FINDINGS)}",
    lambda r: f" in the {r.choice(SIDES)} {r.choice(LOCATIONS)}",
    lambda r: f", {r.choice(CHANGES)} compared to the prior study of {_date(r)}",
    lambda r: f" and no {r.choice(FINDINGS)}",
)


def _core(rng: random.Random) -> str:
    f, f2 = rng.sample(FINDINGS, 2)
    side, loc, adj = rng.choice(SIDES), rng.choice(LOCATIONS), rng.choice(ADJ)
    return rng.choice(CORE)(rng, f, f2, side, loc, adj)


def _short(rng: random.Random) -> str:
    return rng.choice(SHORT)(rng)


def _medium(rng: random.Random) -> str:
    f, side, loc = rng.choice(FINDINGS), rng.choice(SIDES), rng.choice(LOCATIONS)
    return rng.choice(MEDIUM)(rng, f, side, loc)


def _extension(rng: random.Random) -> str:
    return rng.choice(EXTENSION)(rng)


class SentenceMaker:
    """Distinct sentences of about a requested length in characters."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def _draw(self, chars: int) -> str:
        rng = self.rng
        if chars <= 25:
            s = _short(rng)
        elif chars <= 50:
            s = _medium(rng)
        else:
            s = _core(rng)
        while len(s) < chars - 20:
            s += _extension(rng)
        return s[0].upper() + s[1:] + "."

    def make(self, chars: int, candidates: int = 6) -> str:
        """Of a few new sentences drawn, the one closest to ``chars`` characters."""
        drawn: list[str] = []
        for _ in range(1000):
            s = self._draw(chars)
            if s.lower() not in self.used and s not in drawn:
                drawn.append(s)
                if len(drawn) == candidates:
                    break
        if not drawn:   # pragma: no cover
            raise RuntimeError("could not draw a new sentence")
        best = min(drawn, key=lambda x: abs(len(x) - chars))
        self.used.add(best.lower())
        return best


def _lengths(text: str | None) -> list[int]:
    """Lengths (characters) of the sentences of ``text``, as the labeler splits them."""
    from cxr.labeler.sentences import split_regex

    return [b - a for a, b in split_regex(text)] if text else []


#: (findings, impression) sentence lengths of a few Open-i-like reports, when the dev set is absent
BUILT_IN_SHAPES = [([63, 31, 40, 66, 45], [27]), ([18, 14, 25, 20, 24], [25]), ([52, 38, 80, 47], [39, 19]),
                   ([72, 58, 33, 40, 51, 46], [33, 60]), ([66, 39, 41], [20]), ([45, 85, 33, 52, 60], [14, 47])]


def report_shapes(dev: Path) -> list[tuple[list[int], list[int]]]:
    if not dev.exists():
        return BUILT_IN_SHAPES
    with open(dev, newline="", encoding="utf-8") as fh:
        shapes = [(_lengths(r.get("findings")), _lengths(r.get("impression"))) for r in csv.DictReader(fh)]
    return [s for s in shapes if s[0] or s[1]]


def unique_reports(n: int, dev: Path, seed: int = 0) -> list[str]:
    """``n`` reports shaped like the Open-i dev reports (cycled), no sentence used twice."""
    shapes = report_shapes(dev)
    rng = random.Random(seed)
    maker = SentenceMaker(seed)
    out = []
    for i in range(n):
        find, imp = shapes[i % len(shapes)] if i >= len(shapes) else shapes[i]
        if i and i % len(shapes) == 0:
            rng.shuffle(shapes)
        parts = []
        if find:
            parts.append("FINDINGS: " + " ".join(maker.make(w) for w in find))
        if imp:
            parts.append("IMPRESSION: " + " ".join(maker.make(w) for w in imp))
        out.append("\n".join(parts))
    return out
