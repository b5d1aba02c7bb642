# The two commands of the README: `make demo` and `make test`. Each creates/refreshes .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: setup demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: the CPU wheel; a plain `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/xlcorpus demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf demo_out demo_data bench_out .pytest_cache
