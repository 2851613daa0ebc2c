# Two commands on a fresh machine (Python 3.11 and pip): `make sync` and `make test`.
# Each bootstraps .venv from pyproject.toml the first time.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Dagster's run history stays in the repository unless DAGSTER_HOME is set, so `make dev` shows what `make sync` ran.
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: help sync check test dev plan bench clean
.DEFAULT_GOAL := help

help:  ## list the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## /  make \1\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

sync: $(STAMP) $(DAGSTER_HOME)/dagster.yaml  ## the full sync on embedded defaults, with a per-asset summary
	$(BIN)/b2b-sync sync

check: $(STAMP)  ## validate data/mapping.yaml and its export files without running anything
	$(BIN)/b2b-sync check

plan: $(STAMP) $(DAGSTER_HOME)/dagster.yaml  ## dry run: what the next sync would load and send, per target and entity; writes nothing
	$(BIN)/b2b-sync sync --dry-run

test: $(STAMP)  ## the test suite, PostgreSQL path included (scripts/postgres.sh installs and starts it)
	$(BIN)/python -m pytest -n 2 -q

PORT ?= 3000
dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml  ## the Dagster UI over the same state, with the sandboxes running (PORT=3000)
	$(BIN)/b2b-sync dev --port $(PORT)

SCALE ?= M
bench: $(STAMP)  ## scale benchmark beside its floor and a naive script: SCALE=S|M|L (M by default)
	$(BIN)/python -m bench.run --scale $(SCALE)

clean:  ## forget all local state: hub, ledger, sandbox state, run history, reports
	rm -rf data/state data/reports .dagster_home .tmp_pg
