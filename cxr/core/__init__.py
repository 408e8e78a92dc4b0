"""Shared plumbing for every layer: errors, atomic writes, progress, provenance, registries, YAML reading.

The bottom layer: imports nothing else of cxr, and neither torch nor pandas.
"""
