"""Source-dataset readers, one module each; importing this package fills ``SOURCES``."""
from cxr.pretrain.data.sources.base import SOURCES, SourceFrame, read_source, register_source, source_options
from cxr.pretrain.data.sources import chestxray14, chexpert, generic, mimic, padchest  # noqa: F401  (registration)

__all__ = ["SOURCES", "SourceFrame", "read_source", "register_source", "source_options"]
