"""Reading inputs, projecting, writing outputs, and running chunks through worker processes."""
import json
import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxr.core.errors import InputError
from cxr.labeler.projector import Projector
from cxr.labeler.reader import open_reports
from cxr.labeler.runner import label_reports
from cxr.labeler.writer import csv_field, csv_row
from tests.labeler.engine_support import labeler, onto, onto_dir  # noqa: F401  (fixtures)

REPORTS = ["No pleural effusion.", "Possible pneumonia.", "", "Stable left PICC. Calcified granuloma.",
           "FINDINGS: Large right pneumothorax.\nIMPRESSION: Pneumothorax.", None]


def write_csv(path, reports=REPORTS, ids=None):
    ids = ids or [f"s{i:03d}" for i in range(len(reports))]
    pd.DataFrame({"study_id": ids, "report": reports}).to_csv(path, index=False)
    return path


def read_labels(path):
    return pd.read_csv(path, dtype={"study_id": str})


# --- reader ---------------------------------------------------------------------------------------------
def test_csv_chunks_keep_order_ids_and_missing(tmp_path):
    src = open_reports(write_csv(tmp_path / "r.csv", ids=["007", "a,b", "3", "4", "5", "6"]), chunk_size=4)
    chunks = list(src.chunks())
    assert [len(c.ids) for c in chunks] == [4, 2] and [c.first_row for c in chunks] == [0, 4]
    assert chunks[0].ids[:2] == ["007", "a,b"]                  # ids are text: leading zeros survive
    assert chunks[0].texts[2] is None and chunks[1].texts[1] is None


def test_parquet_and_folder_inputs(tmp_path):
    table = pa.table({"study_id": [1, 2], "report": ["No effusion.", None]})
    pq.write_table(table, tmp_path / "r.parquet")
    chunks = list(open_reports(tmp_path / "r.parquet").chunks())
    assert chunks[0].ids == ["1", "2"] and chunks[0].texts == ["No effusion.", None]
    root = tmp_path / "files" / "p10" / "p10000032"
    root.mkdir(parents=True)
    (root / "s2.txt").write_text("Effusion.")
    (root / "s1.txt").write_text("No effusion.")
    (tmp_path / "files" / "p10" / "notes.md").write_text("ignored")
    chunk, = open_reports(tmp_path / "files").chunks()
    assert chunk.ids == ["s1", "s2"] and chunk.texts == ["No effusion.", "Effusion."]


def test_gzipped_csv(tmp_path):
    import gzip
    with gzip.open(tmp_path / "r.csv.gz", "wt", newline="") as fh:
        fh.write('study_id,report\n1,"No effusion.\nSmall pneumothorax."\n')
    chunk, = open_reports(tmp_path / "r.csv.gz").chunks()
    assert chunk.ids == ["1"] and chunk.texts == ["No effusion.\nSmall pneumothorax."]


def test_several_text_columns_are_joined(tmp_path):
    pd.DataFrame({"uid": [1, 2], "findings": ["No effusion.", ""], "impression": ["Pneumonia.", ""]}).to_csv(
        tmp_path / "r.csv", index=False)
    chunk, = open_reports(tmp_path / "r.csv", "findings,impression", "uid").chunks()
    assert chunk.texts == ["No effusion.\n\nPneumonia.", None]


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("study_id,text\n1,x\n"), "available columns: 'study_id', 'text'"),
    (lambda p: p.write_bytes(b"study_id,report\n1,ok\n2,caf\xe9\n"), "line 3"),
])
def test_bad_csv_inputs_name_the_problem(tmp_path, make, message):
    path = tmp_path / "bad.csv"
    make(path)
    with pytest.raises(InputError, match=message):
        list(open_reports(path).chunks())


def test_other_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="not found"):
        open_reports(tmp_path / "missing.csv")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(InputError, match="unsupported input type"):
        open_reports(tmp_path / "r.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .txt reports"):
        open_reports(tmp_path / "empty")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"\xff\xfe bad")
    with pytest.raises(InputError, match=r"a\.txt.*--encoding"):
        list(open_reports(tmp_path / "d").chunks())


# --- projector and CSV rendering ----------------------------------------------------------------------------
def test_projector_agrees_with_ontology_project(onto, labeler):
    for text in REPORTS:
        values = labeler.label(text).values
        for vocab in onto.vocabularies:
            expected = onto.project(values, vocab)
            row = Projector(onto, vocab).row(values)
            assert [None if (isinstance(v, float) and math.isnan(v)) else v for v in expected.values()] == row


def test_csv_quoting():
    assert csv_field("plain") == "plain"
    assert csv_field('a,"b"') == '"a,""b"""'
    assert csv_row(" x", [1, None, -1, 0]) == '" x",1,,-1,0\n'


# --- runner -------------------------------------------------------------------------------------------------
def run(labeler, tmp_path, name, workers=1, chunk_size=2, **kw):
    out = tmp_path / f"{name}.csv"
    src = open_reports(write_csv(tmp_path / "in.csv"), chunk_size=chunk_size)
    summary = label_reports(src, out, labeler, workers=workers, **kw)
    return out, summary


def test_one_row_per_report_in_order_with_empty_rows(labeler, tmp_path, onto):
    out, summary = run(labeler, tmp_path, "a")
    df = read_labels(out)
    assert list(df.columns) == ["study_id", *onto.vocabulary("padchest")]
    assert df.study_id.tolist() == [f"s{i:03d}" for i in range(len(REPORTS))]
    assert df.loc[0, "pleural effusion"] == 0 and df.loc[1, "pneumonia"] == -1
    assert df.iloc[2, 1:].isna().all() and df.iloc[5, 1:].isna().all()      # no text -> every label empty
    assert df.loc[4, "pneumothorax"] == 1
    assert (summary.reports, summary.missing) == (6, 2)
    assert dict(summary.top_positives())["pneumothorax"] == 1


def test_output_bytes_do_not_depend_on_workers_or_chunks(labeler, tmp_path):
    a, _ = run(labeler, tmp_path, "a", workers=1, chunk_size=100)
    b, _ = run(labeler, tmp_path, "b", workers=2, chunk_size=1)
    c, _ = run(labeler, tmp_path, "c", workers=2, chunk_size=1)
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


def test_vocabulary_projection_output(labeler, tmp_path, onto):
    out, _ = run(labeler, tmp_path, "chex", vocabulary="chexpert")
    df = read_labels(out)
    assert list(df.columns)[1:] == onto.vocabulary("chexpert")
    assert df.loc[4, "Pneumothorax"] == 1 and df.loc[0, "No Finding"] == 1


def test_sentences_and_explain_outputs(labeler, tmp_path):
    out, _ = run(labeler, tmp_path, "a", workers=2, sentences_out=tmp_path / "s.parquet",
                 explain_out=tmp_path / "e.jsonl")
    sent = pq.read_table(tmp_path / "s.parquet").to_pandas()
    assert list(sent.columns) == ["id", "sentence_index", "text", "labels"]
    row = sent[(sent.id == "s003") & (sent.sentence_index == 1)].iloc[0]
    assert row.text == "Calcified granuloma." and "calcified granuloma" in list(row.labels)
    assert set(sent.id) == {"s000", "s001", "s003", "s004"}          # reports without text have no sentences
    records = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    ptx = [r for r in records if r["id"] == "s004" and r["label"] == "pneumothorax" and "span" in r]
    assert ptx and ptx[0]["section"] == "findings" and ptx[0]["rule"] == "affirmed"
    assert any(r["label"] == "radiological finding" and r["rule"].startswith("propagated") for r in records)


def test_a_failure_leaves_no_output_at_all(labeler, tmp_path):
    path = tmp_path / "bad.csv"
    # the bad byte lies beyond the first read buffer: chunks were labeled and written before it
    path.write_bytes(b"study_id,report\n" + b"1,No effusion.\n" * 3000 + b"2,caf\xe9\n")
    src = open_reports(path, chunk_size=100)
    with pytest.raises(InputError, match="line 3002"):
        label_reports(src, tmp_path / "out.csv", labeler, sentences_out=tmp_path / "s.parquet",
                      explain_out=tmp_path / "e.jsonl", workers=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_outputs_must_differ(labeler, tmp_path):
    src = open_reports(write_csv(tmp_path / "in.csv"))
    with pytest.raises(Exception, match="must differ"):
        label_reports(src, tmp_path / "o.csv", labeler, explain_out=tmp_path / "o.csv")
