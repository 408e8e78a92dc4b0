"""cxr labeler: English and Spanish chest X-ray reports -> PadChest-style labels (1 / 0 / -1 / not mentioned).

Importing this package must stay light (no torch): labeling starts fast and runs in worker processes.
"""
from cxr.labeler.ontology import NEGATIVE, POSITIVE, UNCERTAIN, Ontology, combine, load_ontology

__all__ = ["load_ontology", "Ontology", "combine", "POSITIVE", "NEGATIVE", "UNCERTAIN"]
