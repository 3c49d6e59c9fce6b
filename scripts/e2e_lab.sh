#!/usr/bin/env bash
# The test command's multi-node part: a lab of its own (1 manager + 2 workers on this machine,
# beside any lab `make up` made), provisioned by ansible/site.yml from a test env file, the
# testinfra smoke tests including node loss, then the lab removed again -- pass or fail.
# Needs the venv with the lab extras and the images (make test sees to both).
set -euo pipefail
cd "$(dirname "$0")/.."

export LAB_PREFIX=sse2e LAB_SUBNET=192.168.214.0/24
dir=build/e2e
inventory=$dir/inventory.ini
env_file=$dir/.env
py=.venv/bin/python
started=$SECONDS

# The example's defaults, with what a lab needs: local images, servers on workers, a port of
# its own, a quick poll (the node-loss test waits one poll interval) and a fresh password.
mkdir -p "$dir" && chmod 700 "$dir"
python3 -c "import secrets; print(secrets.token_urlsafe(12))" > "$dir/password"
sed -e 's/^PIN_LOCAL_IMAGES=.*/PIN_LOCAL_IMAGES=true/' \
    -e 's/^PLACEMENT_CONSTRAINTS=.*/PLACEMENT_CONSTRAINTS=node.role == worker/' \
    -e 's/^PUBLIC_PORT=.*/PUBLIC_PORT=18843/' \
    -e 's/^POLL_INTERVAL=.*/POLL_INTERVAL=10/' \
    -e 's/^DUMMY_PASSWORD_FILE=.*/DUMMY_PASSWORD_FILE=password/' \
    config/env.example > "$env_file"
$py -m swarmspawner.envfile check "$env_file"

trap '$py scripts/lab.py down --inventory "$inventory"' EXIT
$py scripts/lab.py up --env "$env_file" --inventory "$inventory" --images-source registry
ANSIBLE_CONFIG=ansible/ansible.cfg .venv/bin/ansible-playbook -i "$inventory" ansible/site.yml \
    -e env_file="$(pwd)/$env_file"
echo "e2e: lab provisioned in $((SECONDS - started)) s"
PATH=$(pwd)/.venv/bin:$PATH ANSIBLE_CONFIG=ansible/ansible.cfg .venv/bin/pytest -q -p no:cacheprovider \
    tests/e2e --hosts='ansible://managers,ansible://workers' --ansible-inventory="$inventory" \
    --e2e-env="$env_file" --e2e-node-loss
echo "e2e: lab, playbook and smoke tests in $((SECONDS - started)) s"
