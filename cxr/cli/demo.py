"""``cxr demo``: parse options, build a ``DemoConfig``, call ``cxr.demo.run_demo``, print the table.

Heavy imports (torch, pandas) happen inside the command so ``cxr --help`` stays fast.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxr.cli.common import cli_errors, stderr_is_tty

HELP = """Run the whole pipeline on synthetic phantoms: label reports, prepare, pre-train, evaluate.

Generates phantom chest radiographs with MIMIC-style reports, labels the reports with the labeler,
builds the manifest and cache, pre-trains unimodal, CLIP and DLILP encoders briefly, and compares them
with an untrained encoder by zero-shot (base classes + one novel class) and K-shot linear probes on a
held-out phantom task. Writes OUT/table.md, plot.png, results.csv, config.yaml and every intermediate
artefact (reports.csv, labels.csv, sentences.parquet, manifest.csv, cache/, runs/, task/, results/).
The default run takes about 2 minutes on a 2-core CPU; --smallest runs in seconds.

Example: cxr demo -o demo-out --images 20000 --size 128 --epochs 20 --device cuda
"""


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo)


@cli_errors
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Demo folder (created; an earlier demo's "
                                         "artefacts in it are replaced).")] = Path("demo-out"),
    images: Annotated[Optional[int], typer.Option("--images", help="Pre-training phantoms (default 3000; "
                                                  "120 with --smallest).", show_default=False)] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Image side in pixels, >= 32 (default 64; "
                                                "32 with --smallest).", show_default=False)] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Pre-training epochs per objective "
                                                  "(default 8; 1 with --smallest).", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when available), cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Seed of phantoms, splits, initialisation and K-shot "
                                      "draws.")] = 0,
    smallest: Annotated[bool, typer.Option("--smallest", help="Tiny sizes everywhere: every stage and "
                                           "artefact in seconds (meaningless numbers).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or stage lines.")] = False,
) -> None:
    from dataclasses import replace

    from cxr.core.progress import progress_bar

    from cxr.demo import DemoConfig, run_demo
    from cxr.demo import smallest as smallest_preset

    config = DemoConfig(out=str(output), device=device, seed=seed)
    if smallest:
        config = smallest_preset(config)
    given = {k: v for k, v in (("images", images), ("size", size), ("epochs", epochs)) if v is not None}
    config = replace(config, **given)
    notify = (lambda line: None) if quiet else (lambda line: typer.echo(line, err=True))
    start = time.perf_counter()
    with progress_bar(enabled=not quiet and stderr_is_tty()) as progress:
        result = run_demo(config, progress, notify)
    minutes = (time.perf_counter() - start) / 60
    typer.echo(result.table)
    for warning in result.warnings:
        typer.echo(warning)
    typer.echo(f"demo finished in {minutes:.1f} min; table: {result.files['table.md']}, "
               f"plot: {result.files['plot.png']}, results: {result.files['results.csv']}, "
               f"config: {result.files['config.yaml']} (all artefacts under {result.out})")
