"""cxr pretrain: image-encoder pre-training on chest X-rays (unimodal, CLIP, UniCL, DLILP).

``pretrain.data`` turns dataset manifests into a memory-mapped image cache and reads it back for the
trainer; ``pretrain.synthetic`` draws phantom radiographs with reports for tests and the demo.
Importing this package stays light (no torch): ``cxr label`` and ``cxr prepare`` start fast.
"""
