# Every target does its own set-up and can be run again; see README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

ENV ?= .env

.PHONY: help up down test unit integration e2e-lab engine images browser venv clean \
	lab-venv e2e bench bench-venv

# The multi-node path: INVENTORY= real hosts, or empty for a lab of hosts on this machine.
INVENTORY ?=
LAB_INVENTORY := $(if $(INVENTORY),$(INVENTORY),lab/inventory.ini)
ANSIBLE_PLAYBOOK := ANSIBLE_CONFIG=ansible/ansible.cfg $(VENV)/bin/ansible-playbook

help:
	@echo "make up           a swarm of 1 manager + 2 worker hosts on this machine (scripts/lab.py),"
	@echo "                  provisioned by ansible/site.yml from $(ENV), JupyterHub deployed on it;"
	@echo "                  INVENTORY=file: the same on real hosts"
	@echo "make down         remove the lab hosts (with INVENTORY=file: remove the stack there)"
	@echo "make test         set up engine, swarm, venv and images, then run unit, integration and"
	@echo "                  end-to-end tests (a lab of its own, the playbook, testinfra; see e2e-lab)"
	@echo "make unit         unit tests only (no Docker needed)"
	@echo "make e2e          testinfra smoke tests of the deployed cluster, through the same inventory"
	@echo "                  (on the lab also the node-loss test: it stops a worker's engine)"
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

test: venv engine images browser lab-venv
	$(PYTEST) -q tests/unit tests/integration
	bash scripts/e2e_lab.sh

# Only the multi-node part of `make test`: its own lab, the playbook, testinfra, lab removed.
e2e-lab: lab-venv images
	bash scripts/e2e_lab.sh

# The benchmark (benchmarks/): both spawners through a real hub, and the floor; ~20 min.
$(VENV)/.bench-installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

bench-venv: $(VENV)/.bench-installed

bench: venv engine images bench-venv
	$(PY) -m benchmarks.run

# A first .env for a lab: the example's defaults, local images by ID, users' servers on
# workers, a generated password.
$(ENV):
	cp config/env.example $(ENV)
	sed -i -e 's/^PIN_LOCAL_IMAGES=.*/PIN_LOCAL_IMAGES=true/' \
		-e 's/^PLACEMENT_CONSTRAINTS=.*/PLACEMENT_CONSTRAINTS=node.role == worker/' $(ENV)
	mkdir -p secrets && chmod 700 secrets
	test -s secrets/lab-password || python3 -c "import secrets; print(secrets.token_urlsafe(12))" > secrets/lab-password
	chmod 600 secrets/lab-password

$(VENV)/.lab-installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,lab]'
	touch $@

lab-venv: $(VENV)/.lab-installed

up: lab-venv images $(ENV)
ifeq ($(INVENTORY),)
	$(PY) scripts/lab.py up --env $(ENV)
endif
	$(ANSIBLE_PLAYBOOK) -i $(LAB_INVENTORY) ansible/site.yml -e env_file=$(abspath $(ENV))
	@$(PY) scripts/lab.py info --inventory $(LAB_INVENTORY) --env $(ENV)

ifeq ($(INVENTORY),)
down: venv
	$(PY) scripts/lab.py down
else
down: lab-venv
	$(VENV)/bin/ansible -i $(INVENTORY) 'managers[0]' -m ansible.builtin.command \
		-a 'python3 scripts/stack.py remove --env .env chdir=/opt/swarmspawner'
endif

e2e: lab-venv
	PATH=$(abspath $(VENV))/bin:$$PATH ANSIBLE_CONFIG=ansible/ansible.cfg \
		$(PYTEST) -q -p no:cacheprovider tests/e2e --hosts='ansible://managers,ansible://workers' \
		--ansible-inventory=$(LAB_INVENTORY) --e2e-env=$(ENV) $(if $(INVENTORY),,--e2e-node-loss)

clean:
	rm -rf $(VENV) build
