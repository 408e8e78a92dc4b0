"""``cxr eval``: splits, run, compare. Parses options, builds a config, calls the library.

Heavy imports (torch, pandas, timm) happen inside the commands so ``cxr --help`` stays fast.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, List, Optional

import typer


from cxr.cli.common import cli_errors, stderr_is_tty
from cxr.core.errors import InputError

eval_app = typer.Typer(help="Transfer evaluation: benchmark splits, zero-shot and K-shot linear probes.\n\n"
                            "Example: cxr eval run -c runs/dlilp --tasks rsna,siim,covid --splits-dir splits "
                            "-o results/dlilp",
                       no_args_is_help=True, rich_markup_mode=None)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


def _pairs(values: List[str], option: str, tasks: list[str]) -> dict[str, str]:
    """``TASK=FILE`` options -> dict; a bare ``FILE`` is accepted when --tasks names a single task."""
    out = {}
    for v in values or []:
        task, sep, file = v.partition("=")
        if not sep and len(tasks) == 1:
            from cxr.evaluate.runner import task_name
            task, file = task_name(tasks[0]), v
        elif not sep or not task or not file:
            raise InputError(f"{option} expects TASK=FILE (or FILE with a single task), got {v!r}")
        out[task.strip()] = file.strip()
    return out


def _default_cache() -> str:
    root = os.environ.get("CXR_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "cxr")
    return os.path.join(root, "features")


@eval_app.command("splits")
@cli_errors
def splits_cmd(
    task: Annotated[str, typer.Option("--task", "-t", help="Benchmark: chexpert5x200, mimic5x200, rsna, siim, covid, nih-lt, vindr.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Split CSV to write (a .meta.json sidecar goes next to it).")],
    metadata: Annotated[Optional[List[Path]], typer.Option("--metadata", "-m", metavar="<path>", help="Official label file(s) or their folder; repeatable.")] = None,
    images: Annotated[Optional[Path], typer.Option("--images", help="Image folder: checks every image exists and records real paths.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (the split is deterministic for a seed).")] = 0,
    train_per_class: Annotated[Optional[int], typer.Option(help="Ask for a smaller train pool than the protocol's (recorded as non-standard).")] = None,
    test_per_class: Annotated[Optional[int], typer.Option(help="Ask for a smaller test set than the protocol's (recorded as non-standard).")] = None,
    exclude_patients: Annotated[Optional[List[Path]], typer.Option(metavar="<path>", help="Patient ids to leave out: text file (one per line) or table with patient_id; repeatable.")] = None,
    pretrain_manifest: Annotated[Optional[Path], typer.Option(help="Pre-training manifest: refuse if the split shares patients with it.")] = None,
    allow_overlap: Annotated[bool, typer.Option("--allow-overlap", help="Write the split even when it shares patients with --pretrain-manifest.")] = False,
) -> None:
    """Build a balanced, patient-disjoint split CSV (path, label, split, patient_id) from official files.

    Example: cxr eval splits --task rsna --metadata rsna/ --images rsna/ -o splits/rsna.csv
    """
    from cxr.core.atomic import check_output_path

    from cxr.evaluate.splitfile import write_split
    from cxr.evaluate.tasks.build import SplitRequest, build_split

    check_output_path(output)
    req = SplitRequest(task, [str(m) for m in metadata or []], str(images) if images else None, seed,
                       train_per_class, test_per_class, [str(p) for p in exclude_patients or []],
                       str(pretrain_manifest) if pretrain_manifest else None, allow_overlap)
    built = build_split(req)
    sha = write_split(built.frame, output, built.meta)
    counts = built.frame.groupby(["split", "label"]).size()
    typer.echo(f"wrote {output} ({len(built.frame)} images, sha256 {sha[:12]}, protocol {built.meta['protocol']})")
    for (part, label), n in counts.items():
        typer.echo(f"  {part:5s} {label}: {n}")
    for note in built.notes:
        typer.echo(f"warning: {note}", err=True)
    if built.overlap:
        typer.echo(f"warning: {len(built.overlap)} patient(s) shared with the pre-training manifest "
                   f"(--allow-overlap)", err=True)


@eval_app.command("run")
@cli_errors
def run_cmd(
    checkpoint: Annotated[str, typer.Option("--checkpoint", "-c", help="Encoder: a cxr run or export folder, or ADAPTER:SPEC from another lab: timm:NAME, torchvision:NAME (random init unless --weights), dlilp:CKPT.pth[:TEXT], xrv:ARCH, open_clip:ARCH, hf-clip:FOLDER (docs/contracts.md, Encoder adapters).")],
    tasks: Annotated[str, typer.Option(help="Comma-separated tasks: registered names, csv:PATH or PATH.csv (user tasks).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: results.csv, table.md, plot.png, config.yaml.")],
    splits_dir: Annotated[Optional[Path], typer.Option(help="Folder with <task>.csv split files.")] = None,
    split: Annotated[Optional[List[str]], typer.Option(metavar="TASK=FILE", help="TASK=FILE split file for one task (just FILE with a single task); repeatable.")] = None,
    prompts: Annotated[Optional[List[str]], typer.Option(metavar="TASK=FILE", help="TASK=FILE prompt YAML for one task (just FILE with a single task); repeatable.")] = None,
    images: Annotated[Optional[Path], typer.Option(help="Root for relative image paths (default: recorded root or the split's folder).")] = None,
    method: Annotated[str, typer.Option(help="zero-shot, linear-probe or both.")] = "both",
    shots: Annotated[str, typer.Option(help="K values per class, comma-separated; 'all' = whole train pool.")] = "1,2,4,8,16",
    seeds: Annotated[int, typer.Option(help="Seeds 0..N-1 for the K-shot draws.")] = 5,
    weights: Annotated[Optional[Path], typer.Option(help="Local weights file (.pth/.safetensors) for timm:, torchvision:, xrv: or open_clip: encoders.")] = None,
    image_size: Annotated[Optional[int], typer.Option(help="Input size (default: the encoder's; 224 for timm).")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 64,
    workers: Annotated[int, typer.Option(help="DataLoader worker processes.")] = 2,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, ...")] = "auto",
    cache_dir: Annotated[Optional[Path], typer.Option(help="Feature cache folder (default: $CXR_CACHE_DIR/features or ~/.cache/cxr/features).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the feature cache.")] = False,
    refresh_features: Annotated[bool, typer.Option("--refresh-features", help="Recompute features even if cached (e.g. after a split file changed).")] = False,
    allow_overlap: Annotated[bool, typer.Option("--allow-overlap", help="Evaluate even tasks sharing patients with the encoder's pre-training data (refused by default; a warning is recorded).")] = False,
    protocol: Annotated[str, typer.Option(help="Evaluation preset: cxr (default) or paper (the reference code's probe and zero-shot settings; docs/reproduce.md).")] = "cxr",
    probe_c: Annotated[Optional[float], typer.Option(help="Inverse L2 strength of the linear probe (scikit-learn's C); default: the protocol's (cxr 1.0, paper 0.316).")] = None,
    init_seed: Annotated[int, typer.Option(help="Seed of a random-init timm backbone.")] = 0,
    vocabulary: Annotated[Optional[str], typer.Option(help="Pre-training label vocabulary deciding base vs novel classes: an ontology vocabulary (dlilp, chexpert, padchest) or a file, one label per line (default: the encoder's label head or recorded vocabulary).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Evaluate one encoder on several tasks; writes OUT/results.csv, table.md, plot.png, config.yaml.

    Example: cxr eval run -c runs/dlilp --tasks rsna,siim,covid --splits-dir splits -o results/dlilp
    """
    from cxr.core.progress import progress_bar

    from dataclasses import replace

    from cxr.evaluate.config import METHOD_CHOICES, PROTOCOLS, EvalConfig, expand_methods
    from cxr.evaluate.fewshot import parse_shots
    from cxr.evaluate.report import write_outputs
    from cxr.evaluate.runner import run_evaluation

    if method not in METHOD_CHOICES:
        raise InputError(f"--method must be one of {', '.join(METHOD_CHOICES)}, got {method!r}")
    if output.exists() and not output.is_dir():
        raise InputError(f"--output must be a folder, {output} is a file")
    if seeds < 1:
        raise InputError("--seeds must be at least 1")
    if protocol not in PROTOCOLS:
        raise InputError(f"--protocol must be one of {', '.join(PROTOCOLS.names())}, got {protocol!r}")
    probe = PROTOCOLS.get(protocol).probe
    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    cfg = EvalConfig(
        checkpoint=checkpoint, tasks=task_list,
        methods=expand_methods(method), shots=parse_shots(shots), seeds=seeds,
        splits_dir=str(splits_dir) if splits_dir else None, splits=_pairs(split, "--split", task_list),
        prompts=_pairs(prompts, "--prompts", task_list), images=str(images) if images else None,
        weights=str(weights) if weights else None, image_size=image_size, init_seed=init_seed,
        vocabulary=vocabulary, batch_size=batch_size, workers=workers, device=device,
        cache_dir=None if no_cache else str(cache_dir or _default_cache()),
        refresh_features=refresh_features, allow_overlap=allow_overlap, protocol=protocol,
        probe=replace(probe, C=probe_c) if probe_c is not None else None)
    if not cfg.tasks:
        raise InputError("--tasks is empty")
    with progress_bar(enabled=not quiet and stderr_is_tty()) as progress:
        result = run_evaluation(cfg, progress)
    write_outputs(result, output)
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"wrote {output}/results.csv ({len(result.rows)} rows), table.md, plot.png, config.yaml")


@eval_app.command("compare")
@cli_errors
def compare_cmd(
    runs: Annotated[List[Path], typer.Argument(help="Output folders of `cxr eval run`.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Markdown file (default: print).")] = None,
) -> None:
    """Put several encoders side by side (one column each).

    Example: cxr eval compare results/dlilp results/clip results/imagenet -o compare.md
    """
    from cxr.core.atomic import atomic_write_text, check_output_path

    from cxr.evaluate.compare import render_compare

    if output is not None:
        check_output_path(output)
    text = render_compare(runs)
    if output is None:
        typer.echo(text)
    else:
        atomic_write_text(output, text)
        typer.echo(f"wrote {output}")
