"""Shared CLI plumbing: one error style for every command."""
from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

import typer

from cxr.core.errors import CxrError

F = TypeVar("F", bound=Callable)

EXIT_USER_ERROR = 2


def fail(message: str, code: int = EXIT_USER_ERROR) -> "typer.Exit":
    """Print one clear message on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def cli_errors(func: F) -> F:
    """Turn library ``CxrError``s (and a few OS errors the user can fix) into one message + exit 2.

    Anything else is a bug and keeps its traceback.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CxrError as exc:
            raise fail(str(exc)) from None
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise fail(f"{exc.strerror}: {exc.filename}") from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
    return wrapper  # type: ignore[return-value]


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
