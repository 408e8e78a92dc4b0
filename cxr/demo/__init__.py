"""``cxr demo``: the whole pipeline on synthetic phantoms in minutes on a laptop CPU.

Phantom radiographs with MIMIC-style reports -> the labeler -> manifest and cache -> unimodal, CLIP
and DLILP pre-training -> zero-shot (base + one novel class) and K-shot linear probes against an
untrained encoder -> the paper-style table. ``run_demo(DemoConfig(...))`` is the library entry point;
``evaluate/demo_cli.py`` the command.
"""
from cxr.demo.config import DemoConfig, smallest
from cxr.demo.pipeline import DemoResult, run_demo

__all__ = ["DemoConfig", "DemoResult", "run_demo", "smallest"]
