# Every target bootstraps .venv from requirements.txt when it is missing, so that a fresh clone
# plus one command is all the set-up (README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= smoke
SEED    ?= 0
KERNEL  := rmt-book

.PHONY: book test test-fast notebooks bench reproduce clean

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

## make test-fast: unit tests only
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## make notebooks: execute every notebook of _toc.yml with papermill at PROFILE (default smoke)
notebooks: $(STAMP)
	$(PY) -m rmt_lite.book execute --profile $(PROFILE) --seed $(SEED) --kernel $(KERNEL) $(PARAMS)

## make book: execute the notebooks, then build _build/html with Jupyter Book 1.x (warnings are errors)
book: notebooks
	$(PY) -m rmt_lite.book build

## make reproduce: every run the claims rest on, at PROFILE (use cpu); finished runs are skipped
reproduce: $(STAMP)
	$(PY) -m rmt_lite.reproduce --profile $(PROFILE)

## make bench: the benchmark suite; results land in results/bench/
bench: $(STAMP)
	$(PY) -m rmt_lite.bench

clean:
	rm -rf _build notebooks/_executed
