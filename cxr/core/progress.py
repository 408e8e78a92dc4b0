"""The one progress helper: libraries report progress through a callback, never by printing.

A ``Progress`` callback receives ``(done, total, description)``. The CLI passes a rich progress bar;
notebooks may pass tqdm or nothing; torchrun workers other than rank 0 pass ``None``.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator, Optional

Progress = Callable[[int, Optional[int], str], None]


def null_progress(done: int, total: Optional[int], description: str) -> None:
    """Default callback: stay silent."""


@contextlib.contextmanager
def progress_bar(enabled: bool = True, stream=None) -> Iterator[Progress]:
    """A rich progress bar as a ``Progress`` callback (silent when disabled or not a terminal-like stream).

    One bar per description, so a pipeline with several stages shows each of them.
    """
    stream = stream or sys.stderr
    if not enabled:
        yield null_progress
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)

    console = Console(file=stream)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    tasks: dict[str, int] = {}
    with RichProgress(*columns, console=console, transient=False) as bar:
        def update(done: int, total: Optional[int], description: str) -> None:
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=done, total=total)

        yield update
