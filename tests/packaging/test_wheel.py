"""Installed, cxr is one import package: its wheel installs and runs beside Hugging Face ``evaluate``.

Before the single namespace, the wheel put ``evaluate/`` (and ``labeler/``, ``pretrain/``, ``ontology/``)
at the top of site-packages, where pip would overwrite Hugging Face's ``evaluate`` or be overwritten by it.
The test builds the wheel from the repository's sources, installs it without dependencies into a fresh
virtual environment that sees this environment's packages (torch and the rest, Hugging Face evaluate among
them) through a .pth file, and uses both libraries in one interpreter.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SOURCES = ("cxr", "labeler", "ontology", "pretrain", "evaluate", "setup.py", "pyproject.toml", "README.md")
#: A metric module of Hugging Face evaluate's own format, loaded from disk (no hub: tests run offline).
EXACT_METRIC = '''
import datasets
import evaluate


class Exact(evaluate.Metric):
    def _info(self):
        features = datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")})
        return evaluate.MetricInfo(description="exact matches", citation="", inputs_description="", features=features)

    def _compute(self, predictions, references):
        return {"exact": sum(p == r for p, r in zip(predictions, references)) / len(references)}
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, src / name, **(
            {"ignore": ignore} if (REPO / name).is_dir() else {}))
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)])
    found, = out.glob("cxr-*.whl")
    return found


def run(cmd, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert res.returncode == 0, f"{cmd}\n{res.stdout}\n{res.stderr}"
    return res


def test_wheel_holds_one_top_level_package_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"cxr"}
    for data in ("cxr/ontology/cues.yaml", "cxr/ontology/labels/pleura.yaml", "cxr/ontology/projections/chexpert.yaml",
                 "cxr/pretrain/configs/dlilp_mimic_chexpert.yaml", "cxr/evaluate/prompts/default.yaml",
                 "cxr/labeler/samples/sample_reports.csv"):
        assert data in names, data


def test_wheel_installs_and_runs_beside_hugging_face_evaluate(wheel, tmp_path):
    from importlib.metadata import version
    assert version("evaluate")   # Hugging Face evaluate, from the dev extra (not importable here by name:
    #                             the repository's own evaluate/ folder is on this process's path)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # This environment's packages, after the new one's own: torch etc. resolve here, cxr does not (an
    # editable install's finder is a .pth hook, and .pth files of an added folder are not run).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)])
    (tmp_path / "exact").mkdir()
    (tmp_path / "exact" / "exact.py").write_text(EXACT_METRIC)
    code = textwrap.dedent(f"""
        import evaluate, cxr, cxr.evaluate
        assert cxr.__file__.startswith({str(site)!r}), cxr.__file__
        assert not evaluate.__file__.startswith({str(site)!r}) and hasattr(evaluate, "load"), evaluate.__file__
        assert cxr.evaluate.__file__ == {str(site / "cxr" / "evaluate" / "__init__.py")!r}
        metric = evaluate.load({str(tmp_path / "exact")!r})
        assert metric.compute(predictions=[1, 0, 1, 1], references=[1, 1, 1, 1]) == {{"exact": 0.75}}
        row = cxr.label("Small right pleural effusion. No pneumothorax.", vocabulary="chexpert").iloc[0]
        assert row["Pleural Effusion"] == 1 and row["Pneumothorax"] == 0, row.dropna()
        print("ok")
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": ""}
    assert run([str(python), "-c", code], cwd=tmp_path, env=env).stdout.strip().endswith("ok")
    out = tmp_path / "labels.csv"
    run([str(venv / "bin" / "cxr"), "label", "--sample", "-o", str(out), "--no-progress"], cwd=tmp_path, env=env)
    assert out.read_text().splitlines()[0].startswith("study_id,")
