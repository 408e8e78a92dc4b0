"""Synthetic phantoms: deterministic, realistic bookkeeping, and findings visible in the pixels."""
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from cxr.core.errors import InputError
from cxr.pretrain.synthetic import ALL_FINDINGS, DEFAULT_FINDINGS, NOVEL_FINDING, SynthConfig, generate
from tests.pretrain.data_helpers import FIXTURE_ONTOLOGY


@pytest.fixture(scope="module")
def corpus():
    return generate(600, SynthConfig(size=64, seed=0, findings=ALL_FINDINGS))


def test_deterministic_and_prefix_stable():
    a = generate(40, SynthConfig(size=48, seed=7))
    b = generate(40, SynthConfig(size=48, seed=7))
    np.testing.assert_array_equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.manifest, b.manifest)
    longer = generate(60, SynthConfig(size=48, seed=7))
    np.testing.assert_array_equal(longer.images[:40], a.images)      # n does not reshuffle earlier images
    assert not np.array_equal(generate(40, SynthConfig(size=48, seed=8)).images, a.images)


def test_bookkeeping(corpus):
    m = corpus.manifest
    assert m["patient_id"].nunique() < len(m) and m.groupby("patient_id").size().max() > 1
    assert set(m["view"]) == {"PA", "AP"} and m["study_id"].is_unique and m["path"].is_unique
    for finding in ALL_FINDINGS:
        assert 0.04 < m[finding].mean() < 0.4, finding
    # Devices persist on a patient's follow-up studies.
    assert (m.groupby("patient_id")["pacemaker"].nunique() == 1).all()
    assert NOVEL_FINDING not in DEFAULT_FINDINGS
    assert NOVEL_FINDING not in generate(30, SynthConfig(size=48)).manifest.columns


def test_reports_match_labels(corpus):
    m = corpus.manifest
    keyword = {"cardiomegaly": r"cardiomegaly|heart .*enlarged|cardiac silhouette is enlarged",
               "pleural effusion": r"pleural effusion", "pneumothorax": r"pneumothorax", "nodule": r"nodule",
               "consolidation": r"consolidation", "atelectasis": r"atelectasis", "pacemaker": r"pacemaker",
               "central venous catheter": r"central venous catheter", "ground glass pattern": r"ground-glass"}
    negation = {"pleural effusion": r"No (?:[a-z ,]+ or )?pleural effusion|No pleural effusion(?: or)",
                "pneumothorax": r"No (?:[a-z ,]+ or )?pneumothorax", "cardiomegaly": r"Heart size is normal"}
    for _, row in m.iterrows():
        report = row["report"]
        assert report.startswith("FINDINGS: ") and "\n\nIMPRESSION: " in report
        for finding in ALL_FINDINGS:
            said = re.search(keyword[finding], report, re.IGNORECASE) is not None
            if row[finding] == 1:
                assert said, (finding, report)
            if finding in negation and re.search(negation[finding], report):
                assert row[finding] == 0, (finding, report)
    hedged = m[m["meta_hedged"] != ""]
    assert 0.05 < len(hedged) / len(m) and hedged["report"].str.contains("Possible|cannot be excluded|may represent|possibly").all()
    assert m["report"].str.contains("No acute").any() and m["report"].str.contains(r"1\. .* 2\. ").any()


def test_names_are_ontology_labels():
    from cxr.labeler.ontology import load_ontology
    onto = load_ontology()
    assert [f for f in ALL_FINDINGS if f not in onto] == []


def _tophat_features(images: np.ndarray) -> np.ndarray:
    """Simple statistics: 8×8 block means, and block maxima of (image - local mean) for small blobs."""
    x = images.astype(np.float32) / 255
    n, s, _ = x.shape
    k, w = 3, 7
    c = np.pad(np.cumsum(np.cumsum(np.pad(x, ((0, 0), (k, k), (k, k)), mode="edge"), 1), 2), ((0, 0), (1, 0), (1, 0)))
    local = (c[:, w:, w:] - c[:, :-w, w:] - c[:, w:, :-w] + c[:, :-w, :-w]) / (w * w)
    blocks = lambda a, op: op(a.reshape(n, s // 8, 8, s // 8, 8), axis=(2, 4)).reshape(n, -1)
    f = np.concatenate([blocks(x, np.mean), blocks(x - local, np.max)], axis=1)
    return (f - f.mean(0)) / (f.std(0) + 1e-6)


def test_findings_are_separable_from_pixels(corpus):
    features = _tophat_features(corpus.images)
    patients = corpus.manifest["patient_id"].to_numpy()
    test = np.isin(patients, np.unique(patients)[::3])             # held-out patients
    aucs = {}
    for finding in ALL_FINDINGS:
        y = corpus.manifest[finding].to_numpy()
        clf = LogisticRegression(C=0.1, max_iter=200).fit(features[~test], y[~test])
        aucs[finding] = roc_auc_score(y[test], clf.predict_proba(features[test])[:, 1])
    assert min(aucs.values()) > 0.65, aucs
    assert np.mean(list(aucs.values())) > 0.8, aucs
    # And the label is what drives it: shuffled labels are at chance.
    y = np.random.default_rng(0).permutation(corpus.manifest["cardiomegaly"].to_numpy())
    clf = LogisticRegression(C=0.1, max_iter=200).fit(features[~test], y[~test])
    assert abs(roc_auc_score(y[test], clf.predict_proba(features[test])[:, 1]) - 0.5) < 0.15


def test_bad_config_is_an_input_error():
    with pytest.raises(InputError, match="unknown phantom finding"):
        generate(5, SynthConfig(findings=("cardiomegally",)))
    with pytest.raises(InputError, match="at least 32"):
        generate(5, SynthConfig(size=16))


def test_cli_synth_then_prepare(tmp_path):
    from cxr.cli.main import app
    from cxr.pretrain.data.dataset import CacheDataset

    runner = CliRunner()
    out = tmp_path / "synth"
    result = runner.invoke(app, ["synth", "-o", str(out), "--n", "20", "--size", "48", "--novel", "-q"])
    assert result.exit_code == 0, result.output
    manifest = pd.read_csv(out / "manifest.csv")
    assert len(list((out / "images").glob("*.png"))) == 20 and NOVEL_FINDING in manifest.columns
    assert pd.read_csv(out / "reports.csv").columns.tolist() == ["study_id", "report"]
    result = runner.invoke(app, ["prepare", str(out / "manifest.csv"), "-o", str(tmp_path / "cache"), "--size", "48",
                                 "--workers", "1", "--ontology", str(FIXTURE_ONTOLOGY), "-q"])
    assert result.exit_code == 0, result.output
    ds = CacheDataset(tmp_path / "cache", label_names=list(DEFAULT_FINDINGS))
    item = ds[0]
    assert item["has_report"] and item["text"] and item["image"].shape == (1, 48, 48)
    from PIL import Image
    np.testing.assert_array_equal(item["image"][0].numpy(), np.asarray(Image.open(out / manifest["path"][ds._rows[0]])))


def test_toy_dataset_is_a_view_on_phantoms_with_the_cache_item_contract():
    from cxr.pretrain.data.text import split_sentences
    from cxr.pretrain.synthetic.toy import TOY_FINDINGS, toy_config, toy_split

    train, val = toy_split(30, 32, 0.2, seed=4)
    assert (len(train), len(val)) == (24, 6) and train.label_names == list(TOY_FINDINGS)
    corpus = generate(30, toy_config(32, seed=4))
    for ds, offset in ((train, 0), (val, 24)):
        for i in range(len(ds)):
            item, row = ds[i], corpus.manifest.iloc[offset + i]
            np.testing.assert_array_equal(item["image"][0].numpy(), corpus.images[offset + i])
            truth = row[list(TOY_FINDINGS)].to_numpy(float)
            hedged = [TOY_FINDINGS.index(f) for f in filter(None, row["meta_hedged"].split("|"))]
            truth[hedged] = -1
            if (offset + i) % 3 == 2:   # a label-only source: last label not annotated, a label prompt
                assert not item["has_report"] and not item["annotated"][-1] and np.isnan(item["labels"][-1])
                np.testing.assert_array_equal(item["labels"][:-1].numpy(), truth[:-1])
            else:
                assert item["has_report"] and item["annotated"].all() and item["text"] in split_sentences(row["report"])
                np.testing.assert_array_equal(item["labels"].numpy(), truth)
    texts = [train[0]["text"]]
    for epoch in range(1, 6):
        train.set_epoch(epoch)
        texts.append(train[0]["text"])
    assert len(set(texts)) > 1   # another sentence of the same report in another epoch
