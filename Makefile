# BotCopier tasks. `make help` lists them. Every target sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup demo test lint format clean goldens mql4-compile

help: ## list the tasks
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "BotCopier needs Python 3.11+")'
	@echo "== setting up $(VENV) (Python packages; first run takes a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## create the venv, install BotCopier and fetch the Kafka jars
	@echo "== Kafka jars (Maven Central, checksums verified; cached after the first run)"
	$(BIN)/botcopier broker fetch

demo: setup ## run the full local demo: broker, topics, an event through Kafka
	$(BIN)/botcopier demo

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint ## lint, then the whole test suite on a real Kafka broker
	$(BIN)/pytest

goldens: $(STAMP) ## rewrite tests/golden/strategy_eas from what `generate` renders now
	$(BIN)/python -m tests.golden_eas

mql4-compile: $(STAMP) ## compile mql4/ and the golden EAs with METAEDITOR=path/metaeditor.exe
	$(BIN)/botcopier mql4-compile mql4 tests/golden/strategy_eas $(if $(METAEDITOR),--metaeditor $(METAEDITOR))

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove the venv and caches (the Kafka jar cache in ~/.cache stays)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
