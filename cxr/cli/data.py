"""``cxr manifest``, ``cxr prepare`` and ``cxr synth``: parse options, call the library, report.

Heavy imports (pandas, PIL, the readers) happen inside the commands, so ``cxr --help`` stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cxr.cli.common import cli_errors, stderr_is_tty
from cxr.core.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("manifest")(manifest_command)
    app.command("prepare")(prepare_command)
    app.command("synth")(synth_command)


def _ontology(path: Optional[Path]):
    from cxr.labeler.ontology import load_ontology
    return load_ontology(path)


def _warn(messages: list[str]) -> None:
    for message in messages:
        typer.echo(f"warning: {message}", err=True)


# ------------------------------------------------------------------------------------------------
@cli_errors
def manifest_command(
    sources: List[str] = typer.Argument(..., metavar="NAME:ROOT[,key=value...]",
                                        help="Source reader, its folder (or file) and options. Readers: "
                                             "mimic-cxr (options labels=, sentences=), chexpert, padchest (option "
                                             "labels=physician|reports: relabel its Spanish reports), "
                                             "chestxray14, manifest (a CSV/Parquet file)."),
    output: Path = typer.Option(..., "-o", "--output", help="Manifest to write (.parquet recommended, or .csv)."),
    label_space: str = typer.Option("dlilp", "--label-space", help="Vocabulary every source is mapped onto."),
    ontology: Optional[Path] = typer.Option(None, "--ontology", help="Ontology folder (default: shipped)."),
    relative_to: Optional[Path] = typer.Option(None, "--relative-to",
                                               help="Write image paths relative to this folder (default: absolute)."),
) -> None:
    """Build one training manifest from public datasets' official files, in one label space.

    Labels a source does not annotate go to the row's 'not_annotated': masked, never negative.

    Example: cxr manifest mimic-cxr:/data/mimic,labels=labels.csv,sentences=sent.parquet
    chexpert:/data/CheXpert-v1.0-small padchest:/data/padchest -o mix.parquet
    """
    import os

    from cxr.pretrain.data.labelspace import annotation_coverage, build_label_matrix
    from cxr.pretrain.data.manifest import write_manifest
    from cxr.pretrain.data.sources import read_source

    onto = _ontology(ontology)
    frames = []
    for spec in sources:
        name, root, options = _parse_spec(spec)
        frame = read_source(name, Path(root).resolve(), onto, **options)
        _warn(frame.warnings)
        frames.append(frame)
    manifest = build_label_matrix(frames, label_space, onto)
    if relative_to is not None:
        base = relative_to.resolve()
        manifest["path"] = [os.path.relpath(p, base) for p in manifest["path"]]
    write_manifest(manifest, output)
    labels = [c for c in onto.vocabulary(label_space) if c in manifest.columns]
    coverage = annotation_coverage(manifest, labels)
    for source, counts in coverage.items():
        n_annotated = sum(v > 0 for v in counts.values())
        typer.echo(f"{source}: {int((manifest['source'] == source).sum())} images, "
                   f"{n_annotated}/{len(labels)} labels annotated", err=True)
    unused = [t for t in labels if not any(c[t] for c in coverage.values())]
    if unused:
        _warn([f"no source annotates {len(unused)} label(s) of {label_space!r}: {', '.join(unused)}"])
    typer.echo(str(output))


def _parse_spec(spec: str) -> tuple[str, str, dict[str, str | bool]]:
    """'name:root,key=value,flag=false' -> (name, root, options)."""
    if ":" not in spec:
        raise InputError(f"source {spec!r}: expected NAME:ROOT[,key=value...], e.g. chexpert:/data/CheXpert-v1.0-small")
    name, rest = spec.split(":", 1)
    root, *pairs = rest.split(",")
    options: dict[str, str | bool] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"source {spec!r}: option {pair!r} is not key=value")
        lowered = value.strip().lower()
        options[key.strip()] = {"true": True, "false": False}.get(lowered, value.strip())
    return name.strip(), root.strip(), options


# ------------------------------------------------------------------------------------------------
@cli_errors
def prepare_command(
    manifest: Path = typer.Argument(..., help="Manifest CSV/Parquet (path, patient_id, labels, report...)."),
    output: Path = typer.Option(..., "-o", "--output", help="Cache folder to create (or resume)."),
    image_root: Optional[Path] = typer.Option(None, "--image-root",
                                              help="Folder relative image paths resolve against (default: the manifest's folder)."),
    size: int = typer.Option(224, "--size", help="Side of the square cached images, in pixels."),
    resize: bool = typer.Option(False, "--resize/--pad",
                                help="Stretch to a square, or keep the aspect ratio and pad (default)."),
    pad_topleft: bool = typer.Option(False, "--pad-topleft",
                                     help="With --pad: image at the top-left, black right/bottom (the paper's code), not centred."),
    workers: int = typer.Option(0, "--workers", help="Decode processes (0 = one per CPU core)."),
    max_fail_fraction: float = typer.Option(0.01, "--max-fail-fraction",
                                            help="Error out when more images than this share are missing/unreadable."),
    val_fraction: float = typer.Option(0.05, "--val-fraction", help="Share of patients held out for validation."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the patient-level validation split."),
    exclude_patients: Optional[Path] = typer.Option(None, "--exclude-patients",
                                                    help="Patient ids (txt, or CSV with patient_id[,source]) used by evaluation; never cached."),
    patient_column: Optional[str] = typer.Option(None, "--patient-column", help="Column holding patient ids."),
    no_patient_ids: bool = typer.Option(False, "--no-patient-ids",
                                        help="No patient ids: each study counts as a patient (split may leak)."),
    vocabulary: Optional[str] = typer.Option(None, "--vocabulary",
                                             help="Vocabulary of the label columns (default: any ontology vocabulary)."),
    ontology: Optional[Path] = typer.Option(None, "--ontology", help="Ontology folder (default: shipped)."),
    chunk_size: int = typer.Option(256, "--chunk-size", help="Images per resumable unit of work."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a cache of another manifest/settings."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Decode every manifest image once into a memory-mapped uint8 cache for pre-training.

    Resumes after an interruption; skips missing/unreadable images (listed in CACHE/failures.csv).

    Example: cxr prepare manifest.csv -o cache/ --image-root /data/images --size 224
    """
    from cxr.core.progress import progress_bar
    from cxr.pretrain.data.manifest import ManifestOptions
    from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache

    config = PrepareConfig(
        image_root=str(image_root) if image_root else None, size=size,
        mode="resize" if resize else ("pad_topleft" if pad_topleft else "pad"),
        workers=workers or _usable_cores(), chunk_size=chunk_size, max_fail_fraction=max_fail_fraction,
        val_fraction=val_fraction, split_seed=split_seed,
        exclude_patients=str(exclude_patients) if exclude_patients else None, overwrite=overwrite,
        manifest=ManifestOptions(patient_column=patient_column, no_patient_ids=no_patient_ids, vocabulary=vocabulary))
    onto = _ontology(ontology) if ontology else None
    with progress_bar(enabled=not quiet and stderr_is_tty()) as progress:
        result = prepare_cache(manifest, output, config, progress, onto=onto)
    _warn(result.warnings)
    meta = result.meta
    split = meta["split"]
    state = "up to date" if result.up_to_date else f"resumed after {result.resumed_rows} rows" if result.resumed_rows else "written"
    typer.echo(f"{output}: {meta['ok']} images cached at {meta['images']['shape'][1]} px ({state}); "
               f"train {split['train']['rows']} images / {split['train']['patients']} patients, "
               f"val {split['val']['rows']} / {split['val']['patients']}", err=True)
    if meta["failed"]:
        _warn([f"{meta['failed']} image(s) skipped as missing/unreadable: see {output / 'failures.csv'}"])
    typer.echo(str(output))


def _usable_cores() -> int:
    """Cores this process may run on (a cluster job's allocation, not the whole node)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # macOS, Windows
        return os.cpu_count() or 1


# ------------------------------------------------------------------------------------------------
@cli_errors
def synth_command(
    output: Path = typer.Option(..., "-o", "--output", help="Folder for images/, manifest.csv, reports.csv."),
    n: int = typer.Option(2000, "--n", help="Number of images (one study each)."),
    size: int = typer.Option(96, "--size", help="Image side in pixels."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same corpus."),
    findings: Optional[str] = typer.Option(None, "--findings",
                                           help="Comma-separated findings to draw (default: all but the novel one)."),
    novel: bool = typer.Option(False, "--novel",
                               help="Also draw the held-out zero-shot finding (ground glass pattern)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Generate synthetic chest radiograph phantoms with known findings and MIMIC-style reports.

    Example: cxr synth -o demo-data --n 2000 --size 96
    """
    from cxr.core.progress import progress_bar
    from cxr.pretrain.synthetic import DEFAULT_FINDINGS, NOVEL_FINDING, generate_corpus

    chosen = tuple(f.strip() for f in findings.split(",") if f.strip()) if findings else DEFAULT_FINDINGS
    if novel and NOVEL_FINDING not in chosen:
        chosen = (*chosen, NOVEL_FINDING)
    with progress_bar(enabled=not quiet and stderr_is_tty()) as progress:
        manifest = generate_corpus(n, size=size, seed=seed, findings=chosen, out_dir=output, progress=progress)
    typer.echo(f"{len(manifest)} phantoms of {manifest['patient_id'].nunique()} patients -> {output}", err=True)
    typer.echo(str(output / "manifest.csv"))
