"""PadChest reader."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.datasets import padchest
from cxr.datasets.files import find_file
from cxr.pretrain.data.sources.base import SourceFrame, register_source, rows
from cxr.pretrain.data.sources.common import label_matrix_from_lists


@register_source(padchest.NAME)
def read_padchest(root: Path, *, onto, csv: str | None = None, unlisted: str = "nan",
                  frontal_only: bool = True) -> SourceFrame:
    """PadChest (``cxr.datasets.padchest``: citation, download page, layout of ``root``).

    ``csv`` overrides the label CSV's name. ``frontal_only`` keeps projections PA, AP and AP_horizontal
    (view AP). Labels are PadChest names, i.e. ontology labels. PadChest lists the findings a report
    states as present; a label it does not list was not mentioned, so by default it is NaN
    (``unlisted='nan'``) and the trainer's ``missing`` setting decides. The paper trains with them as
    negatives: pass ``unlisted='negative'`` or set ``missing: negative`` in the trainer. Rows labelled
    'exclude' (unusable images) and rows without a parsable label list are dropped; label names unknown
    to the ontology are ignored and reported. The Spanish report column is not used: these images get
    label prompts as text.
    """
    path = root / csv if csv else find_file(root, padchest.LABEL_CSV, "PadChest label CSV")
    if not path.is_file():
        raise InputError(f"PadChest label CSV not found: {path}")
    table = padchest.read_labels(path)
    if frontal_only:
        table = table[table["frontal"]]
    warnings = _warnings(table, onto)
    table = table[table["usable"]].reset_index(drop=True)
    findings = [[n for n in names if n in onto] for names in table["labels"]]
    columns = onto.vocabulary("padchest")
    frame = rows(padchest.NAME, table, root)
    values = label_matrix_from_lists(findings, columns, unlisted)
    return SourceFrame(padchest.NAME, pd.concat([frame, values], axis=1), columns, "padchest", warnings)


def _warnings(table: pd.DataFrame, onto) -> list[str]:
    warnings = []
    dropped = int((~table["usable"]).sum())
    if dropped:
        warnings.append(f"{padchest.NAME}: {dropped} row(s) dropped ('exclude' or no label list)")
    unknown = {n for names in table["labels"].dropna() for n in names if n not in onto and n != padchest.EXCLUDE}
    if unknown:
        warnings.append(f"{padchest.NAME}: label(s) unknown to the ontology ignored: {sorted(unknown)}")
    return warnings
