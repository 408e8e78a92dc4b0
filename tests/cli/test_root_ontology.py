"""`cxr --ontology DIR <command>` points every command (and its workers) at a user-edited ontology."""
import shutil

from typer.testing import CliRunner

from cxr.cli.main import app
from cxr.ontology import ONTOLOGY_DIR

EXTRA = """
  - name: zz phantom finding
    parents: [radiological finding]
    synonyms: [zzphantom*]
    description: A finding that exists only in this user-edited copy.
"""


def test_root_option_overrides_the_shipped_ontology_for_any_command(tmp_path, monkeypatch):
    monkeypatch.delenv("CXR_ONTOLOGY", raising=False)   # restored after the test
    custom = tmp_path / "onto"
    shutil.copytree(ONTOLOGY_DIR, custom, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    with open(custom / "labels" / "general.yaml", "a", encoding="utf-8") as fh:
        fh.write(EXTRA)
    runner = CliRunner()
    shipped = runner.invoke(app, ["ontology", "show", "zz phantom finding"])
    assert shipped.exit_code == 2 and "unknown label" in shipped.output

    custom_show = runner.invoke(app, ["--ontology", str(custom), "ontology", "show", "zz phantom finding"])
    assert custom_show.exit_code == 0, custom_show.output
    assert "zzphantom*" in custom_show.output

    reports = tmp_path / "r.csv"
    reports.write_text("study_id,report\n1,FINDINGS: Zzphantoms in both lungs.\n")
    out = tmp_path / "labels.csv"
    res = runner.invoke(app, ["--ontology", str(custom), "label", str(reports), "-o", str(out),
                              "--workers", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    header, row = out.read_text().splitlines()
    assert row.split(",")[header.split(",").index("zz phantom finding")] == "1"


def test_root_option_rejects_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CXR_ONTOLOGY", raising=False)
    res = CliRunner().invoke(app, ["--ontology", str(tmp_path / "nope"), "ontology", "check"])
    assert res.exit_code == 2 and "ontology folder not found" in res.output
