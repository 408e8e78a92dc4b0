"""The shipped ontology of chest X-ray findings: YAML files only, edited by clinicians.

``labeler.ontology.load_ontology()`` reads this folder by default; ``--ontology DIR`` points any
command at a user-edited copy instead. See docs/ontology.md for the file format.
"""
from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent
