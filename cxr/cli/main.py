"""The ``cxr`` command: a thin typer app that mounts the command modules of this package.

Each module (label, data, pretrain, eval, demo) has ``register(app)`` and imports heavy libraries
(torch, transformers) inside command bodies only, so ``cxr label`` starts without torch.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from cxr.cli import data, demo, label, pretrain
from cxr.cli import eval as eval_commands
from cxr.cli.common import fail

app = typer.Typer(
    name="cxr",
    help="Chest X-ray report labeling, pre-training and transfer evaluation.\n\n"
         "Example: cxr label reports.csv -o labels.csv",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: typer's rich tables label every flag (even --help) with a "<bool>" type.
    # Every sub-app (eval, pretrain, ontology) sets the same.
    rich_markup_mode=None,
)


@app.callback()
def _root(ontology: Optional[Path] = typer.Option(
        None, "--ontology", envvar="CXR_ONTOLOGY", show_default=False,
        help="Ontology folder for every command (and its worker processes) instead of the shipped one; "
             "same as setting CXR_ONTOLOGY. Example: cxr --ontology my_ontology/ eval run ...")) -> None:
    # Through the environment, so pretrain/evaluate code, DataLoader workers and labeling processes all
    # resolve the same ontology via cxr.labeler.ontology.default_ontology_dir().
    if ontology is not None:
        if not ontology.is_dir():
            raise fail(f"ontology folder not found: {ontology}")
        os.environ["CXR_ONTOLOGY"] = str(ontology.resolve())


# The label commands first: every other stage relies on them. Each module imports its heavy libraries
# (torch, pandas) inside command bodies, so mounting them all keeps `cxr label` free of torch.
for _commands in (label, data, pretrain, eval_commands, demo):
    _commands.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
