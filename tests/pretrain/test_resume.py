"""Resume is exact: an interrupted run (exception, or SIGKILL of the process) continued with --resume ends
with bit-identical weights to an uninterrupted run (CPU, fp32: equality, not a tolerance)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cxr.pretrain.engine.trainer import train

from tests.pretrain.train_helpers import checkpoint_weights, one_thread, tiny_config, train_rows, write_config

_threads = pytest.fixture(autouse=True)(one_thread)

REPO = Path(__file__).resolve().parents[2]
# 2 epochs x 9 steps; checkpoints every 4 steps, i.e. also in the middle of an epoch
SETTINGS = ("train.epochs=2", "train.ckpt_every=4", "augment.p=0.5")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = tiny_config(tmp_path_factory.mktemp("ref"), "dlilp", *SETTINGS, name="run")
    result = train(cfg)
    torch.set_num_threads(before)
    return result.run_dir


def assert_same_run(run_dir: Path, reference: Path) -> None:
    got, want = checkpoint_weights(run_dir / "checkpoint-last.pt"), checkpoint_weights(reference / "checkpoint-last.pt")
    assert got.keys() == want.keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k
    assert train_rows(run_dir) == train_rows(reference)   # metrics.csv reads as one uninterrupted run


class Interrupt(Exception):
    pass


def test_resume_after_an_interruption_mid_epoch_is_exact(tmp_path, reference):
    cfg = tiny_config(tmp_path, "dlilp", *SETTINGS, name="run")

    def stop_at_step_6(done, total, desc):
        if done == 6:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg, progress=stop_at_step_6)
    ckpt = torch.load(cfg.run_dir / "checkpoint-last.pt", weights_only=True)
    assert (ckpt["step"], ckpt["epoch"], ckpt["batch_in_epoch"]) == (4, 0, 4)   # mid-epoch: 4 of 9 batches
    train(cfg, resume=cfg.run_dir)
    assert_same_run(cfg.run_dir, reference)


def test_resume_after_sigkill_is_exact(tmp_path, reference):
    cfg = tiny_config(tmp_path, "dlilp", *SETTINGS, "data.workers=2", name="run")
    config = write_config(cfg, tmp_path / "run.yaml")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cxr", "pretrain", "--config", str(config), "-q"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt_path = cfg.run_dir / "checkpoint-last.pt"
    deadline = time.monotonic() + 120
    while not ckpt_path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    ckpt = torch.load(ckpt_path, weights_only=True)
    assert ckpt["step"] < 18, "the run finished before it could be killed"
    train(cfg, resume=cfg.run_dir)   # data.workers=2 here vs 0 in the reference: loading must not matter
    assert_same_run(cfg.run_dir, reference)


def test_resume_may_extend_the_run(tmp_path, reference):
    cfg = tiny_config(tmp_path, "unimodal", "train.epochs=1", name="run")
    train(cfg)
    longer = tiny_config(tmp_path, "unimodal", "train.epochs=2", name="run")
    result = train(longer, resume=cfg.run_dir)
    assert result.step == 18 and result.epoch == 2
