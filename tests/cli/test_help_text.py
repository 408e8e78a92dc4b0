"""Every command's --help reads cleanly: no doubled negations, no type labels on flags or lists."""
from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from cxr.cli.main import app

ODDITIES = re.compile(r"--no-no-|<bool>|\[default: (False|True|no-)")
#: an option's metavar names one value (options are repeated, not given lists)
LIST_TYPE = re.compile(r"^\s+-.*<list\[", re.MULTILINE)


def _command_paths(command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if hasattr(command, "commands"):   # typer groups are not click.Group subclasses
        for name, sub in command.commands.items():
            paths += _command_paths(sub, prefix + (name,))
    return paths


PATHS = _command_paths(typer.main.get_command(app))


def test_every_command_is_visited():
    names = {" ".join(p) for p in PATHS}
    assert {"label", "manifest", "prepare", "pretrain", "pretrain export", "eval run", "eval splits"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "cxr")
def test_help_has_no_oddities(path):
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert not ODDITIES.findall(result.output), result.output
    assert not LIST_TYPE.findall(result.output), result.output
