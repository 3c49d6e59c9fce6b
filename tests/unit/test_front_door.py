"""The front door's settings: what each TLS mode and authenticator needs, what the edge
(Caddy) and the hub are configured with, and which files become secrets."""

import pytest

from swarmspawner_deploy import envfile
from swarmspawner_deploy.edge import caddy_config, internal_ca_id, public_url
from swarmspawner_deploy.login import login_config
from swarmspawner_deploy.stack import file_secrets_part


#: A CA certificate as the deploy reads it (only its bytes matter here).
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBlocal-test-ca\n-----END CERTIFICATE-----\n"


def settings(**values):
    return envfile.parse(values, check_files=False)


def problems(**values):
    with pytest.raises(envfile.EnvError) as error:
        envfile.parse(values, check_files=False)
    return "\n".join(error.value.problems)


def secret(name):
    return f"<{name}>"


# --- what each choice needs, named ----------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ({"TLS": "files"}, ["TLS=files needs TLS_CERT_FILE", "TLS=files needs TLS_KEY_FILE"]),
    ({"TLS": "acme"}, ["PUBLIC_HOST to be a host name in public DNS, not 'localhost'"]),
    ({"TLS": "acme", "PUBLIC_HOST": "hub.example.org", "PUBLIC_PORT": "8443"},
     ["TLS=acme needs PUBLIC_PORT=443"]),
    ({"HTTP_PORT": "8000"}, ["three different ports"]),
    ({"AUTHENTICATOR": "github", "GITHUB_ALLOWED_ORGANIZATIONS": "uni"},
     ["AUTHENTICATOR=github needs OAUTH_CLIENT_ID", "needs OAUTH_CLIENT_SECRET_FILE"]),
    ({"AUTHENTICATOR": "github", "OAUTH_CLIENT_ID": "x", "OAUTH_CLIENT_SECRET_FILE": "s"},
     ["lets nobody in but ADMIN_USERS: set GITHUB_ALLOWED_ORGANIZATIONS, ALLOWED_USERS"]),
    ({"AUTHENTICATOR": "generic", "OAUTH_CLIENT_ID": "x", "OAUTH_CLIENT_SECRET_FILE": "s",
      "ALLOW_ALL_USERS": "true", "TLS": "off"},
     ["needs OAUTH_AUTHORIZE_URL", "needs OAUTH_TOKEN_URL", "needs OAUTH_USERDATA_URL",
      "needs HTTPS for its callback"]),
    ({"AUTHENTICATOR": "ldap", "ALLOW_ALL_USERS": "true"},
     ["AUTHENTICATOR=ldap needs LDAP_SERVER", "needs LDAP_BIND_DN_TEMPLATE or LDAP_SEARCH_BASE"]),
    ({"AUTHENTICATOR": "ldap", "LDAP_SERVER": "ldaps://ldap", "LDAP_SEARCH_BASE": "dc=x",
      "LDAP_SEARCH_USER_DN": "cn=reader,dc=x", "LDAP_INSECURE": "true",
      "LDAP_ALLOWED_GROUPS": "cn=students,dc=x"},
     ["LDAP_SEARCH_USER_DN needs LDAP_SEARCH_PASSWORD_FILE", "contradicts an ldaps://"]),
])
def test_each_missing_or_contradicting_setting_is_named(values, expected):
    found = problems(**values)
    for sentence in expected:
        assert sentence in found


def test_files_named_for_the_chosen_mode_must_exist(tmp_path):
    values = {"TLS": "files", "TLS_CERT_FILE": "hub.crt", "TLS_KEY_FILE": "hub.key",
              "AUTHENTICATOR": "ldap", "LDAP_SERVER": "ldap://ldap", "LDAP_SEARCH_BASE": "dc=x",
              "LDAP_SEARCH_USER_DN": "cn=r,dc=x", "LDAP_SEARCH_PASSWORD_FILE": "ldap-pw",
              "ALLOW_ALL_USERS": "true"}
    with pytest.raises(envfile.EnvError) as error:
        envfile.parse(values, base_dir=str(tmp_path))
    assert error.value.problems == [
        "LDAP_SEARCH_PASSWORD_FILE='ldap-pw': the file is missing or empty",
        "TLS_CERT_FILE='hub.crt': the file is missing or empty",
        "TLS_KEY_FILE='hub.key': the file is missing or empty",
    ]


def test_secret_files_are_those_of_the_chosen_modes_only():
    chosen = settings(TLS="files", TLS_CERT_FILE="c", TLS_KEY_FILE="k", AUTHENTICATOR="native",
                      DUMMY_PASSWORD_FILE="pw", DB_PASSWORD_FILE="db")
    assert [(v, s, svc) for v, _, s, svc in envfile.secret_files(chosen)] == [
        ("DB_PASSWORD_FILE", "db_password", "hub"),
        ("TLS_CERT_FILE", "tls_cert", "edge"), ("TLS_KEY_FILE", "tls_key", "edge")]
    internal = settings()
    assert [(p, s) for _, p, s, _ in envfile.secret_files(internal)] == [
        (envfile.INTERNAL_CA_CERT, "ca_cert"), (envfile.INTERNAL_CA_KEY, "ca_key")]


def test_the_stack_names_secrets_by_version_and_mounts_them_by_their_role():
    part = file_secrets_part("hub1", {"hub": {"ldap_search_password": "hub1_ldap_search_password_ab"},
                                      "edge": {}})
    assert part["services"]["hub"]["secrets"] == [
        {"source": "file_ldap_search_password", "target": "ldap_search_password", "mode": 0o400}]
    assert part["secrets"] == {"file_ldap_search_password":
                               {"external": True, "name": "hub1_ldap_search_password_ab"}}


# --- the edge ---------------------------------------------------------------------------------

def test_public_url_leaves_out_default_ports():
    assert public_url(settings(PUBLIC_HOST="hub.example.org")) == "https://hub.example.org"
    assert public_url(settings(PUBLIC_PORT="18443")) == "https://localhost:18443"
    assert public_url(settings(TLS="off", PUBLIC_PORT="80")) == "http://localhost"


def test_internal_tls_signs_with_the_deployments_ca_and_sends_no_hsts():
    config = caddy_config(settings(PUBLIC_HOST="hub.lab", PUBLIC_PORT="18443", HTTP_PORT="18080"),
                          CA_PEM)
    http = config["apps"]["http"]
    assert (http["http_port"], http["https_port"]) == (18080, 18443)
    server = http["servers"]["edge"]
    assert server["listen"] == [":18443"]
    route = server["routes"][0]
    assert route["match"] == [{"host": ["hub.lab"]}]
    assert [h["handler"] for h in route["handle"]] == ["reverse_proxy"]
    assert config["apps"]["tls"]["automation"]["policies"] == [
        {"subjects": ["hub.lab"], "issuers": [{"module": "internal", "ca": internal_ca_id(CA_PEM)}]}]
    root = config["apps"]["pki"]["certificate_authorities"][internal_ca_id(CA_PEM)]["root"]
    assert root["certificate"] == "/run/secrets/ca_cert"
    # Any other name is sent on to the certificate's; plain HTTP too, port and all.
    fallback = server["routes"][1]["handle"][0]
    assert fallback["headers"]["Location"] == ["https://hub.lab:18443{http.request.uri}"]
    redirect = http["servers"]["redirect"]
    assert redirect["listen"] == [":18080"]
    assert redirect["routes"][0]["handle"][0]["headers"] == fallback["headers"]


def test_a_replaced_ca_is_another_ca_in_caddys_storage():
    """What Caddy keeps per CA (its intermediate, the certificates it signed) is not found
    again under a replaced root; the same root keeps its name from deploy to deploy."""
    other = CA_PEM.replace(b"MIIB", b"MIIC")
    assert internal_ca_id(CA_PEM) == internal_ca_id(CA_PEM)
    assert internal_ca_id(other) != internal_ca_id(CA_PEM)


def test_own_certificate_files_with_hsts_and_no_certificate_management():
    config = caddy_config(settings(TLS="files", TLS_CERT_FILE="c", TLS_KEY_FILE="k"))
    server = config["apps"]["http"]["servers"]["edge"]
    assert server["automatic_https"] == {"disable_redirects": True, "disable_certificates": True}
    assert config["apps"]["tls"]["certificates"]["load_files"] == [
        {"certificate": "/run/secrets/tls_cert", "key": "/run/secrets/tls_key"}]
    headers = server["routes"][0]["handle"][0]
    assert headers["response"]["set"]["Strict-Transport-Security"] == ["max-age=31536000"]
    assert "pki" not in config["apps"]


def test_acme_asks_the_configured_ca():
    config = caddy_config(settings(TLS="acme", PUBLIC_HOST="hub.example.org",
                                   ACME_EMAIL="ops@example.org",
                                   ACME_CA="https://acme.example.org/directory"))
    policy = config["apps"]["tls"]["automation"]["policies"][0]
    assert policy == {"subjects": ["hub.example.org"], "issuers": [
        {"module": "acme", "email": "ops@example.org", "ca": "https://acme.example.org/directory"}]}


# --- the login ---------------------------------------------------------------------------------

def test_native_signup_waits_for_approval_and_admins_are_admins():
    config = login_config(settings(ADMIN_USERS="prof"), secret)
    assert config["JupyterHub"]["authenticator_class"].endswith(".NativeAuthenticator")
    assert config["Authenticator"]["admin_users"] == {"prof"}
    assert config["NativeAuthenticator"]["open_signup"] is False


def test_github_callback_is_the_public_url_and_the_secret_comes_from_its_file():
    config = login_config(settings(
        AUTHENTICATOR="github", OAUTH_CLIENT_ID="abc", OAUTH_CLIENT_SECRET_FILE="s",
        GITHUB_ALLOWED_ORGANIZATIONS="uni-physics", PUBLIC_HOST="hub.example.org",
        ADMIN_USERS="prof"), secret)
    github = config["GitHubOAuthenticator"]
    assert github["oauth_callback_url"] == "https://hub.example.org/hub/oauth_callback"
    assert github["client_secret"] == "<oauth_client_secret>"
    assert github["allowed_organizations"] == {"uni-physics"}
    # Admins can log in whatever the organisations say.
    assert config["Authenticator"]["allowed_users"] == {"prof"}


def test_generic_oauth_reads_names_and_groups_from_the_claims():
    config = login_config(settings(
        AUTHENTICATOR="generic", OAUTH_CLIENT_ID="abc", OAUTH_CLIENT_SECRET_FILE="s",
        OAUTH_AUTHORIZE_URL="https://idp/auth", OAUTH_TOKEN_URL="https://idp/token",
        OAUTH_USERDATA_URL="https://idp/userinfo", OAUTH_ALLOWED_GROUPS="students"), secret)
    generic = config["GenericOAuthenticator"]
    assert generic["allowed_groups"] == {"students"}
    assert generic["auth_state_groups_key"] == "oauth_user.groups"
    assert generic["scope"] == ["openid", "profile", "email"]


@pytest.mark.parametrize("server, strategy, port", [
    ("ldap://ldap.example.org", "before_bind", None),
    ("ldaps://ldap.example.org:1636", "on_connect", 1636),
])
def test_ldap_never_sends_a_password_in_clear_unless_told(server, strategy, port):
    config = login_config(settings(
        AUTHENTICATOR="ldap", LDAP_SERVER=server, LDAP_SEARCH_BASE="ou=people,dc=example,dc=org",
        LDAP_SEARCH_USER_DN="cn=reader,dc=example,dc=org", LDAP_SEARCH_PASSWORD_FILE="pw",
        LDAP_ALLOWED_GROUPS="cn=students,ou=groups,dc=example,dc=org;cn=staff,ou=groups,dc=example,dc=org"),
        secret)
    ldap = config["LDAPAuthenticator"]
    assert ldap["server_address"] == "ldap.example.org" and ldap.get("server_port") == port
    assert ldap["tls_strategy"] == strategy
    assert ldap["lookup_dn"] is True and ldap["lookup_dn_search_password"] == "<ldap_search_password>"
    assert ldap["allowed_groups"] == ["cn=students,ou=groups,dc=example,dc=org",
                                      "cn=staff,ou=groups,dc=example,dc=org"]
