"""User-facing errors: the CLI turns any ``CxrError`` into one message and a non-zero exit."""
from __future__ import annotations


class CxrError(Exception):
    """Bad input or configuration that the user can fix; the message says what and where."""


class InputError(CxrError):
    """An input file is missing, empty, malformed or lacks a required column."""


class OntologyError(CxrError):
    """The ontology YAML is invalid; ``problems`` lists every issue found, each with file and line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = f"{len(self.problems)} ontology problem(s):\n" if len(self.problems) > 1 else ""
        super().__init__(head + "\n".join(self.problems))
