# `make demo` runs the main job, `make test` runs the tests; each creates .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench venv clean postgres

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

test: venv postgres
	MPLBACKEND=Agg $(PY) -m pytest -q -n auto --dist loadfile --durations=15

# The tune tests start a throwaway PostgreSQL server from Debian's package (initdb, pg_ctl);
# as root (CI on a fresh Debian machine) this installs it if it is missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } || \
	  echo "no PostgreSQL (apt-get install postgresql): its tests skip, or fail under CI"

lint: venv
	$(VENV)/bin/ruff check lhyrl tests scripts benchmarks
	$(VENV)/bin/ruff format --check lhyrl tests scripts benchmarks

bench: venv
	$(PY) -m pip install -q -e ".[dev,bench]"
	MPLBACKEND=Agg $(PY) benchmarks/env_throughput.py

clean:
	rm -rf $(VENV) runs
