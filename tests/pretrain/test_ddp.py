"""DDP: 2 processes (torchrun, gloo, CPU) with the global batch split between them follow the same loss
trajectory and end at the same weights as 1 process with the whole batch. This holds only because the
contrastive terms gather embeddings WITH gradients across processes (a local-batch CLIP would differ).
Tolerance: 1e-5 (the all-reduce sums gradients in another order than one process does)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cxr.pretrain.engine.trainer import train

from tests.pretrain.train_helpers import checkpoint_weights, one_thread, tiny_config, train_rows, write_config

_threads = pytest.fixture(autouse=True)(one_thread)

REPO = Path(__file__).resolve().parents[2]
SETTINGS = ("train.epochs=1", "train.batch_size=16", "augment.p=0.5")


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.fail("torchrun not found next to the Python interpreter")
    two = tiny_config(tmp_path, "dlilp", *SETTINGS, name="two")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "cxr", "pretrain",
           "--config", str(write_config(two, tmp_path / "two.yaml")), "-q"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    one = train(tiny_config(tmp_path, "dlilp", *SETTINGS, name="one"))

    ddp, single = train_rows(two.run_dir), train_rows(one.run_dir)
    assert [s for s, _ in ddp] == [s for s, _ in single] and len(ddp) == 9
    for (_, a), (_, b) in zip(ddp, single):
        assert a == pytest.approx(b, abs=1e-5)
    clip = dict(train_rows(two.run_dir, "n_text"))
    assert max(clip.values()) > 8      # the CLIP term saw more report items than one process holds (8)
    got = checkpoint_weights(two.run_dir / "checkpoint-last.pt")
    want = checkpoint_weights(one.run_dir / "checkpoint-last.pt")
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-5), k
