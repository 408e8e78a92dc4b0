"""`cxr manifest` and `cxr prepare` as a user meets them: errors name real options, counts are true."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from cxr.cli.main import app

runner = CliRunner()


def test_manifest_error_names_the_source_option_not_a_missing_flag(tmp_path):
    table = tmp_path / "mine.csv"
    table.write_text("path,patient_id,Enlarged Cardiomediastinum\na.png,1,1\nb.png,2,0\n")
    result = runner.invoke(app, ["manifest", f"manifest:{table}", "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--vocabulary" not in result.output              # `cxr manifest` has no such option
    assert "vocabulary=NAME" in result.output
    # the advice works
    fixed = runner.invoke(app, ["manifest", f"manifest:{table},vocabulary=chexpert", "-o", str(tmp_path / "out.csv")])
    assert fixed.exit_code == 0, fixed.output


def test_prepare_does_not_count_failed_images_as_cached(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (20, 30), dtype=np.uint8)).save(tmp_path / f"i{i}.png")
    (tmp_path / "i4.png").write_bytes(b"not a png")
    rows = "".join(f"i{i}.png,{i},{i % 2}\n" for i in range(5))
    (tmp_path / "m.csv").write_text("path,patient_id,Cardiomegaly\n" + rows)
    result = runner.invoke(app, ["prepare", str(tmp_path / "m.csv"), "-o", str(tmp_path / "cache"), "--size", "16",
                                 "--val-fraction", "0", "--max-fail-fraction", "0.5", "--vocabulary", "chexpert",
                                 "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "4 images cached" in result.output and "train 4 images / 4 patients" in result.output
    meta = json.loads((tmp_path / "cache" / "meta.json").read_text())
    assert (meta["ok"], meta["failed"]) == (4, 1)
    assert meta["split"]["train"] == {"rows": 4, "patients": 4}
