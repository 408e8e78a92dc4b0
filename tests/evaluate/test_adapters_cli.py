"""`cxr eval run -c hf-clip:FOLDER`: a foreign CLIP, saved the Hugging Face way, zero-shot and probed end to end."""
from __future__ import annotations

import pandas as pd
import yaml
from typer.testing import CliRunner

from cxr.cli.main import app
from tests.evaluate.standins import write_bright_half_task
from tests.evaluate.test_adapters import _hf_clip


def _task(root):
    """Two classes (bright top vs bright bottom), 3 train + 2 test images each."""
    return write_bright_half_task(root, ("effusion", "cardiomegaly"), 3, 2)


def test_eval_run_with_a_hugging_face_clip_folder(tmp_path):
    folder, _ = _hf_clip(tmp_path)
    split, out = _task(tmp_path), tmp_path / "out"
    res = CliRunner().invoke(app, ["eval", "run", "-c", f"hf-clip:{folder}", "--tasks", f"csv:{split}",
                                   "--shots", "1", "--seeds", "1", "--workers", "0", "--device", "cpu",
                                   "--cache-dir", str(tmp_path / "cache"), "-q", "-o", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = pd.read_csv(out / "results.csv")
    assert set(results["method"]) == {"zero-shot", "linear-probe"}, results
    assert results["aca"].between(0, 1).all()
    encoder = yaml.safe_load((out / "config.yaml").read_text())["encoder"]
    assert encoder["source"] == "hf-clip" and encoder["model_type"] == "clip" and len(encoder["folder_sha256"]) == 64
