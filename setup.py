"""One import package, ``cxr``, while the repository keeps each layer's folder at its top level.

labeler/, ontology/, pretrain/ and evaluate/ are mapped under it (``cxr.labeler`` <- labeler/, ...);
cxr/ holds the root package: the plumbing (``cxr.core``), the dataset modules (``cxr.datasets``) and
the application layer (``cxr.cli``, ``cxr.demo``). Everything else is in pyproject.toml.
"""
from setuptools import find_namespace_packages, setup

MAPPED = ("labeler", "ontology", "pretrain", "evaluate")
# Namespace discovery, so data-only folders (ontology/labels, pretrain/configs, evaluate/prompts) ship too.
SKIP = ["*__pycache__*", "*.egg-info*"]

packages = ["cxr"] + [f"cxr.{p}" for p in find_namespace_packages("cxr", exclude=SKIP)]
package_dir = {"cxr": "cxr"}
for folder in MAPPED:
    package_dir[f"cxr.{folder}"] = folder
    packages += [f"cxr.{folder}"] + [f"cxr.{folder}.{p}" for p in find_namespace_packages(folder, exclude=SKIP)]

setup(packages=packages, package_dir=package_dir)
