"""Entry point for torchrun (one process per GPU; any number of nodes):

    torchrun --nproc_per_node 8 -m pretrain.engine.launch --config dlilp_mimic_chexpert --batch-size 1024
    torchrun --nnodes 4 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
        -m pretrain.engine.launch --config ...

Takes exactly the options of ``cxr pretrain``. Rank 0 writes the run folder, which must be on a
filesystem every node sees (checkpoints are read by all ranks on resume).
"""
from __future__ import annotations

import sys

from pretrain.engine.cli import build_app


def main(argv: list[str] | None = None) -> None:
    build_app()(args=sys.argv[1:] if argv is None else argv, prog_name="pretrain.engine.launch")


if __name__ == "__main__":
    main()
