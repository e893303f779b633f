# The README's commands. Everything runs inside .venv, which `make setup` creates.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= evidence.db
HOST   ?= 127.0.0.1
PORT   ?= 8501

.PHONY: setup run demo update test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## the dashboard over evidence.db (a missing or empty database gets a page that says how to fill it)
run: setup
	$(BIN)/kratom-evidence dashboard --db $(DB) --host $(HOST) --port $(PORT)

## the demo: build demo.db from the synthetic sample (offline) and show it in the dashboard
demo: setup
	$(BIN)/kratom-evidence demo --db demo.db
	$(BIN)/kratom-evidence dashboard --db demo.db --host $(HOST) --port $(PORT)

## bring evidence.db up to date from PubMed (needs NCBI_EMAIL; NCBI_API_KEY optional)
update: setup
	$(BIN)/kratom-evidence ingest pubmed

## the tests (CI runs exactly this, through .ci/run)
test: setup
	$(BIN)/python -m pytest

## the dashboard's performance on 100,000 generated records (builds benchmarks/out/bench100k.db once)
bench: setup
	$(BIN)/python benchmarks/dashboard_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
