"""Image backbones, text encoders, heads, the input preprocessing and the pre-training model (see each module)."""
from cxr.pretrain.models.backbones import BACKBONES, build_backbone
from cxr.pretrain.models.model import CxrModel, Heads
from cxr.pretrain.models.text import TEXT_ENCODERS, TextEncoder, build_text_encoder

__all__ = ["BACKBONES", "TEXT_ENCODERS", "build_backbone", "build_text_encoder", "CxrModel", "Heads",
           "TextEncoder"]
