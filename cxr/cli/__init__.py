"""The application layer: the ``cxr`` command (``cxr.cli.main:app``) and one module of commands per stage."""
