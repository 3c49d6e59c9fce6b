# Every target does its own set-up and can be run again; see README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

ENV ?= .env

.PHONY: help up down test unit integration engine images browser venv clean \
	lab-venv lab-up lab-down e2e bench bench-venv

# The multi-node path: INVENTORY= real hosts, or empty for a lab of hosts on this machine.
INVENTORY ?=
LAB_INVENTORY := $(if $(INVENTORY),$(INVENTORY),lab/inventory.ini)
ANSIBLE_PLAYBOOK := ANSIBLE_CONFIG=ansible/ansible.cfg $(VENV)/bin/ansible-playbook

help:
	@echo "make up           bring JupyterHub up on this machine's swarm, from $(ENV)"
	@echo "make down         remove it (users' volumes stay; scripts/stack.py remove --volumes removes them)"
	@echo "make test         set up engine, swarm, venv and images, then run unit and integration tests"
	@echo "make unit         unit tests only (no Docker needed)"
	@echo "make lab-up       a swarm of 1 manager + 2 worker hosts on this machine (scripts/lab.py),"
	@echo "                  provisioned by ansible/site.yml from $(ENV); INVENTORY=file: real hosts"
	@echo "make lab-down     remove the lab hosts (with INVENTORY=file: remove the stack there)"
	@echo "make e2e          testinfra smoke tests of the deployed cluster, through the same inventory"
	@echo "make bench        benchmark against dockerspawner's SwarmSpawner and the raw swarm floor"
	@echo "                  (BENCH_NOTEBOOK_N=1,10,30 BENCH_TINY_N=30,100; results in benchmarks/results/)"

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

# The benchmark (benchmarks/): both spawners through a real hub, and the floor; ~20 min.
$(VENV)/.bench-installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

bench-venv: $(VENV)/.bench-installed

bench: venv engine images bench-venv
	$(PY) -m benchmarks.run

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

$(VENV)/.lab-installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,lab]'
	touch $@

lab-venv: $(VENV)/.lab-installed

lab-up: lab-venv images $(ENV)
ifeq ($(INVENTORY),)
	$(PY) scripts/lab.py up --env $(ENV)
endif
	$(ANSIBLE_PLAYBOOK) -i $(LAB_INVENTORY) ansible/site.yml -e env_file=$(abspath $(ENV))
	@$(PY) scripts/lab.py info --inventory $(LAB_INVENTORY) --env $(ENV)

ifeq ($(INVENTORY),)
lab-down: venv
	$(PY) scripts/lab.py down
else
lab-down: lab-venv
	$(VENV)/bin/ansible -i $(INVENTORY) 'managers[0]' -m ansible.builtin.command \
		-a 'python3 scripts/stack.py remove --env .env chdir=/opt/swarmspawner'
endif

e2e: lab-venv
	PATH=$(abspath $(VENV))/bin:$$PATH ANSIBLE_CONFIG=ansible/ansible.cfg \
		$(PYTEST) -q -p no:cacheprovider tests/e2e --hosts='ansible://managers,ansible://workers' \
		--ansible-inventory=$(LAB_INVENTORY) --e2e-env=$(ENV)

clean:
	rm -rf $(VENV) build
