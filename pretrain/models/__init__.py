"""Image backbones, text encoders, heads and the pre-training model (see each module)."""
from pretrain.models.backbones import BACKBONES, build_backbone
from pretrain.models.model import CxrModel, Heads
from pretrain.models.text import TEXT_ENCODERS, TextEncoder, build_text_encoder

__all__ = ["BACKBONES", "TEXT_ENCODERS", "build_backbone", "build_text_encoder", "CxrModel", "Heads",
           "TextEncoder"]
