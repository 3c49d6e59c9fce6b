"""The NFS path of the storage role, as far as the lab's kernel goes (it has neither nfsd nor an
NFS client): the export is written, and the play stops with a sentence that says what is missing
and what to do -- on the storage host and on every node -- leaving the mounted files alone.

Lab only (--e2e-node-loss marks a lab the tests may disturb): it installs nfs-kernel-server on
the storage host.
"""

from tests.e2e.conftest import run_playbook


def test_nfs_on_a_kernel_without_it_fails_with_a_clear_message(
        node_loss_enabled, env_path, inventory, runner, node_host, env):
    text = env_path.read_text().replace("STORAGE_FILESYSTEM=sshfs", "STORAGE_FILESYSTEM=nfs")
    returncode, output = run_playbook(inventory, env_path, "nfs", text, "storage")
    print(output[-3000:])
    assert returncode != 0
    assert "The NFS server on" in output and "nfsd" in output and "STORAGE_FILESYSTEM=sshfs" in output
    assert "cannot mount NFS: its kernel has no NFS client" in output

    storage_host = node_host(runner.get_hosts("storage")[0])
    exports = storage_host.file("/etc/exports").content_string
    assert "/srv/swarmspawner/export " in exports and "all_squash" in exports
    # The sshfs mount the cluster runs on is untouched.
    for name in runner.get_hosts("managers") + runner.get_hosts("workers"):
        assert node_host(name).mount_point(env.USER_STORAGE_PATH).filesystem == "fuse.sshfs"
