"""What each candidate dependency costs a user: disk (the package and what only it pulls) and import time.

For each package, from this environment's installed metadata: its own size (files in its RECORD), the
packages that only it pulls in (its requirement closure minus the closure of every other core requirement
of cxr: what a user would not install without it) with their sizes, and the median wall time of
``python -c "import X"`` minus that of ``python -c "pass"`` over ``--repeats`` fresh interpreters.

    .venv/bin/python bench/dependency_cost.py [--repeats 7]    # writes bench/out/dependency_cost.json
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "dependency_cost.json"
#: distribution -> import name
CANDIDATES = {"scispacy": "scispacy.abbreviation", "negspacy": "negspacy.negation", "datasets": "datasets",
              "spacy": "spacy"}
#: what a user of the candidate has imported anyway (the spaCy plug-ins need spaCy): the second import time
AFTER = {"scispacy": "spacy", "negspacy": "spacy", "datasets": "pyarrow, pandas", "spacy": "numpy"}
#: core requirements of cxr before this change (pyproject.toml), the baseline the closures are taken against
CORE = ["torch", "torchvision", "timm", "transformers", "safetensors", "spacy", "numpy", "pyarrow", "pandas",
        "pyyaml", "typer", "rich", "tqdm", "pillow", "scikit-learn", "matplotlib", "tensorboard"]


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(dist: str) -> list[str]:
    try:
        reqs = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    out = []
    for r in reqs:
        if ";" in r and "extra" in r.split(";", 1)[1]:
            continue   # extras are not installed by default
        out.append(canon(re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0]))
    return out


def closure(roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = [canon(r) for r in roots]
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        try:
            metadata.distribution(d)
        except metadata.PackageNotFoundError:
            continue
        seen.add(d)
        todo.extend(requirements(d))
    return seen


def size_mb(dist: str) -> float:
    d = metadata.distribution(dist)
    total = 0
    for f in d.files or []:
        p = Path(d.locate_file(f))
        if p.is_file():
            total += p.stat().st_size
    return total / 1e6


def import_seconds(module: str, repeats: int) -> float:
    """Median wall time of ``import module`` in a fresh interpreter, minus an empty interpreter's."""
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - start
    base, full = [], []
    for _ in range(repeats):   # interleaved, so load changes hit both
        base.append(run("pass"))
        full.append(run(f"import {module}"))
    return statistics.median(full) - statistics.median(base)


def import_seconds_after(module: str, before: str, repeats: int) -> float:
    """Median in-process time of ``import module`` once ``before`` is imported (what it adds for its users)."""
    code = f"import time, {before}; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                                  text=True).stdout) for _ in range(repeats))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    results = {}
    for dist, module in CANDIDATES.items():
        others = closure([c for c in CORE if canon(c) != canon(dist)])
        own = closure([dist])
        only = sorted(own - others - {canon(dist)})
        results[dist] = {
            "version": metadata.version(dist),
            "size_mb": round(size_mb(dist), 1),
            "pulls_only_it": {d: round(size_mb(d), 1) for d in only},
            "total_mb": round(size_mb(dist) + sum(size_mb(d) for d in only), 1),
            "import_s": round(import_seconds(module, args.repeats), 3),
            "import_after": AFTER[dist],
            "import_s_after": round(import_seconds_after(module, AFTER[dist], args.repeats), 3),
        }
        r = results[dist]
        print(f"{dist:10s} {r['version']:8s} own {r['size_mb']:6.1f} MB, total {r['total_mb']:6.1f} MB, "
              f"import {r['import_s']:.2f} s ({r['import_s_after']:.2f} s after {AFTER[dist]}); only it pulls: "
              + ", ".join(f"{k} {v} MB" for k, v in r["pulls_only_it"].items()))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
