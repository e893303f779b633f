# The README's commands. Everything runs inside .venv, which `make setup` creates.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run demo update test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## the demo: build demo.db from the synthetic sample (offline) and show it
demo: setup
	$(BIN)/kratom-evidence demo --db demo.db
	$(BIN)/kratom-evidence stats --db demo.db

## bring evidence.db up to date from PubMed (needs NCBI_EMAIL; NCBI_API_KEY optional)
update: setup
	$(BIN)/kratom-evidence ingest pubmed

## the tests (CI runs exactly this, through .ci/run)
test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
