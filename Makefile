# Every target does its own set-up and can be run again; see README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

ENV ?= .env

.PHONY: help up sync down test unit integration e2e-lab engine images browser oidc venv clean \
	lab-venv e2e lint bench bench-venv bench-lab

# The multi-node path: INVENTORY= real hosts, or empty for a lab of hosts on this machine.
INVENTORY ?=
LAB_INVENTORY := $(if $(INVENTORY),$(INVENTORY),lab/inventory.ini)
ANSIBLE_PLAYBOOK := ANSIBLE_CONFIG=ansible/ansible.cfg $(VENV)/bin/ansible-playbook

help:
	@echo "make up           a swarm of 1 manager + 2 worker hosts on this machine (swarmspawner-lab),"
	@echo "                  provisioned by ansible/site.yml from $(ENV), JupyterHub deployed on it;"
	@echo "                  INVENTORY=file: the same on real hosts"
	@echo "make sync         after editing $(ENV) or its profiles file: every image on the nodes that"
	@echo "                  may run it, then the stack redeployed (INVENTORY=file: real hosts)"
	@echo "make down         remove the lab hosts (with INVENTORY=file: remove the stack there)"
	@echo "make test         set up engine, swarm, venv and images, then run unit, integration and"
	@echo "                  end-to-end tests (a lab of its own, the playbook, testinfra; see e2e-lab)"
	@echo "make unit         unit tests only (no Docker needed)"
	@echo "make lint         yamllint and ansible-lint of the playbook and roles"
	@echo "make e2e          testinfra smoke tests of the deployed cluster, through the same inventory"
	@echo "                  (on the lab also the node-loss test: it stops a worker's engine)"
	@echo "make bench        benchmark against dockerspawner's SwarmSpawner and the raw swarm floor"
	@echo "                  (BENCH_NOTEBOOK_N=1,10,30 BENCH_TINY_N=30,100; results in benchmarks/results/)"
	@echo "make bench-lab    the same on the lab of make up (INVENTORY=file: real hosts): hubs on"
	@echo "                  its first manager, servers on its workers"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

engine:
	bash scripts/engine.sh

images: venv engine
	PY=$(PY) bash scripts/images.sh

# Debian's headless Chromium for the browser tests (no browser download).
browser:
	bash scripts/browser.sh

# The tests' OpenID Connect provider (tests/support/oidc/: oidc-provider from npm).
oidc: tests/support/oidc/node_modules/.package-lock.json

tests/support/oidc/node_modules/.package-lock.json: tests/support/oidc/package-lock.json
	cd tests/support/oidc && npm ci --no-audit --no-fund --loglevel=error

unit: venv
	$(PYTEST) -q tests/unit

integration: venv images browser oidc
	$(PYTEST) -q tests/integration

test: venv engine images browser oidc lab-venv lint
	$(PYTEST) -q --durations=20 tests/unit tests/integration
	bash scripts/e2e_lab.sh

# Only the multi-node part of `make test`: its own lab, the playbook, testinfra, lab removed.
e2e-lab: lab-venv images
	bash scripts/e2e_lab.sh

# The benchmark (benchmarks/): both spawners through a real hub, and the floor; ~25 min.
$(VENV)/.bench-installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

bench-venv: $(VENV)/.bench-installed

bench: venv engine images bench-venv
	$(PY) -m benchmarks.run

# The same on the lab of `make up` (or INVENTORY= real hosts): hubs and the floor on its first
# manager, users' servers on its workers (benchmarks/lab.py).
bench-lab: venv engine images bench-venv lab-venv
	$(PY) -m benchmarks.run --lab $(LAB_INVENTORY)

# A first .env for a lab: the example's defaults, local images by ID, users' servers on
# workers, a generated password (swarmspawner-lab env; LAB_ENV_SET adds settings).
LAB_ENV_SET ?=
$(ENV):
	$(VENV)/bin/swarmspawner-lab env --env $(ENV) $(foreach s,$(LAB_ENV_SET),--set '$(s)')

$(VENV)/.lab-installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,lab]'
	touch $@

lab-venv: $(VENV)/.lab-installed

# The lab's hosts (skipped with INVENTORY=), the playbook, and how to log in.
# LAB_UP_ARGS: more arguments for swarmspawner-lab up (e.g. --images-source registry).
LAB_UP_ARGS ?=
up: lab-venv images $(ENV)
ifeq ($(INVENTORY),)
	$(VENV)/bin/swarmspawner-lab up --env $(ENV) --inventory $(LAB_INVENTORY) $(LAB_UP_ARGS)
endif
	$(ANSIBLE_PLAYBOOK) -i $(LAB_INVENTORY) ansible/site.yml -e env_file=$(abspath $(ENV))
	@$(VENV)/bin/swarmspawner-lab info --inventory $(LAB_INVENTORY) --env $(ENV)

# After an edit of the .env or the profiles file: the images where they may run, then the stack
# (the playbook's images and stack parts only).
sync: lab-venv
	$(ANSIBLE_PLAYBOOK) -i $(LAB_INVENTORY) ansible/site.yml -e env_file=$(abspath $(ENV)) --tags images,isolation,stack

ifeq ($(INVENTORY),)
down: venv
	$(VENV)/bin/swarmspawner-lab down --inventory $(LAB_INVENTORY)
else
down: lab-venv
	$(ANSIBLE_PLAYBOOK) -i $(INVENTORY) ansible/remove.yml
endif

# testinfra through the inventory; on a lab of this machine also the node-loss test.
e2e: lab-venv
	PATH=$(abspath $(VENV))/bin:$$PATH ANSIBLE_CONFIG=ansible/ansible.cfg \
		$(PYTEST) -q --durations=20 -p no:cacheprovider tests/e2e --hosts='ansible://managers,ansible://workers' \
		--ansible-inventory=$(LAB_INVENTORY) --e2e-env=$(ENV) $(if $(INVENTORY),,--e2e-node-loss)

# The playbook and the roles are lint-clean (part of make test).
lint: lab-venv
	$(VENV)/bin/yamllint -s ansible
	cd ansible && PATH=$(abspath $(VENV))/bin:$$PATH ANSIBLE_CONFIG=ansible.cfg ansible-lint -q site.yml remove.yml

clean:
	rm -rf $(VENV) build
