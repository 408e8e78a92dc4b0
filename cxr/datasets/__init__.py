"""One module per public chest X-ray dataset: its official file layout, path templates, label columns and
patient ids, with its citation and download page. Pre-training sources and evaluation tasks both read
the official files through these modules (the layer beside the ontology: imports only ``cxr.core``).
"""
