"""Pre-training objectives, one module each, registered by name in ``OBJECTIVES``."""
from cxr.pretrain.objectives.base import OBJECTIVES, Objective, build_objective
from cxr.pretrain.objectives import clip, dlilp, unicl, unimodal  # noqa: F401  (registration)

__all__ = ["OBJECTIVES", "Objective", "build_objective"]
