"""One module per public chest X-ray dataset: its official file layout, path templates, label columns and
patient ids, with its citation and download page. Pre-training sources and evaluation tasks both read
the official files through these modules (the layer beside the ontology: imports only ``cxr.core``,
numpy, pandas and PIL).

Each dataset module registers its canonical name (``NAME``); ``cxr.datasets.catalog`` imports them all and
answers which names are registered. This package imports nothing itself, so ``cxr.datasets.images`` and
``cxr.datasets.patients`` stay light (no pandas) in ``cxr prepare`` worker processes.
"""
