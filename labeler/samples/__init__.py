"""Embedded sample reports (hand-written, MIMIC-style, no patient data) for demos and smoke tests.

``sample_reports.csv`` has columns ``study_id`` and ``report``; one row is deliberately empty, to show
that an empty report keeps its row with every label empty.
"""
from pathlib import Path

SAMPLE_REPORTS = Path(__file__).resolve().parent / "sample_reports.csv"
SAMPLE_ID_COLUMN = "study_id"
SAMPLE_TEXT_COLUMN = "report"
