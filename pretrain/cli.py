"""Mounts the pre-training commands on the root ``cxr`` app.

Two owners, two files: the data commands (``cxr manifest``, ``cxr prepare``, ``cxr synth``) live in
``pretrain/data/cli.py``; the ``cxr pretrain`` group lives in ``pretrain/engine/cli.py``.
"""
from __future__ import annotations


def register(app) -> None:
    from pretrain.data.cli import register as register_data
    register_data(app)          # `cxr manifest`, `cxr prepare`, `cxr synth`

    # --- trainer commands (pretrain/engine/cli.py, owned by the trainer engineer) -----------------
    try:
        from pretrain.engine.cli import register as register_train
    except ModuleNotFoundError as exc:
        # Only a missing engine package is tolerated; a broken import inside it must surface.
        if exc.name in ("pretrain.engine", "pretrain.engine.cli"):
            return
        raise
    register_train(app)         # `cxr pretrain ...`
