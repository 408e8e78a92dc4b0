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
        for rid, text in zip(chunk.ids, chunk.texts):
            res = self.labeler.label(text)
            missing += is_missing(text)
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
                           "".join(expl) if expl is not None else None)


@dataclass
class Summary:
    reports: int = 0
    missing: int = 0
    seconds: float = 0.0
    columns: list[str] = field(default_factory=list)
    positives: list[int] = field(default_factory=list)

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


def _ordered_map(worker: ChunkLabeler, chunks: Iterator[Chunk], workers: int) -> Iterator[ChunkResult]:
    """Results in input order; at most 2 chunks per worker are queued, so memory stays bounded.

    The first chunk is labeled here, before forking: the workers then start with its compiled patterns
    and sentence cache instead of each warming up on its own.
    """
    first = next(chunks, None)
    if first is None:
        return
    yield worker(first)
    second = next(chunks, None)
    if second is None:
        return
    if workers <= 1:
        yield worker(second)
        yield from map(worker, chunks)
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers, initializer=_init_worker, initargs=(worker,)) as pool:
        pending: deque = deque()
        for chunk in itertools.chain((second,), chunks):
            pending.append(pool.apply_async(_run_chunk, (chunk,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


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
            progress(summary.reports, source.rows, "labeling reports")
        # Close the files before the atomic renames run (ExitStack unwinds in reverse order).
        fh.close()
    summary.seconds = time.perf_counter() - start
    return summary
