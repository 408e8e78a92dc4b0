"""`cxr label --html`: every report (or the first --html-limit) with its mentions coloured by status, a
legend, ids escaped; published with the labels only on success; spaCy imported only when asked for."""
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cxr.cli.main import app
from cxr.labeler.report_html import STATUS
from cxr.labeler.samples import SAMPLE_REPORTS

REPO = Path(__file__).resolve().parents[2]
POS, NEG, UNC = (STATUS[s][2] for s in (1, 0, -1))


def label(*args):
    return CliRunner().invoke(app, ["label", *args, "--no-progress"])


def reports(tmp_path: Path, texts, ids) -> Path:
    path = tmp_path / "in.csv"
    pd.DataFrame({"study_id": ids, "report": texts}).to_csv(path, index=False)
    return path


def test_sample_reports_page(tmp_path):
    out, page = tmp_path / "labels.csv", tmp_path / "reports.html"
    res = label("--sample", "-o", str(out), "--html", str(page))
    assert res.exit_code == 0, res.output
    html = page.read_text(encoding="utf-8")
    ids = pd.read_csv(SAMPLE_REPORTS, dtype=str).study_id.tolist()
    assert html.count('class="report"') == len(ids) == 42
    assert all(f">{i}</h2>" in html for i in ids)
    assert "mention status:" in html and all(c in html for c in (POS, NEG, UNC))   # legend + the 3 statuses
    assert f"html: {len(ids)} report(s)" in res.output and out.exists()


def test_mentions_statuses_overlaps_and_escaping(tmp_path):
    src = reports(tmp_path, ["FINDINGS: No pleural effusion. Possible left lower lobe pneumonia.\n\n"
                             "IMPRESSION: Pacemaker with a single lead.", "<b>x</b> & no report", None],
                  ["r<1>", "r2", "r3"])
    page = tmp_path / "p.html"
    assert label(str(src), "-o", str(tmp_path / "o.csv"), "--html", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    tag = r'<span style="background: {};[^>]*>\s*{}\s*</span>'
    assert re.search(tag.format(NEG, "pleural effusion −"), html)
    assert re.search(tag.format(UNC, "pneumonia \\?"), html)
    # overlapping mentions are both drawn
    assert re.search(tag.format(POS, "single chamber device \\+"), html) and re.search(tag.format(POS, "pacemaker \\+"), html)
    assert "<br>" in html                                  # the report's line breaks survive
    assert ">r&lt;1&gt;</h2>" in html and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt; &amp; no" in html
    assert html.count('class="report"') == 3 and "no label mentioned" in html


def test_limit(tmp_path):
    page = tmp_path / "p.html"
    res = label("--sample", "-o", str(tmp_path / "o.csv"), "--html", str(page), "--html-limit", "3")
    assert res.exit_code == 0, res.output
    html = page.read_text(encoding="utf-8")
    assert html.count('class="report"') == 3 and "the first 3 of the input" in html


def test_bad_html_path_fails_before_any_output(tmp_path):
    out = tmp_path / "o.csv"
    for bad in (tmp_path / "nodir" / "p.html", out):
        res = label("--sample", "-o", str(out), "--html", str(bad))
        assert res.exit_code == 2, res.output
        assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_label_without_html_does_not_import_spacy(tmp_path):
    code = ("import sys, runpy; sys.argv = ['cxr', 'label', '--sample', '-o', sys.argv[1], '--no-progress']\n"
            "try:\n    runpy.run_module('cxr.cli.main', run_name='__main__')\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'spacy' not in sys.modules\n")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "o.csv")], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
