"""Reading a YAML mapping from a user-editable file, with one kind of message for every failure.

Configs, prompt files and class-name maps are all edited by hand; each must fail with the file named and
the reason, never with a traceback from the YAML parser. Always the safe loader.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cxr.core.errors import CxrError, InputError


def read_yaml_mapping(path: str | Path, error: type[CxrError] = InputError, what: str = "file",
                      expected: str = "a mapping at top level") -> dict[str, Any]:
    """The file's top-level mapping ({} for an empty file); ``error`` names the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read {what} ({exc})") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected {expected}")
    return raw
