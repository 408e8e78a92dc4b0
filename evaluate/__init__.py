"""Transfer evaluation of chest X-ray image encoders: zero-shot and K-shot linear probes.

Follows the protocol of "A Reality Check of Vision-Language Pre-training in Radiology" (Silva-Rodríguez,
Dolz, Ben Ayed, IPMI 2025): per-task ACA (balanced accuracy) as headline, base (seen in pre-training) vs
novel classes for zero-shot, K in {1, 2, 4, 8, 16} shots per class over 5 seeds for the linear probe.

Importing this package stays light (no torch, pandas or timm); the modules load them when used:

- ``evaluate.tasks``      benchmark registry; each task builds a patient-disjoint split from official files
- ``evaluate.splitfile``  the split CSV (path, label, split, patient_id) and its hash
- ``evaluate.encoders``   cxr exports, baselines and other labs' encoders behind one encoder protocol
                          (``evaluate.adapters``: one module per source, with its preprocessing)
- ``evaluate.methods``    registry of evaluation methods (zero-shot, linear-probe)
- ``evaluate.runner``     ``run_evaluation(config)`` -> rows of results
- ``evaluate.report``     results.csv, table.md, plot.png, config.yaml and ``compare``
"""
