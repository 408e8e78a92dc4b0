"""Report languages: which language a report is written in (``--language auto``) and its text for matching.

English reports are matched as written (lower case); other languages also with accents folded
(``cxr.labeler.ontology.fold_accents``), so "derrame pleural pequeño", "DERRAME PLEURAL PEQUEÑO" and
PadChest's stemmed "derram pleural pequen" meet the same patterns.

``detect_language`` counts, among a report's first words, the function words and frequent report words
(PadChest's stems too: its stemmed reports drop most articles) of each language; the larger count wins,
English on a tie. Words both languages use ("no", "normal") count for neither.
"""
from __future__ import annotations

import re

from cxr.labeler.ontology import ENGLISH, fold_accents

AUTO = "auto"
#: words that tell a language apart in chest X-ray reports (PadChest stems included for Spanish)
MARKERS: dict[str, frozenset[str]] = {
    ENGLISH: frozenset("""the of and is are there with without not in to or lungs lung heart size
        effusion effusions pneumothorax clear silhouette unremarkable stable chest right left
        opacity opacities consolidation acute within limits mild small seen""".split()),
    "es": frozenset("""de del la las el los y en con sin se por para que una un observa observan
        derrame derram hallazgos hallazg patolog patologicos signific significativos cambios cambi
        pulmonar pulmon torax radiografia radiografi estudio estudi previ previo derecho derech izquierdo
        izquierd izquierda aumento aument cardiomegalia cardiomegali senos sen costofrenicos
        costofren parenquima parenquim imagen imag silueta siluet cardiaca cardiac signos sign
        compatible compat relacion leve liger respecto respect alteraciones alter dentro dentr limite
        limites limit indice indic cardiotoracico cardiotorac radiologico radiologicos radiolog epoc
        sign infiltrado infiltrados infiltr escoliosis hilio hilios hili bibasal aorta aortica aortic aort
        atelectasia atelectasias atelectasi condensacion condens pequeno pequena pequen prominente
        prominent elongacion hipoventilacion probable probabl ni motivo motiv consulta consult alto
        calcificacion calcific apreciable apreci herni hiat hiato neumoni neumonia marcapas marcapasos atrap
        aere fractur fractura costal costales seudonodul cifoescoliosis postquirurg hemitorax impresion""".split()),
}
_WORDS = re.compile(r"[a-z]+")
#: words looked at: enough to decide, bounded for a long report
_SAMPLE_WORDS = 60


def detect_language(text: str) -> str:
    """The report's language (a key of ``MARKERS``): the one with most marker words, English on a tie."""
    words = _WORDS.findall(fold_accents(text[:1000].lower()))[:_SAMPLE_WORDS]
    best, best_count = ENGLISH, sum(w in MARKERS[ENGLISH] for w in words)
    for lang, markers in MARKERS.items():
        count = sum(w in markers for w in words)
        if count > best_count:
            best, best_count = lang, count
    return best
