from pathlib import Path

import pytest

from swarmspawner_deploy import envfile

REPO = Path(__file__).resolve().parents[2]


def test_example_file_lists_every_variable_with_its_default():
    # config/env.example is generated: swarmspawner-env example
    assert (REPO / "config" / "env.example").read_text() == envfile.example()


def test_defaults_parse(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "lab-password").write_text("a-long-password\n")
    env = tmp_path / ".env"
    env.write_text("")
    settings = envfile.load(str(env))
    assert settings.MEM_LIMIT == 2 * 1024**3
    assert settings.CPU_LIMIT == 1.0
    assert settings.PUBLIC_PORT == 443 and settings.HTTP_PORT == 80
    # A real login and HTTPS unless the admin says otherwise.
    assert settings.AUTHENTICATOR == "native" and settings.TLS == "internal"
    assert settings.PLACEMENT_CONSTRAINTS == []


def test_values_are_parsed_into_their_forms():
    settings = envfile.parse(
        {
            "MEM_GUARANTEE": "512M",
            "PLACEMENT_CONSTRAINTS": "node.role == worker; node.labels.gpu == no",
            "ADMIN_USERS": "ann, ben",
            "VOLUME_DRIVER_OPTIONS": "type=nfs,o=addr=10.0.0.5",
            "ALLOW_NAMED_SERVERS": "no",
            "CPU_LIMIT": "",
        },
        check_files=False,
    )
    assert settings.MEM_GUARANTEE == 512 * 1024**2
    assert settings.PLACEMENT_CONSTRAINTS == ["node.role == worker", "node.labels.gpu == no"]
    assert settings.ADMIN_USERS == ["ann", "ben"]
    assert settings.VOLUME_DRIVER_OPTIONS == {"type": "nfs", "o": "addr=10.0.0.5"}
    assert settings.ALLOW_NAMED_SERVERS is False
    assert settings.CPU_LIMIT is None


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("MEM_LIMIT", "lots", "a size such as 512M or 2G"),
        ("PUBLIC_PORT", "0", "a port number from 1 to 65535"),
        ("PUBLIC_PORT", "http", "a port number from 1 to 65535"),
        ("BOOT_LIMIT_PER_NODE", "-1", "a whole number, 0 or more"),
        ("CPU_LIMIT", "-1", "a number of CPU cores"),
        ("AUTHENTICATOR", "ldap please", "native, github, generic, ldap or dummy"),
        ("TLS", "on", "internal or files or acme or off"),
        ("PUBLIC_HOST", "https://hub.example.org", "a host name such as hub.example.org"),
        ("LDAP_SERVER", "ldap.example.org", "ldap://HOST[:PORT] or ldaps://HOST[:PORT]"),
        ("OAUTH_TOKEN_URL", "example.org/token", "an http:// or https:// URL"),
        ("DB_URL", "postgresql://hub:s3cret@db/hub", "without a password"),
        ("USER_VOLUME", "home", "containing {username}"),
        ("ALLOW_NAMED_SERVERS", "maybe", "true or false"),
        ("DB_URL", "mysql://x", "sqlite:// or postgresql://"),
        ("SQLITE_SYNCHRONOUS", "OFF", "NORMAL or FULL"),
        ("IDLE_TIMEOUT", "1h", "a number of seconds"),
        ("MEM_LMIT", "2G", "not a setting this deployment knows"),
        ("USER_STORAGE", "nfs", "shared or local or none"),
        ("STORAGE_FILESYSTEM", "glusterfs", "nfs or sshfs or existing"),
        ("USER_STORAGE_PATH", "srv/users", "an absolute path on the nodes"),
        ("USER_STORAGE_PATH", "/srv/../etc", "an absolute path on the nodes"),
        ("USER_UID", "jovyan", "a numeric user or group id"),
        ("USER_DIR_MODE", "rwx", "an octal file mode"),
        ("USER_DIR_MODE", "0800", "an octal file mode"),
        ("NFS_EXPORT", "/export/home", "SERVER:/PATH"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_form(name, value, expected):
    with pytest.raises(envfile.EnvError) as error:
        envfile.parse({name: value}, check_files=False)
    assert name in str(error.value) and expected in str(error.value)


def test_storage_settings():
    settings = envfile.parse({"USER_STORAGE_PATH": "/data/users/", "USER_DIR_MODE": "0750",
                              "NFS_EXPORT": "10.0.0.5:/export/jupyterhub"}, check_files=False)
    assert settings.USER_STORAGE == "shared" and settings.USER_VOLUME_TARGET == "/home/jovyan"
    assert settings.USER_STORAGE_PATH == "/data/users"
    assert settings.USER_DIR_MODE == 0o750 and settings.USER_UID == 1000
    assert settings.NFS_EXPORT == "10.0.0.5:/export/jupyterhub"


def test_local_storage_needs_a_volume_name():
    with pytest.raises(envfile.EnvError, match="USER_STORAGE=local needs USER_VOLUME"):
        envfile.parse({"USER_STORAGE": "local", "USER_VOLUME": ""}, check_files=False)


def test_every_problem_is_reported_at_once():
    with pytest.raises(envfile.EnvError) as error:
        envfile.parse({"MEM_LIMIT": "lots", "PUBLIC_PORT": "99999"}, check_files=False)
    assert len(error.value.problems) == 2


def test_a_missing_password_file_is_named(tmp_path):
    with pytest.raises(envfile.EnvError, match="DUMMY_PASSWORD_FILE='secrets/lab-password'"):
        envfile.parse({"AUTHENTICATOR": "dummy"}, base_dir=str(tmp_path))


def test_a_short_lab_password_is_refused(tmp_path):
    (tmp_path / "pw").write_text("short\n")
    with pytest.raises(envfile.EnvError, match="8 characters or more"):
        envfile.parse({"AUTHENTICATOR": "dummy", "DUMMY_PASSWORD_FILE": "pw"},
                      base_dir=str(tmp_path))


def test_an_extra_config_that_is_not_python_is_refused(tmp_path):
    (tmp_path / "extra.py").write_text("c.JupyterHub.load_groups = {}\nc.Spawner.mem_limit = 2G\n")
    with pytest.raises(envfile.EnvError) as error:
        envfile.parse({"HUB_EXTRA_CONFIG": "extra.py"}, base_dir=str(tmp_path))
    [problem] = error.value.problems
    assert problem.startswith("HUB_EXTRA_CONFIG='extra.py': line 2: ")
    assert problem.endswith(": c.Spawner.mem_limit = 2G")  # and Python's word between
    (tmp_path / "extra.py").write_text("c.Spawner.mem_limit = '2G'\n")
    assert envfile.parse({"HUB_EXTRA_CONFIG": "extra.py"}, base_dir=str(tmp_path))


def test_guarantee_above_limit_is_refused():
    with pytest.raises(envfile.EnvError, match="MEM_GUARANTEE is larger than MEM_LIMIT"):
        envfile.parse({"MEM_LIMIT": "1G", "MEM_GUARANTEE": "2G"}, check_files=False)


def test_the_stacks_own_database_leaves_the_url_to_it():
    with pytest.raises(envfile.EnvError) as error:
        envfile.parse({"DB_SERVICE": "postgres", "DB_URL": "postgresql://hub@db.example.org/hub",
                       "DB_PASSWORD_FILE": "db-password"}, check_files=False)
    assert error.value.problems == [
        "DB_SERVICE=postgres runs the hub's database itself: leave DB_URL unset",
        "DB_SERVICE=postgres runs the hub's database itself: leave DB_PASSWORD_FILE unset"]
    with pytest.raises(envfile.EnvError, match="DB_SERVICE='mysql' is not valid: expected none or"
                                               " postgres"):
        envfile.parse({"DB_SERVICE": "mysql"}, check_files=False)


def test_the_database_image_goes_where_the_hub_runs(tmp_path):
    env = tmp_path / ".env"
    env.write_text("")
    settings = envfile.parse({"DB_SERVICE": "postgres", "HUB_CONSTRAINT": "node.labels.hub == yes"},
                             check_files=False)
    assert {"name": "swarmspawner/postgres:latest",
            "placements": [["node.labels.hub == yes"]]} in envfile.images(settings, str(env))
    assert "swarmspawner/postgres:latest" not in [
        image["name"] for image in envfile.images(envfile.parse({}, check_files=False), str(env))]
