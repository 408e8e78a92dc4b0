"""``--explain`` records: why each label of a report got its value (one JSON object per line).

One record per mention (the synonym that matched in the report's language, where, and the cue/rule that
set its status) and one
per label set by a rule rather than a mention (propagation to an ancestor, the 'normal' rule).
"""
from __future__ import annotations

import json

from cxr.labeler.engine import ReportResult


def explain_records(report_id: str, result: ReportResult) -> list[dict]:
    records = []
    for m in result.mentions:
        records.append({
            "id": report_id, "label": m.label, "value": result.values.get(m.label), "mention_status": m.status,
            "text": m.text, "span": list(m.span), "section": m.section, "sentence_index": m.sentence,
            "pattern": m.pattern, "cue": m.cue, "rule": m.rule, "language": result.language,
        })
    for label, why in result.derived.items():
        records.append({"id": report_id, "label": label, "value": result.values.get(label), "rule": why})
    return records


def explain_lines(report_id: str, result: ReportResult) -> str:
    """The JSONL text of one report (empty for a report without mentions)."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                   for r in explain_records(report_id, result))
