"""Balanced, patient-disjoint train/test sampling from a task's candidate images.

Candidates: one row per eligible image with ``path, label, patient_id, pool``; ``pool`` is ``train`` or
``test`` where the dataset's official split fixes the side, else ``any``. A patient goes wholly to one side
so no person's images leak from the linear probe's train pool into the test set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxr.evaluate.errors import ProtocolCountError


@dataclass(frozen=True)
class Quota:
    train_per_class: int
    test_per_class: int

    def __post_init__(self) -> None:
        if self.train_per_class < 1 or self.test_per_class < 1:
            raise ProtocolCountError("--train-per-class and --test-per-class must be at least 1")


def balanced_patient_split(cands, classes: list[str], quota: Quota, seed: int, task: str):
    """Draw ``quota`` images per class and side; deterministic for a seed, whatever the input row order."""
    _check_available(cands, classes, quota, task)
    cands = cands.sort_values(["patient_id", "path"], kind="mergesort").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    patients = cands["patient_id"].unique()
    order = rng.permutation(len(patients))
    groups = cands.groupby("patient_id", sort=False).indices
    chosen = _greedy_assign([groups[patients[i]] for i in order], cands, quota, rng)
    _check_filled(chosen, cands, classes, quota, task)
    out = cands.loc[list(chosen)].assign(split=[chosen[i] for i in chosen])
    out["split"] = out["split"].astype(str)
    rank = {c: i for i, c in enumerate(classes)}
    out = out.assign(_s=out["split"].map({"train": 0, "test": 1}), _c=out["label"].map(rank))
    out = out.sort_values(["_s", "_c", "path"], kind="mergesort")
    return out[["path", "label", "split", "patient_id"]].reset_index(drop=True)


def _greedy_assign(patient_rows, cands, quota: Quota, rng) -> dict[int, str]:
    """Fill test quotas first, then train; a patient's side is fixed by its first chosen image."""
    labels, pools = cands["label"].to_numpy(), cands["pool"].to_numpy()
    filled = {"train": {}, "test": {}}
    limit = {"train": quota.train_per_class, "test": quota.test_per_class}
    chosen: dict[int, str] = {}
    total = (quota.train_per_class + quota.test_per_class) * len(set(labels))
    for rows in patient_rows:
        if len(chosen) >= total:
            break  # every quota is full; the remaining patients cannot change the result
        side_of_patient = None
        for i in rng.permutation(rows):
            for side in ("test", "train"):
                if side_of_patient not in (None, side) or pools[i] not in (side, "any"):
                    continue
                if filled[side].get(labels[i], 0) < limit[side]:
                    filled[side][labels[i]] = filled[side].get(labels[i], 0) + 1
                    chosen[int(i)] = side_of_patient = side
                    break
    return chosen


def _availability(cands, classes: list[str]) -> list[str]:
    lines = []
    for c in classes:
        sub = cands[cands["label"] == c]
        pools = sub["pool"].value_counts()
        detail = "" if set(pools.index) <= {"any"} else \
            f" (official train {int(pools.get('train', 0))}, test {int(pools.get('test', 0))})"
        lines.append(f"  {c}: {len(sub)} images from {sub['patient_id'].nunique()} patients{detail}")
    return lines


def _suggestion(cands, classes: list[str], quota: Quota) -> str:
    """Smaller counts in the protocol's train:test ratio that the files can supply."""
    fractions = []
    for c in classes:
        sub = cands[cands["label"] == c]
        fractions.append(sub["patient_id"].nunique() / (quota.train_per_class + quota.test_per_class))
    f = min(fractions + [1.0])
    test, train = max(1, int(quota.test_per_class * f)), max(1, int(quota.train_per_class * f))
    return f"--test-per-class {test} --train-per-class {train}"


def _protocol_error(cands, classes, quota, task, headline) -> ProtocolCountError:
    return ProtocolCountError(
        f"task {task!r}: {headline}: the protocol needs {quota.train_per_class} train + "
        f"{quota.test_per_class} test images per class, patient-disjoint. Available:\n"
        + "\n".join(_availability(cands, classes))
        + f"\nAsk for a smaller split explicitly, e.g. {_suggestion(cands, classes, quota)} "
          "(recorded as a non-standard protocol).")


def _check_available(cands, classes, quota: Quota, task: str) -> None:
    need = quota.train_per_class + quota.test_per_class
    for c in classes:
        sub = cands[cands["label"] == c]
        test_ok = sub["pool"].isin(["test", "any"]).sum() >= quota.test_per_class
        train_ok = sub["pool"].isin(["train", "any"]).sum() >= quota.train_per_class
        if len(sub) < need or not (test_ok and train_ok):
            raise _protocol_error(cands, classes, quota, task, "the files cannot supply the split")


def _check_filled(chosen: dict[int, str], cands, classes, quota: Quota, task: str) -> None:
    labels = cands["label"].to_numpy()
    for c in classes:
        for side, want in (("train", quota.train_per_class), ("test", quota.test_per_class)):
            got = sum(1 for i, s in chosen.items() if s == side and labels[i] == c)
            if got < want:
                raise _protocol_error(cands, classes, quota, task,
                                      f"only {got} {side} images of {c!r} could be drawn without "
                                      "sharing patients between train and test")
