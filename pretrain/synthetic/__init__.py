"""Synthetic chest radiograph phantoms with known findings and MIMIC-style reports.

Used by the tests of every package and by the demo: thousands of 64-128 px images per second or
so, numpy only. ``generate_corpus(n, size, seed, findings, out_dir)`` returns the manifest;
``generate`` also returns the images in memory. ``NOVEL_FINDING`` ('ground glass pattern') is
not in ``DEFAULT_FINDINGS``: pre-train without it and evaluate it zero-shot.
"""
from cxr.pretrain.synthetic.corpus import SynthConfig, SyntheticCorpus, generate, generate_corpus, render, write_corpus
from cxr.pretrain.synthetic.findings import DEFAULT_FINDINGS, FINDINGS, NOVEL_FINDING, register_finding

ALL_FINDINGS = (*DEFAULT_FINDINGS, NOVEL_FINDING)

__all__ = ["generate", "generate_corpus", "write_corpus", "render", "SynthConfig", "SyntheticCorpus",
           "DEFAULT_FINDINGS", "NOVEL_FINDING", "ALL_FINDINGS", "FINDINGS", "register_finding"]
