"""Typed configuration of an evaluation run; the resolved copy is saved as OUT/config.yaml."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from cxr.evaluate.fewshot import Shot
from cxr.evaluate.probe import ProbeConfig

METHOD_CHOICES = ("zero-shot", "linear-probe", "both")


@dataclass
class EvalConfig:
    checkpoint: str                              # export dir, run dir, or timm:NAME
    tasks: list[str]                             # registered names, csv:PATH, or PATH.csv
    methods: list[str] = field(default_factory=lambda: ["zero-shot", "linear-probe"])
    shots: list[Shot] = field(default_factory=lambda: [1, 2, 4, 8, 16])
    seeds: int = 5
    splits_dir: str | None = None                # DIR/<task>.csv for registered tasks
    splits: dict[str, str] = field(default_factory=dict)   # task -> split file (overrides splits_dir)
    prompts: dict[str, str] = field(default_factory=dict)  # task -> prompt YAML (default: shipped file)
    images: str | None = None                    # root for relative image paths (default: the split's)
    weights: str | None = None                   # local weights for timm backbones
    image_size: int | None = None                # override the encoder's input size
    init_seed: int = 0                           # random init of timm baselines
    vocabulary: str | None = None                # base-class vocabulary (name or file); default: the encoder's
    batch_size: int = 64
    workers: int = 2
    device: str = "auto"
    cache_dir: str | None = None                 # feature cache; None = no cache
    refresh_features: bool = False
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def expand_methods(method: str) -> list[str]:
    return ["zero-shot", "linear-probe"] if method == "both" else [method]
