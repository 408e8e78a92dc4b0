"""Typed configuration of an evaluation run; the resolved copy is saved as OUT/config.yaml.

A *protocol* is a named preset of the settings that decide what a number means: the linear probe's
``C``, standardisation and class weights, and how zero-shot routes each class to a head and whether base
and novel classes are also scored as separate problems. ``cxr`` is the project's default, ``paper``
reproduces the reference code of Silva-Rodriguez et al. (IPMI 2025); docs/reproduce.md lists the
differences and what each one measures. Explicit settings (``probe=...``, ``--probe-c``) override the
preset's; the resolved values are what config.yaml records.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from cxr.core.registry import Registry

from cxr.evaluate.fewshot import Shot
from cxr.evaluate.probe import ProbeConfig

METHOD_CHOICES = ("zero-shot", "linear-probe", "both")


@dataclass(frozen=True)
class ZeroShotConfig:
    route: str = "label-head"   # a cxr.evaluate.class_embeddings.ROUTES name: which head scores which class
    subsets: bool = False       # also score base and novel classes as two separate classification problems


@dataclass(frozen=True)
class Protocol:
    probe: ProbeConfig
    zero_shot: ZeroShotConfig
    summary: str


PROTOCOLS: Registry[Protocol] = Registry("evaluation protocol")

PROTOCOLS.register("cxr")(Protocol(
    ProbeConfig(C=1.0, standardise=True, class_weight="balanced"),
    ZeroShotConfig(route="label-head", subsets=False),
    "probe C=1 on features standardised with the train pool's statistics, balanced class weights; "
    "zero-shot through the label head when there is one (novel classes composed from the head labels "
    "their description names), else the text head; all classes scored together"))

PROTOCOLS.register("paper")(Protocol(
    ProbeConfig(C=0.316, standardise=False, class_weight="balanced"),
    ZeroShotConfig(route="split-heads", subsets=True),
    "the reference code: probe C=0.316 on raw features, balanced class weights, no tuning; zero-shot "
    "base classes through label-head prototypes, novel ones through the image-text head (none without "
    "one); base, novel and all classes scored as three separate problems"))


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
    allow_overlap: bool = False                  # evaluate tasks sharing patients with the pre-training data
    protocol: str = "cxr"                        # a PROTOCOLS name; fills probe / zero_shot left at None
    probe: ProbeConfig | None = None
    zero_shot: ZeroShotConfig | None = None

    def __post_init__(self):
        preset = PROTOCOLS.get(self.protocol)    # an unknown name fails here, listing the known ones
        self.probe = self.probe or replace(preset.probe)
        self.zero_shot = self.zero_shot or preset.zero_shot

    def to_dict(self) -> dict:
        return asdict(self)


def expand_methods(method: str) -> list[str]:
    return ["zero-shot", "linear-probe"] if method == "both" else [method]
