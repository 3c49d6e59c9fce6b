"""OVERLAY_ENCRYPTED=true on a kernel without IPsec ESP (this machine's: "Requested AEAD
algorithm not found"): the playbook stops on every node with a sentence that names the host
and what to do, before anything is changed -- where Docker itself would only warn in its log
and drop the traffic between nodes. On kernels with ESP the switch encrypts the overlay
(tests/integration/test_stack.py deploys it on one node; this kernel cannot carry it further).
"""

from tests.e2e.conftest import run_playbook


def test_encryption_on_a_kernel_without_it_stops_with_a_clear_message(
        env_path, inventory, runner, swarm, env):
    returncode, output = run_playbook(inventory, env_path, "encrypted",
                                      env_path.read_text() + "OVERLAY_ENCRYPTED=true\n", "engine")
    kernel_has_esp = "cannot hold the IPsec" not in output
    if kernel_has_esp and returncode == 0:
        return  # a kernel with ESP: nothing to refuse
    print(output[-2000:])
    assert returncode != 0
    assert "cannot hold the IPsec" in output and "OVERLAY_ENCRYPTED=false" in output
    for host in runner.get_hosts("managers") + runner.get_hosts("workers"):
        assert f"the kernel of {host}" in output
    # Nothing changed: the stack's network is as it was.
    assert "encrypted" not in (swarm.json(f"network inspect {env.NETWORK_NAME}")[0]["Options"] or {})
