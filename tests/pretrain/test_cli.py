"""`cxr pretrain`: help with examples, one clear message and exit 2 on bad input, train / resume / export."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cxr.cli.main import app

from tests.pretrain.train_helpers import one_thread

_threads = pytest.fixture(autouse=True)(one_thread)
runner = CliRunner()

TINY = ["--set", "data.toy=96", "--set", "data.workers=0", "--epochs", "1", "--batch-size", "16", "-q"]


@pytest.mark.parametrize("args", [["pretrain", "--help"], ["pretrain", "export", "--help"],
                                  ["pretrain", "configs", "--help"]])
def test_every_command_has_help_with_an_example(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Example: cxr pretrain" in result.output


def test_configs_lists_the_paper_settings():
    result = runner.invoke(app, ["pretrain", "configs"])
    assert result.exit_code == 0 and "dlilp_mimic_chexpert_padchest" in result.output.split()


@pytest.mark.parametrize("args,message", [
    ([], "--config is required"),
    (["--config", "no_such_config"], "config not found: no_such_config"),
    (["--config", "demo_toy", "--set", "optim.lrate=1"], "unknown key 'optim.lrate'"),
    (["--config", "demo_toy", "--set", "train.epochs=two"], "'train.epochs' must be an integer"),
    (["--config", "dlilp_mimic", "--set", "data.cache=/nonexistent/cache", "--set", "model.pretrained=none",
      "--set", "model.text=tiny_bert"], "not a complete cxr cache"),
])
def test_bad_input_gives_one_message_and_exit_2(tmp_path, args, message):
    result = runner.invoke(app, ["pretrain", *args, "-o", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_train_resume_and_export(tmp_path):
    result = runner.invoke(app, ["pretrain", "--config", "demo_toy", "-o", str(tmp_path), *TINY])
    assert result.exit_code == 0, result.output
    run = tmp_path / "demo_toy"
    assert "export:" in result.output and (run / "export" / "config.json").is_file()

    refused = runner.invoke(app, ["pretrain", "--resume", str(run), "--set", "model.embed_dim=8"])
    assert refused.exit_code == 2 and "model.embed_dim: 64 -> 8" in refused.output

    longer = runner.invoke(app, ["pretrain", "--resume", str(run), "--epochs", "2", "-q"])
    assert longer.exit_code == 0 and "2 epoch(s)" in longer.output, longer.output

    exported = runner.invoke(app, ["pretrain", "export", str(run), "-o", str(tmp_path / "enc")])
    assert exported.exit_code == 0 and (tmp_path / "enc" / "model.safetensors").is_file()
    missing = runner.invoke(app, ["pretrain", "export", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no checkpoint" in missing.output
