"""``cxr label`` and ``cxr ontology check|show``: parse options, call the library, print a summary."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer

from cxr.cli.common import cli_errors, fail

ontology_app = typer.Typer(help="Validate and inspect the label ontology (YAML).\n\n"
                           "Example: cxr ontology show \"pleural effusion\"", no_args_is_help=True,
                           rich_markup_mode=None)

OntologyOpt = typer.Option(None, "--ontology", help="Ontology folder to use instead of the shipped one.",
                           show_default=False)


def _load(ontology_dir: Optional[Path]):
    from cxr.labeler.ontology import load_ontology
    return load_ontology(ontology_dir)


def label(
    input: Optional[Path] = typer.Argument(None, help="CSV/TSV/Parquet with text and id columns, or a folder "
                                           "of .txt reports (id = file name stem)."),
    output: Path = typer.Option(..., "-o", "--output", help="Labels CSV to write (id + one column per label)."),
    text_column: str = typer.Option("report", help="Column with the report text; several, comma-separated, "
                                    "are joined (e.g. findings,impression)."),
    id_column: str = typer.Option("study_id", help="Column with the report id (copied to the output)."),
    vocabulary: str = typer.Option("padchest", help="Output labels: padchest or a projection "
                                   "(chexpert, dlilp, chestxray14, ...)."),
    sections: str = typer.Option("findings,impression,addendum", help="Report sections to read (comma-separated); a "
                                 "report without section headers is read whole."),
    sentences: Optional[Path] = typer.Option(None, "--sentences", help="Also write one row per sentence "
                                             "(id, sentence_index, text, positive PadChest labels) as Parquet."),
    explain: Optional[Path] = typer.Option(None, "--explain", help="Also write why each label got its value "
                                           "(JSON lines)."),
    workers: Optional[int] = typer.Option(None, min=1, help="Worker processes (default: all cores)."),
    chunk_size: int = typer.Option(2000, min=1, help="Reports per chunk (memory ~ workers x 2 chunks)."),
    encoding: str = typer.Option("utf-8", help="Text encoding of the input."),
    ontology: Optional[Path] = OntologyOpt,
    sentence_cache: int = typer.Option(50_000, min=0, help="Sentences whose labeling is remembered per worker "
                                       "(repeated sentences are common); 0 = off. Never changes results."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write an HTML page showing each report with "
                                        "its mentions highlighted by status (displaCy; the first --html-limit "
                                        "reports)."),
    html_limit: int = typer.Option(200, min=1, help="Reports shown in the --html page (the first N of the input)."),
    sample: bool = typer.Option(False, "--sample", help="Label the embedded sample reports instead of INPUT."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Do not show a progress bar."),
    language: str = typer.Option("en", "--language", help="Report language: en, es (Spanish, PadChest's stemmed "
                                 "text too) or auto (decided per report; the summary and --explain say which)."),
    conventions: Optional[str] = typer.Option(None, "--conventions", help="Whose hedging conventions apply "
                                              "(default: the --vocabulary's own). chexpert: alternatives ('A or "
                                              "B') and 'probable X' are uncertain; padchest: they count as "
                                              "present, as PadChest's physicians and Open-i's MeSH coding do."),
) -> None:
    """Label chest X-ray reports: 1 positive, 0 negative, -1 uncertain, empty = not mentioned.

    Example: cxr label reports.csv -o labels.csv --vocabulary chexpert
    """
    _label(input, output, text_column, id_column, vocabulary, sections, sentences, explain, workers,
           chunk_size, encoding, ontology, sentence_cache, sample, no_progress, html, html_limit, language,
           conventions)


@cli_errors
def _label(input, output, text_column, id_column, vocabulary, sections, sentences, explain, workers,
           chunk_size, encoding, ontology, sentence_cache, sample, no_progress, html=None, html_limit=200,
           language="en", conventions=None) -> None:
    from cxr.core.atomic import check_output_path
    from cxr.labeler.engine import Labeler
    from cxr.labeler.language import AUTO
    from cxr.labeler.reader import open_reports
    from cxr.labeler.runner import default_workers, label_reports

    if sample == (input is not None):
        raise fail("give either INPUT or --sample")
    if sample:
        from cxr.labeler.samples import SAMPLE_ID_COLUMN, SAMPLE_REPORTS, SAMPLE_TEXT_COLUMN
        input, text_column, id_column = SAMPLE_REPORTS, SAMPLE_TEXT_COLUMN, SAMPLE_ID_COLUMN
    for path in (output, sentences, explain, html):
        if path is not None:
            check_output_path(path)
    if html is not None and any(p is not None and Path(p).resolve() == Path(html).resolve()
                                for p in (output, sentences, explain)):
        raise fail("--html must differ from the output, --sentences and --explain paths")
    wanted = _sections(sections)
    onto = _load(ontology)
    onto.vocabulary(vocabulary)  # fail on an unknown vocabulary before reading anything
    conventions = conventions or vocabulary
    onto.projection(conventions)
    _check_language(onto, language)
    source = open_reports(input, text_column, id_column, chunk_size, encoding)
    labeler = Labeler(onto, sections=wanted, cache_size=sentence_cache, conventions=conventions, language=language)
    page = None
    if html is not None:   # rendered first (spaCy is imported only here), published after the labels
        from cxr.labeler.report_html import build_html
        page, shown = build_html(source, labeler, vocabulary=vocabulary, limit=html_limit)
    with _lazy_progress_bar(enabled=not no_progress) as progress:
        summary = label_reports(source, output, labeler, id_column=id_column,
                                vocabulary=vocabulary, sentences_out=sentences, explain_out=explain,
                                workers=workers or default_workers(), progress=progress)
    if page is not None:
        from cxr.core.atomic import atomic_write_text
        atomic_write_text(html, page)
        typer.echo(f"html: {shown} report(s) -> {html}", err=True)
    rate = summary.reports / summary.seconds if summary.seconds > 0 else float("inf")
    typer.echo(f"labeled {summary.reports} reports ({summary.missing} without text) in {summary.seconds:.2f} s "
               f"({rate:,.0f} reports/s) -> {output}", err=True)
    if language == AUTO:
        typer.echo("languages: " + ", ".join(f"{k} {n}" for k, n in sorted(summary.languages.items())), err=True)
    top = summary.top_positives(10)
    if top:
        typer.echo("most frequent positive labels: " + ", ".join(f"{name} {n}" for name, n in top), err=True)


def _check_language(onto, language: str) -> None:
    from cxr.labeler.language import AUTO

    if language != AUTO and language not in onto.languages:
        raise fail(f"--language: unknown language {language!r}; known: {', '.join([*onto.languages, AUTO])}")


def _sections(option: str) -> tuple[str, ...]:
    from cxr.labeler.sections import HEADERS

    known = sorted(set(HEADERS.values()))
    wanted = tuple(s.strip().lower() for s in option.split(",") if s.strip())
    unknown = [s for s in wanted if s not in known]
    if unknown or not wanted:
        raise fail(f"--sections: unknown section(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                   f"known: {', '.join(known)}")
    return wanted


@contextlib.contextmanager
def _lazy_progress_bar(enabled: bool):
    """A progress bar that starts (with its refresh thread) on the first update, after workers are forked."""
    from cxr.core.progress import progress_bar

    with contextlib.ExitStack() as stack:
        bar = None

        def update(done, total, description):
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(progress_bar(enabled=enabled))
            bar(done, total, description)
        yield update


@ontology_app.command("check")
def check(directory: Optional[Path] = typer.Argument(None, help="Ontology folder (default: --ontology or the "
                                                     "shipped one)."),
          ontology: Optional[Path] = OntologyOpt) -> None:
    """Validate an ontology folder; print every problem (file:line: message) and exit 1 if any.

    Example: cxr ontology check my_ontology/
    """
    from cxr.labeler.ontology import check_ontology, default_ontology_dir

    root = directory or ontology or default_ontology_dir()
    problems = check_ontology(root)
    for p in problems:
        typer.echo(p)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {root}", err=True)
        raise typer.Exit(1)
    onto = _load(root)
    typer.echo(f"ok: {root}: {len(onto.labels)} labels, {sum(len(v) for v in onto.cues.values())} cues, "
               f"vocabularies: {', '.join(onto.vocabularies)}; languages: {', '.join(onto.languages)}")


@ontology_app.command("show")
def show(name: str = typer.Argument(..., help="Label name, e.g. 'pleural effusion'."),
         ontology: Optional[Path] = OntologyOpt) -> None:
    """Print a label: kind, CUI, description, parents, children, synonyms and exclusions (each language),
    projections.

    Example: cxr ontology show "pleural effusion" --ontology my_ontology/
    """
    _show(name, ontology)


@cli_errors
def _show(name: str, ontology: Optional[Path]) -> None:
    onto = _load(ontology)
    if name not in onto:
        close = [n for n in onto.labels if name.lower() in n.lower()][:10]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise fail(f"unknown label {name!r}{hint}")
    lab = onto[name]
    into = [f"{p.name}:{t}" for p in onto.projections.values() for t, srcs in p.targets.items() if name in srcs]
    rows = [("label", lab.name), ("kind", lab.kind), ("cui", lab.cui or "-"),
            ("description", onto.description(name)), ("defined at", str(lab.where)),
            ("parents", ", ".join(lab.parents) or "-"), ("children", ", ".join(onto.children(name)) or "-"),
            ("ancestors", ", ".join(onto.ancestors(name)) or "-"),
            ("synonyms", "\n  ".join(lab.synonyms) or "-"), ("exclusions", "\n  ".join(lab.exclusions) or "-")]
    for lang in onto.languages[1:]:
        rows += [(f"synonyms ({lang})", "\n  ".join(lab.synonyms_in(lang)) or "-"),
                 (f"exclusions ({lang})", "\n  ".join(lab.exclusions_in(lang)) or "-")]
    rows.append(("projections", ", ".join(into) or "-"))
    for key, value in rows:
        sep = "\n  " if "\n" in value or key.startswith(("synonyms", "exclusions")) else " "
        typer.echo(f"{key}:{sep}{value}")


def register(app: typer.Typer) -> None:
    app.command("label")(label)
    app.add_typer(ontology_app, name="ontology")
