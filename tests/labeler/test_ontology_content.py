"""Content of the shipped ontology: PadChest coverage, tree parents, CUIs, projections, validation.

The facts embedded here (label names, parents, CUIs, target vocabularies) come from the PadChest tree
(trees_code.txt), the 2019 PadChest label vocabulary, the DLILP paper's 85 categories, CheXpert and NIH
ChestX-ray14; tests never read the development data folder.
"""
from __future__ import annotations

import shutil
import textwrap

import pytest

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import check_ontology, default_ontology_dir, load_ontology

# label: tree parent(s); 'ROOT' = a top-level label; '-' = in the 2019 vocabulary but not in the published
# tree (any parent is accepted)
PADCHEST_193 = """\
COPD signs: differential diagnosis
Chilaiditi sign: radiological finding
NSG tube: radiological finding
abnormal foreign body: radiological finding
abscess: radiological finding
adenopathy: radiological finding; hilar enlargement
air bronchogram: consolidation; alveolar pattern
air fluid level: radiological finding
air trapping: radiological finding
alveolar pattern: infiltrates
aortic aneurysm: radiological finding; mediastinal enlargement
aortic atheromatosis: radiological finding
aortic button enlargement: aortic elongation
aortic elongation: radiological finding
aortic endoprosthesis: endoprosthesis
apical pleural thickening: pleural thickening
artificial aortic heart valve: artificial heart valve
artificial heart valve: radiological finding
artificial mitral heart valve: artificial heart valve
asbestosis signs: pulmonary fibrosis
ascendent aortic elongation: aortic elongation; mediastinal enlargement
atelectasis: radiological finding
atelectasis basal: atelectasis
atypical pneumonia: pneumonia
axial hyperostosis: radiological finding
azygoesophageal recess shift: radiological finding
azygos lobe: radiological finding
blastic bone lesion: sclerotic bone lesion
bone cement: surgery
bone metastasis: differential diagnosis
breast mass: mass
bronchiectasis: radiological finding
bronchovascular markings: radiological finding
bullas: radiological finding
calcified adenopathy: calcified densities; adenopathy
calcified densities: radiological finding
calcified fibroadenoma: calcified densities
calcified granuloma: calcified densities; granuloma
calcified mediastinal adenopathy: calcified adenopathy
calcified pleural plaques: calcified densities; pleural plaques
calcified pleural thickening: calcified densities; pleural thickening
callus rib fracture: rib fracture
cardiomegaly: radiological finding
catheter: radiological finding
cavitation: radiological finding
central vascular redistribution: vascular redistribution
central venous catheter: catheter
central venous catheter via jugular vein: central venous catheter
central venous catheter via subclavian vein: central venous catheter
central venous catheter via umbilical vein: central venous catheter
cervical rib: thoracic cage deformation
chest drain tube: radiological finding
chronic changes: radiological finding
clavicle fracture: fracture
consolidation: alveolar pattern
costochondral junction hypertrophy: radiological finding
costophrenic angle blunting: radiological finding
cyst: radiological finding
dai: electrical device
descendent aortic elongation: aortic elongation; mediastinal enlargement
dextrocardia: radiological finding
diaphragmatic eventration: radiological finding
double J stent: radiological finding
dual chamber device: electrical device
electrical device: radiological finding
emphysema: differential diagnosis
empyema: pleural effusion
end on vessel: radiological finding; pseudonodule
endoprosthesis: prosthesis
endotracheal tube: radiological finding
esophagic dilatation: radiological finding
exclude: ROOT
external foreign body: radiological finding
fibrotic band: radiological finding
fissure thickening: radiological finding
flattened diaphragm: radiological finding
fracture: radiological finding
gastrostomy tube: radiological finding
goiter: superior mediastinal enlargement
granuloma: radiological finding
ground glass pattern: interstitial pattern
gynecomastia: radiological finding
heart insufficiency: differential diagnosis
heart valve calcified: calcified densities
hemidiaphragm elevation: radiological finding
hiatal hernia: mediastinal enlargement; radiological finding
hilar congestion: radiological finding
hilar enlargement: radiological finding
humeral fracture: fracture
humeral prosthesis: prosthesis
hydropneumothorax: pneumothorax; pleural effusion
hyperinflated lung: radiological finding
hypoexpansion: radiological finding
hypoexpansion basal: -
increased density: radiological finding
infiltrates: radiological finding
interstitial pattern: infiltrates
kerley lines: radiological finding
kyphosis: thoracic cage deformation
laminar atelectasis: atelectasis
lepidic adenocarcinoma: differential diagnosis
lipomatosis: -
lobar atelectasis: atelectasis
loculated fissural effusion: fissure thickening; pleural effusion
loculated pleural effusion: pleural effusion
lung metastasis: differential diagnosis
lung vascular paucity: radiological finding
lymphangitis carcinomatosa: differential diagnosis
lytic bone lesion: radiological finding
major fissure thickening: fissure thickening
mammary prosthesis: prosthesis
mass: radiological finding
mastectomy: surgery breast
mediastinal enlargement: radiological finding
mediastinal mass: mediastinal enlargement; mass
mediastinal shift: radiological finding
mediastinic lipomatosis: radiological finding
metal: surgery
miliary opacities: interstitial pattern
minor fissure thickening: fissure thickening
multiple nodules: nodule
nephrostomy tube: radiological finding
nipple shadow: pseudonodule
nodule: radiological finding
non axial articular degenerative changes: radiological finding
normal: ROOT
obesity: radiological finding
osteopenia: radiological finding
osteoporosis: radiological finding
osteosynthesis material: metal
pacemaker: electrical device
pectum carinatum: thoracic cage deformation
pectum excavatum: thoracic cage deformation
pericardial effusion: radiological finding
pleural effusion: radiological finding
pleural mass: radiological finding; mass
pleural plaques: radiological finding
pleural thickening: radiological finding
pneumomediastinum: radiological finding
pneumonia: differential diagnosis
pneumoperitoneo: radiological finding
pneumothorax: radiological finding
post radiotherapy changes: pulmonary fibrosis
prosthesis: surgery
pseudonodule: radiological finding
pulmonary artery enlargement: vascular hilar enlargement
pulmonary artery hypertension: pulmonary hypertension
pulmonary edema: differential diagnosis
pulmonary fibrosis: differential diagnosis
pulmonary hypertension: differential diagnosis
pulmonary mass: mass
pulmonary venous hypertension: pulmonary hypertension
reservoir central venous catheter: central venous catheter
respiratory distress: differential diagnosis
reticular interstitial pattern: interstitial pattern
reticulonodular interstitial pattern: interstitial pattern
rib fracture: fracture
right sided aortic arch: radiological finding
round atelectasis: atelectasis
sclerotic bone lesion: radiological finding
scoliosis: thoracic cage deformation
segmental atelectasis: atelectasis
single chamber device: electrical device
soft tissue mass: mass
sternoclavicular junction hypertrophy: radiological finding
sternotomy: metal
subacromial space narrowing: radiological finding
subcutaneous emphysema: radiological finding
suboptimal study: ROOT
superior mediastinal enlargement: mediastinal enlargement
supra aortic elongation: aortic elongation; superior mediastinal enlargement
surgery: radiological finding
surgery breast: surgery
surgery heart: surgery
surgery humeral: surgery
surgery lung: surgery
surgery neck: surgery
suture material: metal
thoracic cage deformation: radiological finding
total atelectasis: atelectasis
tracheal shift: radiological finding
tracheostomy tube: radiological finding
tuberculosis: differential diagnosis
tuberculosis sequelae: tuberculosis
unchanged: radiological finding
vascular hilar enlargement: hilar enlargement
vascular redistribution: radiological finding
ventriculoperitoneal drain tube: radiological finding
vertebral anterior compression: vertebral compression
vertebral compression: vertebral degenerative changes
vertebral degenerative changes: radiological finding
vertebral fracture: fracture
volume loss: radiological finding
"""

# (label, UMLS CUI, one tree parent) from padchest_tree_nodes
CUI_FACTS = [
    ("pleural effusion", "C2073625", "radiological finding"),
    ("cardiomegaly", "C0018800", "radiological finding"),
    ("calcified granuloma", "C0333404", "granuloma"),
    ("atelectasis basal", "C0746053", "atelectasis"),
    ("hydropneumothorax", "C0020303", "pneumothorax"),
    ("consolidation", "C0521530", "alveolar pattern"),
    ("pacemaker", "C0030163", "electrical device"),
    ("callus rib fracture", "C0006767", "rib fracture"),
    ("goiter", "C0018021", "superior mediastinal enlargement"),
    ("COPD signs", "C0024117", "differential diagnosis"),
    ("post radiotherapy changes", "C1320687", "pulmonary fibrosis"),
    ("descendent aortic elongation", "C4476542", "mediastinal enlargement"),
    ("sternotomy", "C0185792", "metal"),
]

DLILP_85 = [
    'copd signs', 'adenopathy', 'air trapping', 'alveolar pattern', 'aortic atheromatosis',
    'aortic elongation', 'apical pleural thickening', 'atelectasis', 'bronchiectasis',
    'bronchovascular markings', 'bullas', 'calcified adenopathy', 'calcified densities',
    'calcified granuloma', 'calcified pleural thickening', 'callus rib fracture', 'cardiomegaly',
    'cavitation', 'chronic changes', 'consolidation', 'costophrenic angle blunting',
    'descendent aortic elongation', 'diaphragmatic eventration', 'emphysema', 'fibrotic band',
    'flattened diaphragm', 'fracture', 'goiter', 'granuloma', 'gynecomastia',
    'heart insufficiency', 'heart valve', 'hemidiaphragm elevation', 'hiatal hernia',
    'hilar congestion', 'hilar enlargement', 'hyperinflated lung', 'hypoexpansion',
    'increased density', 'infiltrates', 'interstitial pattern', 'kyphosis', 'laminar atelectasis',
    'lobar atelectasis', 'lung opacities', 'mammary prosthesis', 'mastectomy', 'metal',
    'minor fissure thickening', 'nipple shadow', 'no finding', 'nodule', 'osteopenia',
    'osteosynthesis material', 'pacemaker', 'pleural effusion', 'pleural thickening', 'pneumonia',
    'pneumothorax', 'pseudonodule', 'pulmonary edema', 'pulmonary fibrosis', 'pulmonary mass',
    'reticular interstitial pattern', 'rib fracture', 'sclerotic bone lesion', 'scoliosis',
    'sternotomy', 'suboptimal study', 'superior mediastinal enlargement', 'support devices',
    'supra aortic elongation', 'suture material', 'tracheal shift', 'tuberculosis',
    'tuberculosis sequelae', 'volume loss', 'vascular hilar enlargement',
    'vertebral anterior compression', 'vertebral degenerative changes',
    'enlarged cardiomediastinum', 'lung lesion', 'lung opacity', 'edema', 'pleural other',
]

CHEXPERT_14 = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion",
               "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
               "Pleural Other", "Fracture", "Support Devices"]

CHESTXRAY14 = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
               "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]

# abstract roots and labels English reports cannot state on their own
NO_SYNONYMS = {"radiological finding", "differential diagnosis", "exclude", "COVID 19 uncertain"}


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def _tree():
    for line in PADCHEST_193.strip().splitlines():
        name, parents = line.split(": ")
        yield name, [] if parents == "-" else parents.split("; ")


def test_every_padchest_label_is_present_with_its_tree_parents(onto):
    rows = list(_tree())
    assert len(rows) == 193
    for name, parents in rows:
        assert name in onto, name
        if parents == ["ROOT"]:
            assert onto.parents(name) == [], name
        elif parents:
            assert set(parents) <= set(onto.parents(name)), (name, parents, onto.parents(name))
        else:
            assert onto.parents(name), f"{name} must hang somewhere in the tree"


def test_tree_roots_and_intermediate_nodes(onto):
    for root in ("normal", "exclude", "suboptimal study", "radiological finding", "differential diagnosis"):
        assert onto.parents(root) == []
    for inner in ("hemothorax", "viral pneumonia", "COVID 19"):
        assert inner in onto
    assert onto["normal"].kind == "top"
    assert onto["pneumonia"].kind == "diagnosis"
    assert onto["pleural effusion"].kind == "finding"


@pytest.mark.parametrize("name,cui,parent", CUI_FACTS)
def test_cuis_and_parents_match_the_padchest_tree(onto, name, cui, parent):
    assert onto[name].cui == cui
    assert parent in onto.parents(name)


def test_two_parent_labels(onto):
    assert set(onto.parents("hydropneumothorax")) == {"pneumothorax", "pleural effusion"}
    assert set(onto.parents("calcified granuloma")) == {"calcified densities", "granuloma"}
    assert "radiological finding" in onto.ancestors("hydropneumothorax")
    assert "hydropneumothorax" in onto.descendants("pleural effusion")


def test_labels_without_synonyms_are_few_and_known(onto):
    empty = {n for n, lab in onto.labels.items() if not lab.synonyms}
    assert empty == NO_SYNONYMS


def test_every_label_has_a_one_sentence_description(onto):
    for name, lab in onto.labels.items():
        d = lab.description
        assert d and d[0].isupper() and d.endswith("."), name
        assert "\n" not in d and d.count(". ") == 0, name


def test_projection_vocabularies_are_exact(onto):
    assert onto.vocabulary("dlilp") == DLILP_85
    assert onto.vocabulary("chexpert") == CHEXPERT_14
    assert onto.vocabulary("chestxray14") == CHESTXRAY14 + ["normal"]


def test_dlilp_sources(onto):
    targets = onto.projections["dlilp"].targets
    assert targets["no finding"] == ("normal",)
    assert targets["copd signs"] == ("COPD signs",)
    devices = {n for n in onto.labels if {"tube", "catheter", "device"} & set(n.split())}
    assert devices <= set(targets["support devices"])
    # a PadChest-named category takes at least the label of that name
    names = {n.lower(): n for n in onto.labels}
    for cat, srcs in targets.items():
        if cat in names:
            assert names[cat] in srcs, cat


# --- behaviour of the vocabulary through the engine --------------------------------------------------
CASES = [
    ("The heart is mildly enlarged.", {"cardiomegaly": 1}),
    # CheXpert: a heart size at the upper limits of normal is not a cardiomegaly (0)
    ("Heart size is upper limits of normal.", {"cardiomegaly": 0}),
    ("The heart is not enlarged.", {"cardiomegaly": 0}),
    ("Small pericardial effusion.", {"pericardial effusion": 1, "pleural effusion": None}),
    ("Small left pleural effusion.", {"pleural effusion": 1}),
    ("Low lung volumes with bronchovascular crowding.", {"hypoexpansion": 1, "bronchovascular markings": 1}),
    ("The lungs are hyperexpanded.", {"hyperinflated lung": 1}),
    ("The aorta is tortuous and calcified.", {"aortic elongation": 1, "aortic atheromatosis": 1}),
    ("Calcified granuloma in the right upper lobe.", {"calcified granuloma": 1, "granuloma": 1,
                                                      "calcified densities": 1}),
    ("An 8 mm calcified nodule in the left midlung.", {"nodule": 1, "calcified densities": 1}),
    ("Calcified right hilar lymph nodes.", {"calcified adenopathy": 1}),
    ("Bibasilar subsegmental atelectasis.", {"atelectasis basal": 1, "segmental atelectasis": 1, "atelectasis": 1}),
    ("Degenerative changes of the thoracic spine.", {"vertebral degenerative changes": 1}),
    ("Degenerative changes of the right shoulder.", {"non axial articular degenerative changes": 1,
                                                     "vertebral degenerative changes": None}),
    ("Subcutaneous emphysema in the left chest wall.", {"subcutaneous emphysema": 1, "emphysema": None}),
    ("Bullous emphysema.", {"bullas": 1, "emphysema": 1}),
    ("Blunting of the left costophrenic angle.", {"costophrenic angle blunting": 1}),
    ("Healed right rib fractures.", {"callus rib fracture": 1, "rib fracture": 1, "fracture": 1}),
    ("Right IJ central venous catheter tip in the SVC.", {"central venous catheter via jugular vein": 1}),
    ("Left chest wall pacemaker with leads in the right atrium and ventricle.", {"pacemaker": 1}),
    ("Median sternotomy wires.", {"sternotomy": 1}),
    ("Surgical clips in the left axilla.", {"suture material": 1}),
    ("Endotracheal tube 4 cm above the carina; NG tube in the stomach.", {"endotracheal tube": 1,
                                                                          "NSG tube": 1}),
    ("Elevation of the right hemidiaphragm.", {"hemidiaphragm elevation": 1}),
    ("Patchy airspace disease in the right lower lobe.", {"alveolar pattern": 1, "infiltrates": 1}),
    ("Study limited by patient rotation.", {"suboptimal study": 1}),
]


@pytest.fixture(scope="module")
def labeler(onto):
    return Labeler(onto)


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_radiology_phrases(labeler, text, expected):
    values = labeler.label("FINDINGS: " + text).values
    for name, want in expected.items():
        assert values.get(name) == want, (name, values)


# --- the validator on a broken copy ------------------------------------------------------------------
BROKEN = textwrap.dedent("""\
    kind: finding
    labels:
      - name: zz cycle a
        parents: [zz cycle b]
        synonyms: [zzcyclea]
      - name: zz cycle b
        parents: [zz cycle a]
        synonyms: [zzcycleb]
      - name: zz orphan
        parents: [no such parent]
        synonyms: [zzorphan]
      - name: zz bad pattern
        parents: [radiological finding]
        synonyms: ["(unclosed"]
      - name: cardiomegaly
        parents: [radiological finding]
        synonyms: [zzduplicate]
      - name: zz thief
        parents: [radiological finding]
        synonyms: [pleural fluid]
""")


def test_validator_names_file_line_and_label(tmp_path):
    root = tmp_path / "onto"
    shutil.copytree(default_ontology_dir(), root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    assert check_ontology(root) == []
    (root / "labels" / "zz_broken.yaml").write_text(BROKEN)
    problems = check_ontology(root)
    text = "\n".join(problems)

    def problem(fragment):
        hits = [p for p in problems if fragment in p]
        assert hits, f"no problem mentions {fragment!r}:\n{text}"
        return hits[0]

    assert "zz_broken.yaml:3" in problem("parent cycle") or "zz_broken.yaml:6" in problem("parent cycle")
    assert "zz_broken.yaml:9" in problem("unknown parent 'no such parent'")
    assert "zz orphan" in problem("unknown parent")
    bad = problem("(unclosed")
    assert "zz_broken.yaml:12" in bad and "zz bad pattern" in bad
    dup = problem("duplicate label 'cardiomegaly'")
    assert "zz_broken.yaml:15" in dup and "heart_mediastinum.yaml" in dup
    thief = problem("'pleural fluid'")
    assert "zz_broken.yaml:18" in thief and "zz thief" in thief and "pleural effusion" in thief
