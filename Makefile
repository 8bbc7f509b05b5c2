# Every target bootstraps .venv from requirements.txt when it is missing, so that a fresh clone
# plus one command is all the set-up (README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= smoke
SEED    ?= 0
JOBS    ?= 2
KERNEL  := rmt-book

.PHONY: book test test-fast lint check-book notebooks bench reproduce colab-cells clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (rmt-book)" >/dev/null
	touch $(STAMP)

## make test: the whole pytest suite (unit tests, then the slow end-to-end ones)
test: $(STAMP)
	$(PY) -m pytest -q

## make lint: ruff's lint rules and formatting (pyproject.toml), as CI runs them
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## make test-fast: unit tests only
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## make notebooks: execute every notebook of _toc.yml with papermill at PROFILE (default smoke)
notebooks: $(STAMP)
	$(PY) -m rmt_lite.book execute --profile $(PROFILE) --seed $(SEED) --kernel $(KERNEL) $(PARAMS)

## make book: execute the notebooks, then build _build/html with Jupyter Book 1.x (warnings are errors)
book: notebooks
	$(PY) -m rmt_lite.book build

## make check-book: open every page of _build/html in headless Chromium; fail on a console error, a
## broken image, a visible traceback, parameters cell, glue role, raw TeX or a table wider than the text,
## or a chapter without a figure;
## one screenshot per page in _build/screenshots/
check-book: $(STAMP)
	$(PY) -m rmt_lite.book check

## make reproduce: every run the claims rest on, at PROFILE (use cpu), JOBS runs at a time; finished runs are skipped
reproduce: $(STAMP)
	$(PY) -m rmt_lite.repro.reproduce --profile $(PROFILE) --jobs $(JOBS)

## make bench: the benchmark suite; results land in results/bench/. The peer library it is compared
## with is installed into .bench-peer/ (git-ignored), never into .venv; without it its row is skipped.
BENCH_PEER := .bench-peer
PEER_PKGS  := recurrent-memory-transformer-pytorch==0.7.0 hyper-connections==0.1.15 einops==0.8.2
bench: $(STAMP)
	test -d $(BENCH_PEER)/recurrent_memory_transformer_pytorch || \
	  $(PY) -m pip install --quiet --no-deps --target $(BENCH_PEER) $(PEER_PKGS) || \
	  echo "bench: could not install the peer into $(BENCH_PEER); its row will be skipped"
	$(PY) -m rmt_lite.tools.bench $(BENCH_ARGS)

## make colab-cells: write every notebook's Colab set-up cell from the repository URL and branch in _config.yml
colab-cells: $(STAMP)
	$(PY) -m rmt_lite.book colab

clean:
	rm -rf _build notebooks/_executed
