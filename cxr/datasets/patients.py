"""Patient ids compared across datasets and stages (pre-training exclusion, evaluation leakage checks).

Datasets spell the same id differently: MIMIC folders say ``p10000032`` where its CSVs say ``10000032``,
NIH pads ``00001280``. Every comparison of patient ids in cxr goes through ``normalise_patient_id``, so an
exclusion list written one way still removes the patient stored the other way.

An export carries its pre-training patients as salted tokens (``PatientTokens``), so evaluation can
check a task's patients against them without the export shipping the ids.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cxr.core.errors import InputError

_NUMERIC = re.compile(r"^p?0*(\d+)$", re.IGNORECASE)


def normalise_patient_id(value: object) -> str:
    text = str(value).strip()
    m = _NUMERIC.match(text)
    if m:
        return m.group(1) or "0"
    return text.lower()


def patient_digest(ids: Iterable[object]) -> str:
    """sha256 of the distinct normalised ids, sorted, one per line: two lists hold the same patients
    exactly when their digests are equal, however each dataset spells the ids."""
    unique = sorted({normalise_patient_id(i) for i in ids if str(i).strip()})
    return hashlib.sha256("\n".join(unique).encode("utf-8")).hexdigest()


# --- pre-training patients, shipped with an export without their ids ------------------------------
#: an export's list of pre-training patients (``cxr.pretrain.export`` writes it, evaluation reads it)
PATIENTS_FORMAT, PATIENTS_VERSION = "cxr-patients", 1
#: 16 hex characters = 64 bits: the chance that any of 1e5 evaluation patients falsely matches one of
#: 1e6 pre-training patients is about 1e11 / 2**64, 5e-9
TOKEN_CHARS = 16


def patient_token(value: object, salt: str) -> str:
    """A salted hash of the normalised id: equal for the same patient however it is spelt, and the
    ids themselves are not written down. Not anonymisation: ids from a small numeric range can be
    recovered by trying them all with the salt."""
    text = f"{salt}\t{normalise_patient_id(value)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:TOKEN_CHARS]


@dataclass
class PatientTokens:
    """Pre-training patients as salted tokens, per source (a registered dataset name or the user's)."""
    salt: str
    by_source: dict[str, set[str]]

    @classmethod
    def from_ids(cls, sources: Iterable[object], ids: Iterable[object], salt: str | None = None) -> "PatientTokens":
        salt = salt or secrets.token_hex(16)
        by_source: dict[str, set[str]] = {}
        for source, pid in zip(sources, ids):
            if pid is not None and str(pid).strip():
                by_source.setdefault(str(source), set()).add(patient_token(pid, salt))
        return cls(salt, by_source)

    def to_json(self) -> str:
        return json.dumps({"format": PATIENTS_FORMAT, "version": PATIENTS_VERSION, "salt": self.salt,
                           "token": f"sha256(salt + TAB + normalised id)[:{TOKEN_CHARS}]",
                           "sources": {s: sorted(t) for s, t in sorted(self.by_source.items())}})

    @classmethod
    def read(cls, path: str | Path) -> "PatientTokens":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != PATIENTS_FORMAT or data.get("version") != PATIENTS_VERSION:
                raise ValueError(f"not a {PATIENTS_FORMAT} v{PATIENTS_VERSION} file")
            return cls(str(data["salt"]), {str(s): set(t) for s, t in data["sources"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}: unreadable pre-training patient list ({exc})") from None

    def matches(self, ids: Iterable[object], source: str | None = None) -> list[str]:
        """The ``ids`` (as given) that are pre-training patients: of ``source`` only when given (ids of
        two datasets may collide by chance), else of any source."""
        pool = self.by_source.get(source, set()) if source else set().union(*self.by_source.values())
        return [str(i) for i in ids if str(i).strip() and patient_token(i, self.salt) in pool]
