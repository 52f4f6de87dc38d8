# `make demo` runs the main job, `make test` runs the tests; each creates .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench venv clean

venv: $(VENV)/.installed

# torch==2.13.0 first: it is a CPU build that pip finds on this machine's disk; an unpinned
# torch would pull a CUDA build of several GB. pyproject.toml declares a range it satisfies.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

demo: venv
	MPLBACKEND=Agg $(PY) scripts/demo.py

test: venv
	MPLBACKEND=Agg $(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check lhyrl tests scripts benchmarks
	$(VENV)/bin/ruff format --check lhyrl tests scripts benchmarks

bench: venv
	$(PY) -m pip install -q -e ".[dev,bench]"
	MPLBACKEND=Agg $(PY) benchmarks/env_throughput.py

clean:
	rm -rf $(VENV) runs
