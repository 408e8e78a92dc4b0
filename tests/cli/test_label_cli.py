"""`cxr label` and `cxr ontology`: round trips, every bad-input case (one message, exit 2, no output left
behind), determinism, and start-up without torch."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxr.cli.main import app
from cxr.labeler.samples import SAMPLE_REPORTS
from tests.labeler.engine_support import build_fixture_ontology

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def onto_dir(tmp_path_factory):
    return build_fixture_ontology(tmp_path_factory.mktemp("onto"))


def cxr(*args, onto=None):
    extra = ["--ontology", str(onto)] if onto else []
    return CliRunner().invoke(app, [*args, *extra])


def label(onto, *args):
    return cxr("label", *args, "--no-progress", onto=onto)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def reports_csv(path: Path, reports, ids=None) -> Path:
    pd.DataFrame({"study_id": ids or list(range(len(reports))), "report": reports}).to_csv(path, index=False)
    return path


# --- round trips -------------------------------------------------------------------------------------------
def test_sample_reports_round_trip(onto_dir, tmp_path):
    out = tmp_path / "labels.csv"
    res = label(onto_dir, "--sample", "-o", str(out), "--workers", "2", "--chunk-size", "7")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, dtype={"study_id": str})
    samples = pd.read_csv(SAMPLE_REPORTS, dtype=str)
    assert df.study_id.tolist() == samples.study_id.tolist()
    assert df["pneumothorax"].notna().any() and df["pleural effusion"].eq(1).any()
    empty = samples.report.isna()
    assert empty.any() and df[empty.values].iloc[:, 1:].isna().all(axis=None)
    assert "labeled 42 reports (1 without text)" in res.output and "most frequent positive labels" in res.output


def test_csv_with_options_and_all_outputs(onto_dir, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"uid": ["a1", "a2"], "findings": ["Right pneumothorax.", ""],
                  "impression": ["No effusion.", "Possible pneumonia."]}).to_csv(src, index=False)
    out, sent, expl = tmp_path / "o.csv", tmp_path / "s.parquet", tmp_path / "e.jsonl"
    res = label(onto_dir, str(src), "-o", str(out), "--text-column", "findings,impression", "--id-column", "uid",
                "--vocabulary", "chexpert", "--sentences", str(sent), "--explain", str(expl))
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert df.columns[0] == "uid" and df.loc[0, "Pneumothorax"] == 1 and df.loc[0, "Pleural Effusion"] == 0
    assert pd.isna(df.loc[1, "Pneumothorax"])
    assert pd.read_parquet(sent).id.tolist() == ["a1", "a1", "a2"]
    assert {json.loads(x)["id"] for x in expl.read_text().splitlines()} == {"a1", "a2"}


def test_folder_of_txt_reports(onto_dir, tmp_path):
    root = tmp_path / "files" / "p10" / "p10000032"
    root.mkdir(parents=True)
    (root / "s50414267.txt").write_text("FINDINGS: Small left pleural effusion.\n")
    (root / "s50000001.txt").write_text("FINDINGS: No pneumothorax.\n")
    out = tmp_path / "o.csv"
    assert label(onto_dir, str(tmp_path / "files"), "-o", str(out)).exit_code == 0
    df = pd.read_csv(out, dtype={"study_id": str})
    assert df.study_id.tolist() == ["s50000001", "s50414267"] and df.loc[1, "pleural effusion"] == 1


def test_output_is_deterministic_across_runs_and_workers(onto_dir, tmp_path):
    runs = []
    for i, workers in enumerate(["1", "2", "2"]):
        outs = [tmp_path / f"o{i}.csv", tmp_path / f"s{i}.parquet", tmp_path / f"e{i}.jsonl"]
        res = label(onto_dir, "--sample", "-o", str(outs[0]), "--sentences", str(outs[1]), "--explain", str(outs[2]),
                    "--workers", workers, "--chunk-size", "5")
        assert res.exit_code == 0, res.output
        runs.append([p.read_bytes() for p in outs])
    assert runs[0] == runs[1] == runs[2]


def test_megabyte_report_works(onto_dir, tmp_path):
    big = "No effusion. Right pneumothorax; possible pneumonia. " * 20000
    src = reports_csv(tmp_path / "in.csv", [big, "Effusion."])
    out = tmp_path / "o.csv"
    res = label(onto_dir, str(src), "-o", str(out))
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 2 and df.loc[0, "pneumothorax"] == 1 and df.loc[0, "pneumonia"] == -1


# --- Spanish (the shipped ontology) -----------------------------------------------------------------------
SPANISH = ["Derrame pleural derecho. No se observa neumotórax.", "posibl neumoni basal izquierd . sin derram ."]


def test_spanish_reports_with_every_output(tmp_path):
    src = reports_csv(tmp_path / "es.csv", SPANISH)
    out, sent, expl, page = (tmp_path / n for n in ("o.csv", "s.parquet", "e.jsonl", "p.html"))
    res = cxr("label", str(src), "-o", str(out), "--language", "es", "--sentences", str(sent), "--explain", str(expl),
              "--html", str(page), "--no-progress")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert df.loc[0, ["pleural effusion", "pneumothorax"]].tolist() == [1, 0]
    assert df.loc[1, ["pneumonia", "pleural effusion"]].tolist() == [-1, 0]
    rows = pd.read_parquet(sent)
    assert rows.text.tolist()[:2] == ["Derrame pleural derecho.", "No se observa neumotórax."]
    assert "pleural effusion" in list(rows.labels[0])
    records = [json.loads(line) for line in expl.read_text().splitlines()]
    ptx = next(r for r in records if r.get("label") == "pneumothorax")
    assert (ptx["language"], ptx["text"], ptx["cue"], ptx["value"]) == ("es", "neumotórax", "no se observa", 0)
    assert "neumotórax" in page.read_text()


def test_language_auto_says_what_it_chose(tmp_path):
    src = reports_csv(tmp_path / "mixed.csv", [*SPANISH, "FINDINGS: Small right pleural effusion."])
    out = tmp_path / "o.csv"
    res = cxr("label", str(src), "-o", str(out), "--language", "auto", "--vocabulary", "chexpert", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "languages: en 1, es 2" in res.output
    assert pd.read_csv(out)["Pleural Effusion"].tolist() == [1, 0, 1]


def test_ontology_show_and_check_list_every_language():
    res = cxr("ontology", "show", "pleural effusion")
    assert res.exit_code == 0 and "synonyms (es):\n  derram*" in res.output and "exclusions (es):" in res.output
    res = cxr("ontology", "check")
    assert res.exit_code == 0 and "languages: en, es" in res.output


# --- bad input: one clear message, exit 2, nothing written ------------------------------------------------
def bad_cases(tmp_path: Path, onto_dir: Path):
    good = reports_csv(tmp_path / "good.csv", ["No effusion."])
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "latin.csv").write_bytes(b"study_id,report\n1,ok\n2,caf\xe9 effusion\n")
    broken = tmp_path / "broken_onto"
    shutil.copytree(onto_dir, broken)
    (broken / "labels" / "10_findings.yaml").write_text("kind: finding\nlabels:\n  - name: x\n   synonyms: [a\n")
    return {
        "missing column": (["good.csv", "--text-column", "text"], "available columns: 'study_id', 'report'"),
        "missing id column": (["good.csv", "--id-column", "uid"], "no id column 'uid'"),
        "empty file": (["empty.csv"], "input file is empty"),
        "undecodable": (["latin.csv"], "line 3"),
        "missing input": (["nope.csv"], "input not found"),
        "output folder missing": (["good.csv", "-o", str(tmp_path / "nodir" / "o.csv")], "output folder does not exist"),
        "yaml error": (["good.csv", "--ontology", str(broken)], "10_findings.yaml:4"),
        "unknown vocabulary": (["good.csv", "--vocabulary", "nih"], "unknown vocabulary 'nih'"),
        "input and sample": (["good.csv", "--sample"], "either INPUT or --sample"),
        "unknown section": (["good.csv", "--sections", "findings,impresion"], "unknown section(s) 'impresion'"),
        "same outputs": (["good.csv", "--explain", str(tmp_path / "o.csv")], "must differ"),
        "unknown language": (["good.csv", "--language", "es"], "unknown language 'es'; known: en, auto"),
    }


CASES = ["missing column", "missing id column", "empty file", "undecodable", "missing input",
         "output folder missing", "yaml error", "unknown vocabulary", "input and sample", "unknown section",
         "same outputs", "unknown language"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_clearly_without_output(onto_dir, tmp_path, case, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, message = bad_cases(tmp_path, onto_dir)[case]
    before = files(tmp_path)
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "o.csv")]
    extra = [] if "--ontology" in args else ["--ontology", str(onto_dir)]
    res = CliRunner().invoke(app, ["label", *args, "--no-progress", *extra, "--sentences", str(tmp_path / "s.parquet")])
    assert res.exit_code == 2, res.output
    assert message in res.output and sum(line.startswith("error:") for line in res.output.splitlines()) == 1
    assert "Traceback" not in res.output
    assert files(tmp_path) == before                     # no output, no temp file


def test_undecodable_input_works_with_the_right_encoding(onto_dir, tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"study_id,report\n1,ok\n2,caf\xe9 effusion\n")
    res = label(onto_dir, str(tmp_path / "latin.csv"), "-o", str(tmp_path / "o.csv"), "--encoding", "latin-1")
    assert res.exit_code == 0 and pd.read_csv(tmp_path / "o.csv").loc[1, "pleural effusion"] == 1


# --- cxr ontology -----------------------------------------------------------------------------------------
def test_ontology_check_ok_and_problems(onto_dir, tmp_path):
    ok = cxr("ontology", "check", str(onto_dir))
    assert ok.exit_code == 0 and "ok:" in ok.output
    broken = tmp_path / "broken"
    shutil.copytree(onto_dir, broken)
    path = broken / "labels" / "20_diagnoses.yaml"
    path.write_text(path.read_text().replace("parents: [radiological finding]", "parents: [nowhere]", 1))
    res = cxr("ontology", "check", "--ontology", str(broken))
    assert res.exit_code == 1
    assert "20_diagnoses.yaml:3: label 'pneumonia' has unknown parent 'nowhere'" in res.output


def test_ontology_show(onto_dir):
    res = cxr("ontology", "show", "calcified granuloma", onto=onto_dir)
    assert res.exit_code == 0
    assert "parents: calcified densities, granuloma" in res.output and "calcified granuloma*" in res.output
    res = cxr("ontology", "show", "pleural effusion", onto=onto_dir)
    assert "pericardial effusion*" in res.output and "chexpert:Pleural Effusion" in res.output
    res = cxr("ontology", "show", "granulom", onto=onto_dir)
    assert res.exit_code == 2 and "similar: granuloma, calcified granuloma" in res.output


# --- start-up ---------------------------------------------------------------------------------------------
def test_label_command_does_not_import_torch_or_pandas(onto_dir, tmp_path):
    code = ("import sys, runpy; sys.argv = ['cxr', 'label', '--sample', '-o', sys.argv[1], '--no-progress',"
            " '--ontology', sys.argv[2]]\n"
            "try:\n    runpy.run_module('cxr.cli.main', run_name='__main__')\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = sorted(m for m in ('torch', 'pandas', 'transformers') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "o.csv"), str(onto_dir)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o.csv").exists()


def test_import_labeler_is_light():
    code = "import sys, cxr.labeler, cxr.labeler.engine, cxr.labeler.runner; assert 'torch' not in sys.modules"
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_conventions_choose_how_alternatives_are_coded(tmp_path):
    """CheXpert's own conventions make both members of "A or B" uncertain; --conventions padchest keeps
    the CheXpert columns but codes them present, as Open-i's MeSH gold and PadChest's physicians do."""
    src = tmp_path / "r.csv"
    pd.DataFrame({"study_id": ["s1"], "report": ["Left basilar atelectasis or pneumonia."]}).to_csv(src, index=False)
    values = {}
    for extra in ([], ["--conventions", "padchest"]):
        out = tmp_path / f"out{len(extra)}.csv"
        result = CliRunner().invoke(app, ["label", str(src), "-o", str(out), "--vocabulary", "chexpert", *extra])
        assert result.exit_code == 0, result.output
        row = pd.read_csv(out).iloc[0]
        values[tuple(extra)] = (row["Atelectasis"], row["Pneumonia"])
    assert values[()] == (-1, -1)
    assert values[("--conventions", "padchest")] == (1, 1)
    bad = CliRunner().invoke(app, ["label", str(src), "-o", str(tmp_path / "x.csv"), "--conventions", "nope"])
    assert bad.exit_code != 0 and "nope" in bad.output and not (tmp_path / "x.csv").exists()
