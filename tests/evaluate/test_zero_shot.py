"""Zero-shot: prototypes for base classes, labeler-composed prototypes for novel ones, text ensembles."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cxr.evaluate.class_embeddings import build_class_embeddings, zero_shot_scores
from cxr.evaluate.classnames import labels_to_head, partition
from cxr.evaluate.config import EvalConfig
from cxr.evaluate.prompts import load_prompts
from cxr.evaluate.runner import run_evaluation
from tests.evaluate.standins import QuadrantEncoder, handle, write_task

HEAD = ["atelectasis", "cardiomegaly", "consolidation", "lung opacity"]


def fake_labeler(text: str) -> list[str]:
    """Stands in for the labeler: positives named in the text (PadChest names)."""
    return [lab for lab in ("consolidation", "lung opacity", "alveolar pattern") if lab in text.lower()]


def _prompts(tmp_path, classes, descriptions):
    import yaml

    path = tmp_path / "prompts.yaml"
    path.write_text(yaml.safe_dump({"classes": {c: {"description": d} for c, d in descriptions.items()}}))
    return load_prompts("toy", classes, path)


def test_novel_class_prototype_is_the_normalised_mean_of_the_labels_it_names(tmp_path):
    classes = ["Atelectasis", "COVID"]
    prompts = _prompts(tmp_path, classes, {"COVID": "ground-glass lung opacity or consolidation"})
    ce = build_class_embeddings(QuadrantEncoder(HEAD), classes, prompts, fake_labeler)
    assert np.allclose(ce.matrix[0], [1, 0, 0, 0])
    assert np.allclose(ce.matrix[1], np.array([0, 0, 1, 1]) / math.sqrt(2))
    assert ce.sources == ["prototype: atelectasis", "composed: consolidation + lung opacity"]


def test_ancestors_propagated_by_the_labeler_are_dropped(tmp_path):
    class Onto:
        def __contains__(self, name):
            return True

        def ancestors(self, name):
            return ["lung opacity"] if name == "consolidation" else []

    prompts = _prompts(tmp_path, ["COVID"], {"COVID": "consolidation (a lung opacity)"})
    ce = build_class_embeddings(QuadrantEncoder(HEAD), ["COVID"], prompts, fake_labeler, Onto())
    assert np.allclose(ce.matrix[0], [0, 0, 1, 0])


def test_a_novel_class_without_any_head_label_is_unpredictable_with_a_warning(tmp_path):
    prompts = _prompts(tmp_path, ["Atelectasis", "Mystery"], {"Mystery": "something unheard of"})
    ce = build_class_embeddings(QuadrantEncoder(HEAD), ["Atelectasis", "Mystery"], prompts, fake_labeler)
    assert ce.predictable.tolist() == [True, False]
    assert any("Mystery" in w for w in ce.warnings)
    scores = zero_shot_scores(np.array([[0.0, 0, 0, 1]]), ce)
    assert scores[0, 1] == 0.0 and scores.argmax() == 0


def test_labeler_output_maps_to_head_names_through_synonyms():
    assert labels_to_head(["pulmonary edema", "pleural effusion"], ["Edema", "Pleural Effusion"]) == [0, 1]


def test_base_and_novel_partition_follows_the_vocabulary():
    part = partition(["No Finding", "Pleural Effusion", "COVID"], ["normal", "pleural effusion"])
    assert part.base == (0, 1) and part.novel == (2,) and part.known
    assert not partition(["COVID"], None).known


def test_end_to_end_base_novel_aca_with_a_label_head(tmp_path):
    # Atelectasis/Cardiomegaly are base (head has them); COVID is novel but composable; Mystery is not.
    split = write_task(tmp_path, {"Atelectasis": [0], "Cardiomegaly": [1], "COVID": [2, 3], "Mystery": [0, 1]})
    prompts = tmp_path / "p.yaml"
    prompts.write_text("classes:\n  COVID:\n    description: patchy consolidation and lung opacity\n"
                       "  Mystery:\n    description: an unusual sign\n")
    cfg = EvalConfig(checkpoint="stand-in", tasks=[f"csv:{split}"], methods=["zero-shot"],
                     prompts={"task": str(prompts)}, workers=0, device="cpu")
    result = run_evaluation(cfg, describe=fake_labeler, encoder=handle(QuadrantEncoder(HEAD)))
    (row,) = result.rows
    assert row["aca"] == pytest.approx(0.75)            # Mystery's images are all wrong
    assert row["base_aca"] == pytest.approx(1.0)
    assert row["novel_aca"] == pytest.approx(0.5)
    assert (row["n_base"], row["n_novel"]) == (2, 2)
    assert any("Mystery" in w for w in result.warnings)
    assert result.tasks["task"]["class_sources"]["COVID"] == "composed: consolidation + lung opacity"


def test_text_encoder_averages_the_prompt_ensemble(tmp_path):
    split = write_task(tmp_path, {"No Finding": [0], "Pneumothorax": [1]})
    model = QuadrantEncoder(None, has_text=True,
                            text_vectors={"pneumothorax": [0, 1, 0, 0], "no finding": [1, 0, 0, 0],
                                          "normal": [1, 0, 0, 0], "clear": [1, 0, 0, 0]})
    cfg = EvalConfig(checkpoint="stand-in", tasks=[f"csv:{split}"], methods=["zero-shot"], workers=0,
                     device="cpu")
    result = run_evaluation(cfg, encoder=handle(model))
    (row,) = result.rows
    assert row["aca"] == pytest.approx(1.0) and row["auc"] == pytest.approx(1.0)
    assert math.isnan(row["base_aca"])                 # no recorded vocabulary: partition unknown


def test_image_only_encoder_refuses_zero_shot_alone_and_skips_it_in_both(tmp_path):
    from cxr.core.errors import CxrError

    split = write_task(tmp_path, {"A": [0], "B": [1]})
    cfg = EvalConfig(checkpoint="stand-in", tasks=[f"csv:{split}"], methods=["zero-shot"], workers=0,
                     device="cpu")
    with pytest.raises(CxrError, match="zero-shot is impossible"):
        run_evaluation(cfg, encoder=handle(QuadrantEncoder(None)))
    cfg.methods, cfg.shots, cfg.seeds = ["zero-shot", "linear-probe"], [1, 2], 2
    result = run_evaluation(cfg, encoder=handle(QuadrantEncoder(None)))
    assert {r["method"] for r in result.rows} == {"linear-probe"}
    assert any("zero-shot skipped" in w for w in result.warnings)


def test_shipped_covid_description_composes_through_the_real_labeler():
    """The paper's example: COVID's description names lung opacity and consolidation in a DLILP head."""
    from cxr.evaluate.describe import LabelerDescribe
    from cxr.evaluate.tasks import get_task

    describe = LabelerDescribe()
    onto = describe.onto
    classes = list(get_task("covid").classes)
    head = onto.vocabulary("dlilp")
    ce = build_class_embeddings(QuadrantEncoder(head), classes, load_prompts("covid", classes), describe, onto)
    covid = ce.sources[classes.index("COVID")]
    assert covid.startswith("composed:") and "consolidation" in covid and "lung opacit" in covid
    assert ce.sources[classes.index("Normal")] == "prototype: no finding"
