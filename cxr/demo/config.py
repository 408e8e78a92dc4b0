"""The demo's typed configuration: defaults sized for a 2-core laptop, a ``smallest`` preset for tests.

The resolved copy is saved as ``OUT/config.yaml`` (with the git SHA and stage timings).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from cxr.core.errors import InputError

#: Pre-training objectives the demo compares (each has pretrain/configs/demo_<name>.yaml).
METHODS = ("unimodal", "clip", "dlilp")
#: Row name of the randomly initialised encoder of the same architecture.
UNTRAINED = "untrained"
#: Base classes of the held-out test task: phantom findings that are pre-training labels.
TASK_BASE = ("cardiomegaly", "pleural effusion", "pneumothorax", "consolidation", "atelectasis")
#: Minimum phantom size pretrain.synthetic draws.
MIN_SIZE = 32


@dataclass
class DemoConfig:
    out: str = "demo-out"
    images: int = 3000                  # pre-training phantoms (one study each)
    size: int = 64                      # image side, pixels (phantoms, cache and encoders)
    epochs: int = 8                     # pre-training epochs per objective
    device: str = "auto"                # auto | cpu | cuda
    seed: int = 0                       # phantoms, splits, model init and K-shot draws derive from it
    methods: tuple[str, ...] = METHODS
    batch_size: int = 32                # global pre-training batch
    train_per_class: int = 32           # test task: train pool per class (K-shot sets are drawn from it)
    test_per_class: int = 50            # test task: test images per class
    shots: tuple[int, ...] = (1, 2, 4, 8, 16)
    probe_seeds: int = 5                # K-shot draws per K
    cpu_threads: int = 1                # torch intra-op threads on CPU (see pipeline.set_threads)
    smallest: bool = False              # the preset below was applied

    def check(self) -> None:
        if self.images < 20:
            raise InputError(f"--images must be at least 20 (a validation split needs patients), got {self.images}")
        if self.size < MIN_SIZE:
            raise InputError(f"--size must be at least {MIN_SIZE} px, got {self.size}")
        if self.epochs < 1:
            raise InputError(f"--epochs must be at least 1, got {self.epochs}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise InputError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        unknown = [m for m in self.methods if m not in ("unimodal", "clip", "unicl", "dlilp")]
        if unknown or not self.methods:
            raise InputError(f"unknown demo method(s) {unknown}; choose from unimodal, clip, unicl, dlilp")
        if max(self.shots) > self.train_per_class:
            raise InputError(f"K={max(self.shots)} needs at least that many train images per class, "
                             f"got train_per_class={self.train_per_class}")
        if self.test_per_class < 1 or self.probe_seeds < 1 or self.batch_size < 2:
            raise InputError("test_per_class and probe_seeds must be >= 1, batch_size >= 2")

    def to_dict(self) -> dict:
        return asdict(self)


def smallest(config: DemoConfig) -> DemoConfig:
    """Seconds, not minutes: for tests and a first look. Every stage and artefact, tiny sizes."""
    return replace(config, images=120, size=MIN_SIZE, epochs=1, batch_size=16, train_per_class=2,
                   test_per_class=3, shots=(1, 2), probe_seeds=2, smallest=True)
