"""Demo stage 5: zero-shot and K-shot linear probes of one encoder on the test task, through the same
``run_evaluation`` / ``write_outputs`` that ``cxr eval run`` uses.

An encoder with both heads (DLILP) is zero-shot evaluated through its label head (prototypes; a novel
class only through the head labels its description names). Its image-text head is a second, CLIP-like
way to reach a novel class, so the demo also evaluates that head zero-shot: the evaluation's
``text-head`` route (every class through text prompts, paired with the image-text head's embedding).
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.progress import Progress, null_progress

from cxr.demo.task import TaskFiles

RESULTS = "results"
TEXT_HEAD = "-text"          # suffix of the text-head row of a two-head encoder


def has_two_heads(export_dir: Path) -> bool:
    from cxr.pretrain.export import read_export_config

    heads = read_export_config(export_dir)["heads"]
    return bool(heads["text"] and heads["labels"])


def evaluate_encoder(name: str, export_dir: Path, task: TaskFiles, out: Path, *, shots: tuple[int, ...],
                     seeds: int, device: str, text_head: bool = False, progress: Progress = null_progress):
    """Evaluate one export (``text_head``: its image-text head, zero-shot only); writes OUT/results/NAME/."""
    from cxr.evaluate.config import EvalConfig, ZeroShotConfig
    from cxr.evaluate.encoders import EncoderOptions, load_encoder
    from cxr.evaluate.report import write_outputs
    from cxr.evaluate.runner import run_evaluation

    methods = ["zero-shot"] if text_head else ["zero-shot", "linear-probe"]
    # vocabulary: a CLIP export records no label space, so base vs novel is given explicitly (the same
    # list for every encoder: the manifest's label columns, which CLIP's reports were labeled with).
    cfg = EvalConfig(checkpoint=str(export_dir), tasks=[str(task.split)], methods=methods, shots=list(shots),
                     seeds=seeds, prompts={task.name: str(task.prompts)}, vocabulary=str(task.vocabulary),
                     batch_size=64, workers=0, device=device,
                     cache_dir=None,   # a demo's features are never reused: keep ~/.cache clean
                     zero_shot=ZeroShotConfig(route="text-head") if text_head else None)
    encoder = load_encoder(cfg.checkpoint, EncoderOptions(device=device))
    encoder.name = name
    result = run_evaluation(cfg, progress, encoder=encoder)
    write_outputs(result, out / RESULTS / name)
    return result
