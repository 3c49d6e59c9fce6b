# Every target does its own set-up and can be run again; see README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

ENV ?= .env

.PHONY: help up down test unit integration engine images browser venv clean

help:
	@echo "make up           bring JupyterHub up on this machine's swarm, from $(ENV)"
	@echo "make down         remove it (users' volumes stay; scripts/stack.py remove --volumes removes them)"
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

# A first .env for a lab: the example's defaults, local images by ID, a generated password.
$(ENV):
	cp config/env.example $(ENV)
	sed -i 's/^PIN_LOCAL_IMAGES=.*/PIN_LOCAL_IMAGES=true/' $(ENV)
	mkdir -p secrets && chmod 700 secrets
	test -s secrets/lab-password || python3 -c "import secrets; print(secrets.token_urlsafe(12))" > secrets/lab-password
	chmod 600 secrets/lab-password

up: venv images $(ENV)
	$(PY) scripts/stack.py deploy --env $(ENV) --wait
	@echo "Log in with any user name and the password in secrets/lab-password."

down: venv
	$(PY) scripts/stack.py remove --env $(ENV)

clean:
	rm -rf $(VENV) build
