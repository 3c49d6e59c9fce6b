"""Pure parts of users' storage: the directory's name and making it, a node's usability, the
admin's listing."""

import os
import stat

import pytest

from swarmspawner import storage
from swarmspawner_deploy import envfile, userdata


def test_a_users_directory_is_one_segment_under_the_root():
    assert storage.user_dir("/srv/users", "alice") == "/srv/users/alice"
    for bad in ("", ".", "..", "a/b"):
        with pytest.raises(ValueError):
            storage.user_dir("/srv/users", bad)


def test_making_the_directory_once(tmp_path):
    path = str(tmp_path / "alice")
    assert storage.ensure_user_dir(path, os.getuid(), os.getgid(), 0o700) is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    os.chmod(path, 0o750)  # the admin's change is kept
    assert storage.ensure_user_dir(path, os.getuid(), os.getgid(), 0o700) is False
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o750


def test_no_shared_storage_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not there"):
        storage.ensure_user_dir(str(tmp_path / "missing" / "alice"), 0, 0, 0o700)


def node(state="ready", availability="active"):
    return {"Status": {"State": state}, "Spec": {"Availability": availability},
            "Description": {"Hostname": "w1"}}


@pytest.mark.parametrize("found, problem, remedy", [
    (node(), None, None),
    (node(state="down"), "is down", "start the Docker engine on w1"),
    (node(availability="drain"), "is drained by an admin", "--availability active w1"),
    (node(availability="pause"), "is paused by an admin", "--availability active w1"),
    (None, "no longer part of the swarm", "join it again"),
])
def test_why_a_node_cannot_take_a_server(found, problem, remedy):
    result = storage.node_unusable(found, "w1")
    if problem is None:
        assert result is None
    else:
        assert problem in result[0] and remedy in result[1]


def test_the_admins_listing(tmp_path):
    os.mkdir(tmp_path / "alice", 0o700)
    env = envfile.parse({"USER_STORAGE_PATH": str(tmp_path)}, check_files=False)
    rows = userdata.locations(env, [("alice", {}), ("bob", {})])
    assert rows[0]["directory"] == str(tmp_path / "alice") and rows[0]["mode"] == "0o700"
    assert rows[1]["directory_missing"] is True
    assert "not made yet" in userdata.describe(rows[1])

    env = envfile.parse({"USER_STORAGE": "local"}, check_files=False)
    rows = userdata.locations(env, [
        ("alice", {"": {"volume_node": {"id": "n1", "name": "worker1"}}, "gpu": {}}),
        ("Bob.S", {})])
    assert rows[0] == {"user": "alice", "storage": "local", "volume": "jupyterhub-user-alice",
                       "node": "worker1"}
    assert rows[1]["volume"].startswith("jupyterhub-user-bob-") and rows[1]["node"] is None
    assert "no start so far" in userdata.describe(rows[1])
