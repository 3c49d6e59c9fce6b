# Every target does its own set-up and can be run again; see README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

.PHONY: help test unit integration engine images browser venv clean

help:
	@echo "make test         set up engine, swarm, venv and images, then run unit and integration tests"
	@echo "make unit         unit tests only (no Docker needed)"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

engine:
	bash scripts/engine.sh

images: engine
	bash scripts/images.sh

# Debian's headless Chromium for the browser tests (no browser download).
browser:
	bash scripts/browser.sh

unit: venv
	$(PYTEST) -q tests/unit

integration: venv images browser
	$(PYTEST) -q tests/integration

test: venv engine images browser
	$(PYTEST) -q tests/unit tests/integration

clean:
	rm -rf $(VENV) build
