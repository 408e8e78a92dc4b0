"""The ``cxr`` command: a thin typer app that mounts each package's commands.

Each package owns ``<package>/cli.py`` with ``register(app)``. Those modules import heavy libraries
(torch, transformers) inside command bodies only, so ``cxr label`` starts without torch.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Optional

import typer

from labeler.cli.common import fail

app = typer.Typer(
    name="cxr",
    help="Chest X-ray report labeling, pre-training and transfer evaluation.\n\n"
         "Example: cxr label reports.csv -o labels.csv",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ontology: Optional[Path] = typer.Option(
        None, "--ontology", envvar="CXR_ONTOLOGY", show_default=False,
        help="Ontology folder for every command (and its worker processes) instead of the shipped one; "
             "same as setting CXR_ONTOLOGY. Example: cxr --ontology my_ontology/ eval run ...")) -> None:
    # Through the environment, so pretrain/evaluate code, DataLoader workers and labeling processes all
    # resolve the same ontology via labeler.ontology.default_ontology_dir().
    if ontology is not None:
        if not ontology.is_dir():
            raise fail(f"ontology folder not found: {ontology}")
        os.environ["CXR_ONTOLOGY"] = str(ontology.resolve())


# labeler.cli.commands first: its commands are the foundation every other stage relies on.
_COMMAND_MODULES = ("labeler.cli.commands", "pretrain.cli", "evaluate.cli", "evaluate.demo_cli")


def _mount() -> None:
    for module_name in _COMMAND_MODULES:
        package = module_name.split(".")[0]
        try:
            importlib.import_module(module_name).register(app)
        except ModuleNotFoundError as exc:
            # A package still under construction (its cli module, or a submodule its register() imports,
            # not written yet) must not break the others' commands. Missing third-party modules surface.
            if package != "labeler" and exc.name and (exc.name == package or exc.name.startswith(package + ".")):
                continue
            raise


_mount()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
