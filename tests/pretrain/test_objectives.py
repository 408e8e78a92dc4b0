"""Objectives on tiny hand-checked cases: values computed by hand, gradient signs, masking."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cxr.pretrain.config import Config
from cxr.pretrain.objectives import OBJECTIVES, build_objective
from cxr.pretrain.objectives.clip import Clip
from cxr.pretrain.objectives.dlilp import DLILP
from cxr.pretrain.objectives.functional import masked_bce, resolve_targets
from cxr.pretrain.objectives.unicl import UniCL, positive_pairs
from cxr.pretrain.objectives.unimodal import Unimodal

NAN = math.nan


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def bce(logit: float, target: float) -> float:
    """-[t log s(x) + (1-t) log(1-s(x))] = softplus(x) - t*x"""
    return softplus(logit) - target * logit


# Reference contrastive losses, written the textbook way (the objectives use masked_contrastive).
def info_nce(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE: row i of ``image`` and ``text`` form the only positive pair."""
    logits = image @ text.t() * scale
    target = torch.arange(len(image), device=image.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def soft_info_nce(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor,
                  positives: torch.Tensor) -> torch.Tensor:
    """InfoNCE with several positives per row: targets are ``positives`` normalised per row
    (image->text rows of ``positives``, text->image its columns). ``positives`` must include the diagonal."""
    logits = image @ text.t() * scale
    pos = positives.float()
    i2t = pos / pos.sum(1, keepdim=True)
    t2i = pos.t() / pos.t().sum(1, keepdim=True)
    return (F.cross_entropy(logits, i2t) + F.cross_entropy(logits.t(), t2i)) / 2


# --- label policies ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("uncertain,missing,target,mask", [
    ("masked", "masked", [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]),
    ("negative", "masked", [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]),
    ("positive", "masked", [1, 0, 1, 0, 0], [1, 1, 1, 0, 0]),
    ("masked", "negative", [1, 0, 0, 0, 0], [1, 1, 0, 1, 0]),
])
def test_resolve_targets_policies(uncertain, missing, target, mask):
    # values: positive, negative, uncertain, not mentioned, not annotated by the source
    labels = torch.tensor([[1.0, 0.0, -1.0, NAN, NAN]])
    annotated = torch.tensor([[True, True, True, True, False]])
    t, m = resolve_targets(labels, annotated, uncertain, missing)
    assert t.tolist() == [[float(v) for v in target]]
    assert m.tolist() == [[bool(v) for v in mask]]


def test_not_annotated_is_masked_even_when_labelled():
    t, m = resolve_targets(torch.tensor([[1.0, 0.0]]), torch.tensor([[False, True]]), "positive", "negative")
    assert m.tolist() == [[False, True]]


# --- masked BCE / unimodal ------------------------------------------------------------------------------------
def test_masked_bce_by_hand():
    logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mask = torch.tensor([[True, True], [True, False]])
    # sample 0: mean of both labels; sample 1: only label 0; then the mean over samples
    expected = ((bce(2.0, 1) + bce(-1.0, 0)) / 2 + bce(0.5, 0)) / 2
    assert masked_bce(logits, target, mask).item() == pytest.approx(expected, abs=1e-6)


def test_masked_bce_skips_samples_without_labels_and_is_zero_when_nothing_is_valid():
    logits = torch.tensor([[2.0], [7.0]], requires_grad=True)
    target = torch.tensor([[1.0], [0.0]])
    assert masked_bce(logits, target, torch.tensor([[True], [False]])).item() == pytest.approx(bce(2.0, 1), abs=1e-6)
    zero = masked_bce(logits, target, torch.zeros(2, 1, dtype=torch.bool))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(logits.grad, torch.zeros(2, 1))


def _unimodal_case():
    """Two images, two labels; embeddings and prototypes chosen so the cosines are easy numbers."""
    emb = F.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), dim=-1).requires_grad_()
    protos = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    out = {"label_emb": emb, "prototypes": protos, "label_scale": torch.tensor(10.0)}  # tau = 0.1
    batch = {"labels": torch.tensor([[1.0, NAN], [0.0, 1.0]]), "annotated": torch.ones(2, 2, dtype=torch.bool)}
    return out, batch


def test_unimodal_loss_by_hand_with_missing_masked():
    out, batch = _unimodal_case()
    terms = Unimodal(uncertain="masked", missing="masked")(out, batch)
    # cosines: image0 = (1, 0), image1 = (0.6, 0.8); logits = cos / 0.1
    expected = (bce(10.0, 1) + (bce(6.0, 0) + bce(8.0, 1)) / 2) / 2
    assert terms["loss"].item() == pytest.approx(expected, abs=1e-5)
    assert terms["bce"].item() == pytest.approx(expected, abs=1e-5)
    assert not terms["bce"].requires_grad


def test_unimodal_missing_as_negative_adds_the_term():
    out, batch = _unimodal_case()
    terms = Unimodal(uncertain="masked", missing="negative")(out, batch)
    expected = ((bce(10.0, 1) + bce(0.0, 0)) / 2 + (bce(6.0, 0) + bce(8.0, 1)) / 2) / 2
    assert terms["loss"].item() == pytest.approx(expected, abs=1e-5)


def test_unimodal_gradient_signs_and_masked_prototype_gets_no_gradient():
    out, batch = _unimodal_case()
    batch["labels"] = torch.tensor([[1.0, NAN], [1.0, NAN]])   # label 1 never enters the loss
    Unimodal(missing="masked")(out, batch)["loss"].backward()
    assert torch.equal(out["prototypes"].grad[1], torch.zeros(2))
    # a positive label pulls its prototype towards the images: descent direction is -grad
    step = -out["prototypes"].grad[0]
    assert float(step @ torch.tensor([0.6, 0.8])) > 0


def test_unimodal_negative_pushes_prototype_away():
    out, batch = _unimodal_case()
    batch["labels"] = torch.tensor([[NAN, NAN], [0.0, NAN]])
    Unimodal(missing="masked")(out, batch)["loss"].backward()
    assert float(-out["prototypes"].grad[0] @ torch.tensor([0.6, 0.8])) < 0


# --- contrastive -------------------------------------------------------------------------------------------------
def test_info_nce_two_pairs_by_hand():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # logits = img @ txt.T * 2 = [[2, 1.2], [0, 1.6]]
    e = math.exp
    i2t = [-math.log(e(2) / (e(2) + e(1.2))), -math.log(e(1.6) / (e(0) + e(1.6)))]     # rows
    t2i = [-math.log(e(2) / (e(2) + e(0))), -math.log(e(1.6) / (e(1.2) + e(1.6)))]     # columns
    expected = (sum(i2t) / 2 + sum(t2i) / 2) / 2
    assert info_nce(img, txt, torch.tensor(2.0)).item() == pytest.approx(expected, abs=1e-6)


def test_info_nce_gradient_pulls_pairs_together():
    img = F.normalize(torch.tensor([[1.0, 0.2], [0.1, 1.0]]), dim=-1)
    txt = torch.tensor([[0.0, 1.0], [1.0, 0.0]], requires_grad=True)   # swapped: both pairs wrong
    info_nce(img, txt, torch.tensor(5.0)).backward()
    assert float(-txt.grad[0] @ img[0]) > 0 and float(-txt.grad[1] @ img[1]) > 0


def test_clip_objective_ignores_items_without_text():
    img = F.normalize(torch.randn(3, 4), dim=-1)
    txt = F.normalize(torch.randn(3, 4), dim=-1)
    out = {"image_emb": img, "text_emb": txt, "logit_scale": torch.tensor(3.0)}
    has_text = torch.tensor([True, False, True])
    terms = Clip()(out, {"has_text": has_text})
    assert terms["n_text"].item() == 2
    assert terms["loss"].item() == pytest.approx(info_nce(img[[0, 2]], txt[[0, 2]], torch.tensor(3.0)).item())


def test_positive_pairs_overlap_and_same_set():
    pos = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0], [1, 1, 0]])
    overlap = positive_pairs(pos, "overlap")
    assert overlap.tolist()[0] == [True, True, False, False, True]
    assert overlap[2].tolist() == [False, False, True, False, False]   # no labels: only itself
    same = positive_pairs(pos, "same_set")
    assert same[1].tolist() == [False, True, False, False, True]
    assert same[2].tolist() == [False, False, True, False, False]      # two empty sets are not "the same class"


def test_soft_info_nce_by_hand_and_reduces_to_info_nce():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    scale = torch.tensor(1.0)
    eye = torch.eye(2, dtype=torch.bool)
    assert soft_info_nce(img, txt, scale, eye).item() == pytest.approx(info_nce(img, txt, scale).item())
    # all pairs positive: logits [[1, 1], [0, 0]]; every target row is (1/2, 1/2)
    ones = torch.ones(2, 2, dtype=torch.bool)
    i2t = 2 * math.log(2)   # each image row is uniform: CE against (1/2, 1/2) = log 2
    lse_col = math.log(math.e + 1)
    t2i = 2 * (lse_col - 0.5)   # text rows [1, 0]: -(1/2)(1 - lse) - (1/2)(0 - lse)
    assert soft_info_nce(img, txt, scale, ones).item() == pytest.approx((i2t / 2 + t2i / 2) / 2, abs=1e-6)


def test_unicl_uses_label_agreement():
    img = F.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), dim=-1)
    txt = img.clone()
    out = {"image_emb": img, "text_emb": txt, "logit_scale": torch.tensor(10.0)}
    batch = {"labels": torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
             "annotated": torch.ones(3, 2, dtype=torch.bool), "has_text": torch.ones(3, dtype=torch.bool)}
    terms = UniCL()(out, batch)
    pairs = positive_pairs(torch.tensor([[1, 0], [1, 0], [0, 1]]))
    assert terms["n_pos"].item() == 2   # items 0 and 1 share a label (both directions)
    assert terms["loss"].item() == pytest.approx(soft_info_nce(img, txt, torch.tensor(10.0), pairs).item())


@pytest.mark.parametrize("objective,pulls", [(UniCL(), True), (Clip(), False)])
def test_same_label_pair_is_pulled_by_unicl_and_pushed_by_clip(objective, pulls):
    # with identity image embeddings, logit (i, j) = scale * txt[j, i]: the gradient on txt[1, 0] is the
    # gradient on the similarity of image 0 and text 1, two items that share their label
    img = torch.eye(3)
    txt = (0.5 * torch.eye(3) + 0.1).requires_grad_()
    out = {"image_emb": img, "text_emb": txt, "logit_scale": torch.tensor(4.0)}
    batch = {"labels": torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
             "annotated": torch.ones(3, 2, dtype=torch.bool), "has_text": torch.ones(3, dtype=torch.bool)}
    objective(out, batch)["loss"].backward()
    assert (txt.grad[1, 0] < 0) == pulls
    assert txt.grad[2, 0] > 0   # different labels: pushed apart by both


# --- DLILP ------------------------------------------------------------------------------------------------------
def _dlilp_case(has_report):
    torch.manual_seed(0)
    n = len(has_report)
    img = F.normalize(torch.randn(n, 4), dim=-1).requires_grad_()
    txt = F.normalize(torch.randn(n, 4), dim=-1).requires_grad_()
    lab = F.normalize(torch.randn(n, 4), dim=-1).requires_grad_()
    protos = F.normalize(torch.randn(3, 4), dim=-1).requires_grad_()
    out = {"image_emb": img, "text_emb": txt, "logit_scale": torch.tensor(5.0, requires_grad=True),
           "label_emb": lab, "prototypes": protos, "label_scale": torch.tensor(10.0)}
    batch = {"labels": torch.tensor([[1.0, 0.0, NAN]] * n), "annotated": torch.ones(n, 3, dtype=torch.bool),
             "has_report": torch.tensor(has_report), "has_text": torch.ones(n, dtype=torch.bool)}
    return out, batch


def test_dlilp_is_bce_plus_lambda_clip_over_report_items_only():
    out, batch = _dlilp_case([True, False, True, True])
    terms = DLILP(missing="masked", clip_weight=0.1)(out, batch)
    bce_only = Unimodal(missing="masked")(out, batch)["loss"]
    idx = [0, 2, 3]
    clip = info_nce(out["image_emb"][idx], out["text_emb"][idx], out["logit_scale"])
    assert terms["n_text"].item() == 3
    assert terms["clip"].item() == pytest.approx(clip.item(), abs=1e-6)
    assert terms["loss"].item() == pytest.approx(bce_only.item() + 0.1 * clip.item(), abs=1e-6)
    terms["loss"].backward()
    assert torch.equal(out["text_emb"].grad[1], torch.zeros(4))   # the label-only item's text is not used


def test_dlilp_clip_term_is_zero_with_fewer_than_two_reports_but_graph_stays():
    out, batch = _dlilp_case([True, False, False])
    terms = DLILP(missing="masked")(out, batch)
    assert terms["clip"].item() == 0.0 and terms["n_text"].item() == 1
    terms["loss"].backward()
    # every input still got a (zero) gradient: DDP needs each parameter in the graph every step
    assert out["text_emb"].grad is not None and torch.count_nonzero(out["text_emb"].grad) == 0
    assert out["logit_scale"].grad is not None


# --- registry ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_every_registered_objective_builds_from_config(name):
    cfg = Config()
    cfg.objective.name = name
    obj = build_objective(cfg)
    assert obj.heads.text or obj.heads.labels


def test_unknown_objective_names_the_known_ones():
    cfg = Config()
    cfg.objective.name = "nope"
    with pytest.raises(Exception, match="unknown objective 'nope'.*dlilp"):
        build_objective(cfg)


@pytest.mark.parametrize("seed", range(5))
def test_masked_contrastive_equals_the_loss_on_the_kept_rows(seed):
    """The sync-free masked form must equal indexing the valid rows out and computing the plain loss."""
    from cxr.pretrain.objectives.functional import masked_contrastive
    g = torch.Generator().manual_seed(seed)
    n = 7
    img = F.normalize(torch.randn(n, 5, generator=g), dim=-1)
    txt = F.normalize(torch.randn(n, 5, generator=g), dim=-1)
    valid = torch.rand(n, generator=g) < 0.6
    valid[:2] = True
    pos = (torch.rand(n, n, generator=g) < 0.3) | torch.eye(n, dtype=torch.bool)
    idx = valid.nonzero().flatten()
    want = soft_info_nce(img[idx], txt[idx], torch.tensor(7.0), pos[idx][:, idx])
    got = masked_contrastive(img, txt, torch.tensor(7.0), pos, valid)
    assert got.item() == pytest.approx(want.item(), abs=1e-5)
