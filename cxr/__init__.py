"""cxr: chest X-ray reports -> fine-grained labels -> pre-trained image encoders -> honest transfer numbers.

The flat API for library users (the command line is ``cxr``; see README.md):

    import cxr
    labels = cxr.label(["No pleural effusion. Possible pneumonia."], vocabulary="chexpert")
    model, preprocess = cxr.load_encoder("runs/dlilp/export")

Layers, bottom to top (docs/architecture.md): ``cxr.core`` (plumbing) -> ``cxr.ontology`` and
``cxr.datasets`` -> ``cxr.labeler`` -> ``cxr.pretrain`` -> ``cxr.evaluate`` -> ``cxr.cli`` / ``cxr.demo``.
This module is the top: importing it loads nothing else, so ``import cxr.labeler`` stays light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas

__all__ = ["label", "load_encoder"]
__version__ = "0.1.0"


def label(texts: str | Iterable[str], vocabulary: str = "padchest", *, ontology: str | None = None,
          sections: Iterable[str] | None = None, language: str = "en",
          conventions: str | None = None) -> "pandas.DataFrame":
    """Label report texts: one row per text, one column per label of ``vocabulary`` (padchest, chexpert,
    dlilp, chestxray14 or any projection of the ontology); 1 positive, 0 negative, -1 uncertain,
    NaN not mentioned. ``ontology`` is a folder of an edited ontology (default: the shipped one).
    ``language``: en, es (Spanish) or auto (decided per report). ``conventions``: whose hedging conventions
    apply (default: the vocabulary's; ``conventions="padchest"`` with ``vocabulary="chexpert"`` codes
    "atelectasis or scarring" as present, as Open-i's MeSH gold does, instead of CheXpert's uncertain).
    """
    from cxr.labeler.api import label_texts

    return label_texts([texts] if isinstance(texts, str) else list(texts), vocabulary,
                       ontology=ontology, sections=sections, language=language, conventions=conventions)


def load_encoder(path: str, device: str = "cpu"):
    """An image encoder and its preprocessing: ``model, preprocess = cxr.load_encoder(path)``.

    ``path`` is a cxr export folder (or a run folder containing ``export/``), or any encoder spec that
    ``cxr eval run --checkpoint`` takes. ``preprocess`` turns an image file path, a PIL image or a 2-D
    uint8 array into the model's input tensor (1 x C x S x S); ``model.features(x)`` gives the embedding.
    """
    from cxr.evaluate.encoders import load_with_preprocess

    return load_with_preprocess(path, device=device)
