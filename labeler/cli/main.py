"""The ``cxr`` command: a thin typer app that mounts each package's commands.

Each package owns ``<package>/cli.py`` with ``register(app)``. Those modules import heavy libraries
(torch, transformers) inside command bodies only, so ``cxr label`` starts without torch.
"""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="cxr",
    help="Chest X-ray report labeling, pre-training and transfer evaluation.\n\n"
         "Example: cxr label reports.csv -o labels.csv",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# labeler.cli.commands first: its commands are the foundation every other stage relies on.
_COMMAND_MODULES = ("labeler.cli.commands", "pretrain.cli", "evaluate.cli")


def _mount() -> None:
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A package still under construction must not break the others' commands.
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(app)


_mount()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
