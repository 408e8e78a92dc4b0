"""Pre-training data: source readers -> manifest -> ``cxr prepare`` cache -> ``CacheDataset``.

Importing this package stays light (no torch): import from the modules below.

- ``cxr.pretrain.data.sources``: ``@register_source`` readers (mimic-cxr, chexpert, padchest,
  chestxray14, manifest) returning ``SourceFrame``s in each dataset's own vocabulary.
- ``cxr.pretrain.data.labelspace.build_label_matrix``: one label space, ``not_annotated`` per row.
- ``cxr.pretrain.data.manifest``: the manifest format, reading and validation.
- ``cxr.pretrain.data.prepare.prepare``: the resumable, parallel image cache writer.
- ``cxr.pretrain.data.dataset.CacheDataset``: what the trainer reads.
"""
