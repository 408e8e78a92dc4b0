"""``cxr pretrain``: train from a config (plus overrides), resume a run, export a run's encoder.

The commands only parse, build a ``Config`` and call the library (``pretrain.engine.trainer.train``,
``pretrain.export.export_run``). Heavy imports happen inside the command bodies.

Many GPUs / nodes: ``torchrun --nproc_per_node 8 -m cxr pretrain --config ...`` (same options).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import List, Optional

import typer

from cxr.pretrain.config import config_path, shipped_configs
from cxr.cli.common import cli_errors, fail, stderr_is_tty


HELP = "\n\n".join([   # one line per paragraph: rich keeps explicit line breaks
    "Pre-train an image encoder (unimodal, CLIP, UniCL or DLILP) on a `cxr prepare` cache.",
    "Example: cxr pretrain --config dlilp_mimic_chexpert --epochs 3 --batch-size 64 --set optim.lr=1e-4",
    "--config takes a YAML path or the name of a shipped config (`cxr pretrain configs` lists them); --set "
    "changes any field. --resume RUN_DIR continues an interrupted run exactly, with its own config.yaml unless "
    "--config is given; only epochs, patience, logging/checkpoint intervals, device, workers, the cache "
    "location and compile may change.",
    "A run writes OUTPUT/NAME/: config.yaml, metrics.csv, tensorboard/, checkpoint-last.pt, "
    "checkpoint-best.pt and export/ (what `cxr eval` loads).",
    "--export-init OUT writes the config's model as training would start it (seed, init, pretrained weights; "
    "no step) as an export: the untrained baseline of any architecture, for `cxr eval run -c OUT`.",
    "Several GPUs or nodes: torchrun --nproc_per_node N -m cxr pretrain --config ... "
    "(same options; --batch-size stays the global batch).",
])


def build_app() -> typer.Typer:
    group = typer.Typer(help=HELP, invoke_without_command=True, add_completion=False,
                        pretty_exceptions_enable=False, rich_markup_mode=None)
    group.callback(invoke_without_command=True)(pretrain)
    group.command("export", help=EXPORT_HELP)(export)
    group.command("configs", help="List the shipped configs.\n\nExample: cxr pretrain configs")(configs)
    return group


def register(app: typer.Typer) -> None:
    app.add_typer(build_app(), name="pretrain")


@cli_errors
def pretrain(
    ctx: typer.Context,
    config: Optional[str] = typer.Option(None, "--config", "-c", help="YAML file or shipped config name."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override train.epochs."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Override train.batch_size (global)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Override optim.lr."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Override output (parent of the run folder)."),
    name: Optional[str] = typer.Option(None, "--name", help="Override name (the run folder's name)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Override data.cache."),
    set_: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE", help="Any field: --set optim.lr=1e-4 (repeatable)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue this run folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    export_init: Optional[Path] = typer.Option(
        None, "--export-init", help="Train nothing: export the config's model as built, before any step, to "
                                    "this folder (an untrained baseline that `cxr eval run -c` evaluates)."),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from cxr.pretrain.config import load_config
    from cxr.pretrain.engine.run import config_for_resume

    flags = {"train.epochs": epochs, "train.batch_size": batch_size, "optim.lr": lr, "output": output,
             "name": name, "data.cache": cache}
    overrides = [f"{k}={v}" for k, v in flags.items() if v is not None] + list(set_ or [])
    if export_init is not None and (resume is not None or config is None):
        raise fail("--export-init needs --config (the architecture to export), not --resume")
    if resume is not None:
        cfg = config_for_resume(resume, overrides, config_path(config) if config else None)
    elif config is None:
        raise fail("--config is required (or --resume RUN_DIR); shipped configs: " + ", ".join(shipped_configs()))
    else:
        cfg = load_config(config_path(config), overrides)
    if export_init is not None:
        from cxr.pretrain.engine.trainer import export_init as export_untrained
        typer.echo(f"exported {cfg.model.backbone} (init {cfg.model.init}, pretrained {cfg.model.pretrained}, "
                   f"no step) -> {export_untrained(cfg, export_init)}")
        return
    _train(cfg, resume, quiet)


def _train(cfg, resume: Optional[Path], quiet: bool) -> None:
    import os

    from cxr.core.progress import progress_bar
    from cxr.pretrain.engine.trainer import train

    main = os.environ.get("RANK", "0") == "0"
    logging.basicConfig(level=logging.INFO if main else logging.ERROR, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    with progress_bar(enabled=main and not quiet and stderr_is_tty()) as progress:
        result = train(cfg, resume=resume, progress=progress)
    if main:
        best = "none" if result.best_val_loss is None else f"{result.best_val_loss:.4f}"
        stop = " (early stop)" if result.stopped_early else ""
        typer.echo(f"run {result.run_dir}: {result.step} steps, {result.epoch} epoch(s){stop}, "
                   f"best val loss {best}; export: {result.export_dir}")


EXPORT_HELP = """Export a run's encoder (safetensors + config.json) for `cxr eval` / cxr.load_encoder.

Example: cxr pretrain export runs/dlilp_mimic_chexpert -o encoders/dlilp
"""


@cli_errors
def export(
    run: Path = typer.Argument(..., help="Run folder (holds config.yaml and checkpoints)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default RUN/export)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="best (falls back to last) or last."),
) -> None:
    from cxr.pretrain.export import export_run
    path = export_run(run, out, checkpoint)
    typer.echo(f"exported {run} -> {path}")


def configs() -> None:
    for name in shipped_configs():
        typer.echo(name)
