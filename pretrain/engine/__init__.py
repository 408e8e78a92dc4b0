"""The pre-training engine. One optimizer step reads in three modules: ``loader`` (batches), ``step`` (forward,
objective, backward, optimizer) and ``trainer`` (the loop). Beside them: ``validation``, ``data`` (the run's
datasets), ``run`` (the run folder: config, metrics), ``checkpoint`` and ``distributed`` (torchrun plumbing).

Library entry point: ``pretrain.engine.trainer.train(cfg, resume=None, progress=None)``.
"""
