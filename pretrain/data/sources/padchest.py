"""PadChest reader."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.datasets import padchest
from cxr.datasets.files import find_file, read_csv_text
from cxr.pretrain.data.sources.base import SourceFrame, register_source, rows
from cxr.pretrain.data.sources.common import label_matrix_from_lists


#: where the labels come from: PadChest's own (physicians' and its RNN's) or cxr's labeler on its reports
LABEL_ORIGINS = ("physician", "reports")


@register_source(padchest.NAME)
def read_padchest(root: Path, *, onto, csv: str | None = None, unlisted: str = "nan",
                  frontal_only: bool = True, labels: str = "physician") -> SourceFrame:
    """PadChest (``cxr.datasets.padchest``: citation, download page, layout of ``root``).

    ``csv`` overrides the label CSV's name. ``frontal_only`` keeps projections PA, AP and AP_horizontal
    (view AP). Labels are PadChest names, i.e. ontology labels. PadChest lists the findings a report
    states as present; a label it does not list was not mentioned, so by default it is NaN
    (``unlisted='nan'``) and the trainer's ``missing`` setting decides. The paper trains with them as
    negatives: pass ``unlisted='negative'`` or set ``missing: negative`` in the trainer. Rows labelled
    'exclude' (unusable images) and rows without a parsable label list are dropped; label names unknown
    to the ontology are ignored and reported. The Spanish report text is not carried: these images get
    label prompts as text.

    ``labels='reports'`` (``cxr manifest padchest:ROOT,labels=reports``) labels the Spanish reports
    (column ``Report``) with cxr's labeler and ``onto`` instead: an edited ontology (a new label, synonym
    or exclusion) then gives PadChest the same label space as MIMIC's relabelled reports. Values are the
    labeler's (1 / 0 / -1, NaN not mentioned; ``unlisted`` does not apply). Rows PadChest marks 'exclude'
    are still dropped (the image is unusable).
    """
    if labels not in LABEL_ORIGINS:
        raise InputError(f"padchest: labels must be one of {', '.join(LABEL_ORIGINS)}, got {labels!r}")
    path = root / csv if csv else find_file(root, padchest.LABEL_CSV, "PadChest label CSV")
    if not path.is_file():
        raise InputError(f"PadChest label CSV not found: {path}")
    table = padchest.read_labels(path)
    if frontal_only:
        table = table[table["frontal"]]
    warnings = _warnings(table, onto, names=labels == "physician")
    table = table[table["usable"]]
    kept = table.index   # rows of the CSV, for the report texts
    table = table.reset_index(drop=True)
    findings = [[n for n in names if n in onto] for names in table["labels"]]
    columns = onto.vocabulary("padchest")
    frame = rows(padchest.NAME, table, root)
    if labels == "reports":
        values = _relabel(path, kept, onto, columns)
    else:
        values = label_matrix_from_lists(findings, columns, unlisted)
    return SourceFrame(padchest.NAME, pd.concat([frame, values], axis=1), columns, "padchest", warnings)


def _relabel(path: Path, kept: pd.Index, onto, columns: list[str]) -> pd.DataFrame:
    """The Spanish reports of the ``kept`` CSV rows labelled with ``onto`` (1 / 0 / -1, NaN = not mentioned)."""
    from cxr.labeler.engine import Labeler

    texts = read_csv_text(path, ("Report",))["Report"].loc[kept]
    values = Labeler(onto, language="es").label_many(texts, "padchest")
    return pd.DataFrame(values, columns=columns, dtype="float32").reset_index(drop=True)


def _warnings(table: pd.DataFrame, onto, names: bool = True) -> list[str]:
    """Dropped rows; with ``names``, PadChest label names the ontology does not know (physician labels)."""
    warnings = []
    dropped = int((~table["usable"]).sum())
    if dropped:
        warnings.append(f"{padchest.NAME}: {dropped} row(s) dropped ('exclude' or no label list)")
    unknown = {n for row in table["labels"].dropna() for n in row if n not in onto and n != padchest.EXCLUDE}
    if unknown and names:
        warnings.append(f"{padchest.NAME}: label(s) unknown to the ontology ignored: {sorted(unknown)}")
    return warnings
