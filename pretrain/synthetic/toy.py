"""The toy task: phantoms in memory with the ``CacheDataset`` item contract (tests, ``data.toy: N``).

The phantoms show one standard patient (no anatomical variation) with each finding drawn at 3x contrast
in 40 % of the images: a tiny CNN learns them from 32 px images within a few dozen steps, which the
trainer's tests rely on. An item's text is one sentence of its report, drawn per (seed, epoch, item)
as ``CacheDataset`` draws it. Every third item plays a label-only source: it does not annotate the last
label, has no report (``has_report`` False) and its text is a prompt of its positive labels. Labels
are the findings shown (1) or not (0), and -1 where the report only hedges a shown finding.
"""
from __future__ import annotations

import numpy as np
import torch

from cxr.pretrain.data.text import label_prompt, mix, split_sentences
from cxr.pretrain.synthetic.corpus import SynthConfig, SyntheticCorpus, generate

TOY_FINDINGS = ("cardiomegaly", "pleural effusion", "pneumothorax", "pacemaker")


def toy_config(size: int, seed: int) -> SynthConfig:
    return SynthConfig(size=size, seed=seed, findings=TOY_FINDINGS, standard_patient=True, contrast=3.0,
                       prevalence=0.4)


def toy_split(n: int, size: int, val_fraction: float, seed: int) -> tuple["ToyDataset", "ToyDataset"]:
    """(train, val) views on one toy corpus of ``n`` phantoms: the last ``val_fraction`` is validation."""
    corpus = generate(n, toy_config(size, seed))
    n_val = int(round(n * val_fraction))
    return ToyDataset(corpus, range(n - n_val), seed), ToyDataset(corpus, range(n - n_val, n), seed)


class ToyDataset:
    """Rows ``rows`` of a phantom corpus, held in memory."""

    def __init__(self, corpus: SyntheticCorpus, rows: range, seed: int = 0):
        manifest = corpus.manifest.iloc[list(rows)]
        self.label_names = list(TOY_FINDINGS)
        self.seed, self.epoch = seed, 0
        self._uids = list(rows)
        self._images = torch.from_numpy(corpus.images[list(rows)])
        labels = manifest[self.label_names].to_numpy(np.float32, copy=True)
        for i, hedged in enumerate(manifest["meta_hedged"]):
            labels[i, [self.label_names.index(f) for f in filter(None, hedged.split("|"))]] = -1.0
        self._labels = torch.from_numpy(labels)
        self._sentences = [split_sentences(report) for report in manifest["report"]]

    def __len__(self) -> int:
        return len(self._uids)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        uid = self._uids[i]
        labels = self._labels[i].clone()
        annotated = torch.ones(len(labels), dtype=torch.bool)
        label_only = uid % 3 == 2
        if label_only:
            annotated[-1] = False
            labels[-1] = float("nan")
            text = label_prompt([n for n, v in zip(self.label_names, labels.tolist()) if v == 1])
        else:
            sentences = self._sentences[i]
            text = sentences[mix(self.seed, self.epoch, uid) % len(sentences)]
        return {"image": self._images[i].unsqueeze(0), "labels": labels, "annotated": annotated,
                "text": text, "has_report": not label_only, "index": i}
