"""``cxr.label``: report texts -> a DataFrame of label values, for library users and notebooks."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import OWN_VOCABULARY, default_ontology_dir, load_ontology
from cxr.labeler.sections import DEFAULT_SECTIONS


@functools.lru_cache(maxsize=4)
def _labeler(root: str, sections: tuple[str, ...], conventions: str = OWN_VOCABULARY, language: str = "en") -> Labeler:
    # Compiling the ontology takes ~0.3 s: a notebook calling cxr.label in a loop pays it once.
    return Labeler(load_ontology(root), sections=sections, conventions=conventions, language=language)


def label_texts(texts: Iterable[object], vocabulary: str = OWN_VOCABULARY, *, ontology: str | Path | None = None,
                sections: Iterable[str] | None = None, language: str = "en", conventions: str | None = None):
    """One row per text, one column per label of ``vocabulary``: 1 / 0 / -1, NaN = not mentioned.
    ``language``: en, es or auto (see ``cxr label --language``); ``conventions``: whose hedging conventions
    apply, by default the vocabulary's own (CheXpert: alternatives are uncertain; see ``--conventions``)."""
    import pandas as pd

    root = Path(ontology) if ontology is not None else default_ontology_dir()
    labeler = _labeler(str(root.resolve()), tuple(sections) if sections is not None else tuple(DEFAULT_SECTIONS),
                       conventions or vocabulary, language)
    columns = labeler.onto.vocabulary(vocabulary)
    return pd.DataFrame(labeler.label_many(texts, vocabulary), columns=columns, dtype="float64")
