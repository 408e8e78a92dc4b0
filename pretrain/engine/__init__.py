"""The pre-training engine: trainer, distributed plumbing, data loading, checkpoints, metrics, CLI.

Library entry point: ``pretrain.engine.trainer.train(cfg, resume=None, progress=None)``.
"""
