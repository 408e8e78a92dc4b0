"""Label a whole input: stream chunks through worker processes, write the outputs atomically.

Memory stays bounded by (workers x 2 + 1) chunks in flight, whatever the input size. Workers are forked
after the ontology is compiled, so each one starts with the compiled patterns and compiles nothing;
where fork is unavailable each worker compiles once in its initializer. Output order is input order,
and the bytes do not depend on the number of workers.
"""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from cxr.core.atomic import atomic_path, check_output_path
from cxr.labeler.engine import Labeler, is_missing
from cxr.core.errors import CxrError
from cxr.labeler.explain import explain_lines
from cxr.labeler.ontology import OWN_VOCABULARY
from cxr.core.progress import Progress, null_progress
from cxr.labeler.projector import Projector
from cxr.labeler.reader import Chunk, ReportSource
from cxr.labeler.writer import SentenceWriter, csv_header, csv_text_row


@dataclass
class ChunkResult:
    csv: str
    positives: list[int]
    reports: int
    missing: int
    sentences: list[tuple[str, int, str, list[str]]] | None = None
    explain: str | None = None
    languages: dict[str, int] = field(default_factory=dict)   # reports per language labeled as


class ChunkLabeler:
    """What a worker runs: label a chunk and render its rows (rendering in the worker keeps the parent idle)."""

    def __init__(self, labeler: Labeler, vocabulary: str, sentences: bool = False, explain: bool = False):
        self.labeler = labeler
        self.projector = Projector(labeler.onto, vocabulary)
        self.sentences = sentences
        self.explain = explain

    def __call__(self, chunk: Chunk) -> ChunkResult:
        parts: list[str] = []
        positives = [0] * len(self.projector.columns)
        missing = 0
        sent_rows: list | None = [] if self.sentences else None
        expl: list[str] | None = [] if self.explain else None
        languages: dict[str, int] = {}
        for rid, text in zip(chunk.ids, chunk.texts):
            res = self.labeler.label(text)
            missing += is_missing(text)
            languages[res.language] = languages.get(res.language, 0) + 1
            cells, positive = self.projector.render(
                res.values, res.direct_values() if self.projector.needs_direct else None)
            for i in positive:
                positives[i] += 1
            parts.append(csv_text_row(rid, cells))
            if sent_rows is not None:
                sent_rows.extend((rid, i, t, labs) for i, t, labs in res.sentences)
            if expl is not None:
                expl.append(explain_lines(rid, res))
        return ChunkResult("".join(parts), positives, len(chunk.ids), missing, sent_rows,
                           "".join(expl) if expl is not None else None, languages)


@dataclass
class Summary:
    reports: int = 0
    missing: int = 0
    seconds: float = 0.0
    columns: list[str] = field(default_factory=list)
    positives: list[int] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)   # reports per language labeled as

    def top_positives(self, n: int = 10) -> list[tuple[str, int]]:
        pairs = sorted(zip(self.columns, self.positives), key=lambda p: (-p[1], p[0]))
        return [p for p in pairs if p[1] > 0][:n]


# --- worker pool ----------------------------------------------------------------------------------------
_WORKER: ChunkLabeler | None = None


def _init_worker(worker: ChunkLabeler) -> None:
    global _WORKER
    _WORKER = worker


def _run_chunk(chunk: Chunk) -> ChunkResult:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER(chunk)


#: Reports labeled in the parent before forking (workers inherit their compiled patterns and cached
#: sentences), and reports per task sent to a worker: small tasks keep both cores busy to the end of the
#: input; the parent's warm-up is short because a core waits meanwhile.
WARM_UP = 100
PIECE = 250


def _split(chunk: Chunk, size: int) -> list[Chunk]:
    n = len(chunk.ids)
    if n <= size:
        return [chunk]
    return [Chunk(chunk.first_row + i, chunk.ids[i:i + size], chunk.texts[i:i + size]) for i in range(0, n, size)]


def _merge(parts: list[ChunkResult]) -> ChunkResult:
    """One chunk's result from the results of its pieces (in order): the outputs see whole chunks."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    positives = [sum(col) for col in zip(*(p.positives for p in parts))]
    sentences = None if first.sentences is None else [row for p in parts for row in p.sentences or ()]
    explain = None if first.explain is None else "".join(p.explain or "" for p in parts)
    languages: dict[str, int] = {}
    for p in parts:
        for lang, n in p.languages.items():
            languages[lang] = languages.get(lang, 0) + n
    return ChunkResult("".join(p.csv for p in parts), positives, sum(p.reports for p in parts),
                       sum(p.missing for p in parts), sentences, explain, languages)


def _ordered_map(worker: ChunkLabeler, chunks: Iterator[Chunk], workers: int) -> Iterator[ChunkResult]:
    """One result per chunk, in input order; at most ~4 pieces per worker are queued, so memory stays
    bounded. A chunk travels to the workers in pieces of ``PIECE`` reports, and its result is put back
    together, so the outputs (one Parquet row group per chunk) do not depend on the number of workers.

    The first ``WARM_UP`` reports are labeled here, before forking: the workers then start with their
    compiled patterns instead of each compiling its own. An input that fits in a few pieces is labeled
    here entirely (forking would cost more than it saves).
    """
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if workers <= 1 or (second is None and len(first.ids) <= WARM_UP + PIECE):
        yield worker(first)
        if second is not None:
            yield worker(second)
            yield from map(worker, chunks)
        return
    warm = Chunk(first.first_row, first.ids[:WARM_UP], first.texts[:WARM_UP])
    rest = Chunk(first.first_row + WARM_UP, first.ids[WARM_UP:], first.texts[WARM_UP:])
    done_warm = worker(warm)
    if not rest.ids:                      # the first chunk was no longer than the warm-up
        yield done_warm
    tail = () if second is None else itertools.chain((second,), chunks)
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers, initializer=_init_worker, initargs=(worker,)) as pool:
        pending: deque = deque()          # (async result, last piece of its chunk?)
        parts: list[ChunkResult] = [done_warm] if rest.ids else []

        def settle():
            res, last = pending.popleft()
            parts.append(res.get())
            if last:
                merged = _merge(parts)
                parts.clear()
                return merged
            return None

        for chunk in itertools.chain((rest,), tail):
            pieces = _split(chunk, PIECE) if chunk.ids else []
            for i, piece in enumerate(pieces):
                pending.append((pool.apply_async(_run_chunk, (piece,)), i == len(pieces) - 1))
                while len(pending) >= 4 * workers:
                    out = settle()
                    if out is not None:
                        yield out
        while pending:
            out = settle()
            if out is not None:
                yield out


# --- the whole job ----------------------------------------------------------------------------------------
def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def label_reports(source: ReportSource, out: str | os.PathLike, labeler: Labeler, *, id_column: str = "study_id",
                  vocabulary: str = OWN_VOCABULARY, sentences_out: str | os.PathLike | None = None,
                  explain_out: str | os.PathLike | None = None, workers: int = 1,
                  progress: Progress = null_progress) -> Summary:
    """Label every report of ``source`` into ``out`` (and the optional outputs); returns a summary.

    All outputs appear together only when everything succeeded; on any error none is left behind.
    """
    targets = [Path(p) for p in (out, sentences_out, explain_out) if p is not None]
    if len(set(map(os.path.abspath, targets))) != len(targets):
        raise CxrError("the output, --sentences and --explain paths must differ")
    for p in targets:
        check_output_path(p)
    worker = ChunkLabeler(labeler, vocabulary, sentences_out is not None, explain_out is not None)
    summary = Summary(columns=list(worker.projector.columns), positives=[0] * len(worker.projector.columns))
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tmp_out = stack.enter_context(atomic_path(out))
        fh = stack.enter_context(open(tmp_out, "w", encoding="utf-8", newline=""))
        fh.write(csv_header(id_column, summary.columns))
        sent = expl = None
        if sentences_out is not None:
            sent = SentenceWriter(stack.enter_context(atomic_path(sentences_out)))
            stack.callback(sent.close)
        if explain_out is not None:
            expl = stack.enter_context(open(stack.enter_context(atomic_path(explain_out)), "w",
                                            encoding="utf-8", newline=""))
        # No progress call before the first result: workers are forked by then, so a progress bar that
        # starts a refresh thread on its first update never runs while the process forks.
        for res in _ordered_map(worker, iter(source.chunks()), workers):
            fh.write(res.csv)
            if sent is not None:
                sent.write(res.sentences or [])
            if expl is not None:
                expl.write(res.explain or "")
            summary.reports += res.reports
            summary.missing += res.missing
            summary.positives = [a + b for a, b in zip(summary.positives, res.positives)]
            for lang, n in res.languages.items():
                summary.languages[lang] = summary.languages.get(lang, 0) + n
            progress(summary.reports, source.rows, "labeling reports")
        # Close the files before the atomic renames run (ExitStack unwinds in reverse order).
        fh.close()
    summary.seconds = time.perf_counter() - start
    return summary
