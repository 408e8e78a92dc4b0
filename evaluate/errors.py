"""Errors the user can fix; the CLI prints each as one message and exits non-zero."""
from __future__ import annotations

from cxr.core.errors import CxrError, InputError

__all__ = ["CxrError", "InputError", "ProtocolCountError", "StaleCacheError", "WeightsMismatchError",
           "ShotsError"]


class ProtocolCountError(CxrError):
    """The official files cannot supply the protocol's per-class counts."""


class StaleCacheError(CxrError):
    """Cached features were computed from a split file whose content has changed since."""


class WeightsMismatchError(CxrError):
    """A weights file does not fit the requested architecture."""


class ShotsError(CxrError):
    """K is larger than what the train pool of some class can supply."""
