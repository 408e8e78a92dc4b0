"""``torchvision:NAME`` (+ ``--weights FILE``): a torchvision classification model without its classifier.

The baseline row of most papers is torchvision's ImageNet ResNet-50 (``IMAGENET1K_V1``/``V2`` files, as
``torch.hub`` stores them). Without ``--weights`` the network is randomly initialised with a fixed seed.
Preprocessing: ImageNet mean/std, 3 channels, 224 px, padded square.
"""
from __future__ import annotations


from cxr.core.errors import InputError

from cxr.evaluate.adapters.base import (ENCODERS, IMAGENET_MEAN, IMAGENET_STD, EncoderHandle, EncoderOptions,
                                        backbone_handle, load_checked, read_state_dict, seeded)

#: attribute holding the classifier, replaced by Identity so the model returns pooled features
_HEADS = ("fc", "classifier", "head", "heads")


def strip_classifier(model) -> str:
    import torch

    for attr in _HEADS:
        if isinstance(getattr(model, attr, None), torch.nn.Module):
            setattr(model, attr, torch.nn.Identity())
            return attr
    raise InputError(f"{type(model).__name__}: no classifier attribute among {_HEADS}")


@ENCODERS.register("torchvision")
def load_torchvision(name: str, options: EncoderOptions) -> EncoderHandle:
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise InputError(f"unknown torchvision model {name!r} (see torchvision.models.list_models())")
    model = seeded(options.init_seed, lambda: torchvision.models.get_model(name, weights=None))
    head = strip_classifier(model)
    if options.weights:
        load_checked(model, read_state_dict(options.weights), options.weights, f"torchvision:{name}",
                     ignore=lambda k: k.startswith(head + "."))
    return backbone_handle(model, "torchvision", name, options, IMAGENET_MEAN, IMAGENET_STD)
