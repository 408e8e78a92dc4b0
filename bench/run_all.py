"""Run every benchmark under bench/ with its defaults, one after another, and summarise.

Each script measures against its own baseline in the same process and writes bench/out/*.json;
docs/benchmarks.md records the numbers with the machine. A failing script does not stop the others.

    .venv/bin/python bench/run_all.py [--only labeler_speed,eval_speed]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("labeler_accuracy", "padchest_es", "labeler_speed", "cache_read", "train_throughput", "eval_speed",
           "nih_covid_probe")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated script names (default: all)")
    args = parser.parse_args()
    chosen = [s for s in SCRIPTS if not args.only or s in args.only.split(",")]
    status = {}
    for name in chosen:
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        status[name] = (rc, time.perf_counter() - start)
    for name, (rc, seconds) in status.items():
        print(f"{name:18s} {'ok' if rc == 0 else f'FAILED (exit {rc})':16s} {seconds:7.1f} s")
    return 0 if all(rc == 0 for rc, _ in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
