"""The front door, as an admin deploys it from the .env and users meet it: HTTPS at the edge
(Caddy) with the deployment's own CA or the admin's certificate, and real logins (sign-up with
approval, an LDAP directory, OAuth). Real parts: the deploy command, a single-node swarm,
Caddy, JupyterHub, Debian's slapd, an OpenID Connect provider (oidc-provider, from npm) and
headless Chromium. (Through a browser on the lab: tests/e2e/test_front_door.py.)"""

import base64
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import docker
import pytest
import requests

from swarmspawner_deploy.envfile import INTERNAL_CA_CERT
from tests.support import ldap
from tests.support.browser import ARTIFACTS, home_trusting, launch, open_page
from tests.support.tls import own_certificate, served_certificate
from tests.support.user import HubUser, browser_session, submit_form
from tests.support.wait import wait_for

from .test_stack import stack_cmd, write_env

pytestmark = pytest.mark.integration

HOST = "localhost"


def ports():
    base = 20000 + secrets.randbelow(900) * 3
    return {"PUBLIC_PORT": str(base), "HTTP_PORT": str(base + 1), "INTERNAL_PORT": str(base + 2)}


def stack_configs(client, stack):
    """Every Docker config of the stack's services, decoded as `docker config inspect` shows."""
    found = []
    for service in client.services.list(filters={"label": f"com.docker.stack.namespace={stack}"}):
        for ref in service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"].get("Configs", []):
            config = client.configs.get(ref["ConfigID"])
            found.append((config.name, base64.b64decode(config.attrs["Spec"]["Data"]).decode()))
    return found


def deploy(folder, values):
    write_env(folder / ".env", **values)
    result = stack_cmd("deploy", "--env", str(folder / ".env"), "--wait")
    return result.stdout


# --- the deployment's own CA, and sign-up with an admin's approval -----------------------------

@pytest.fixture(scope="class")
def native(tmp_path_factory):
    folder = tmp_path_factory.mktemp("native")
    name = "ssfront" + secrets.token_hex(2)
    values = dict(STACK_NAME=name, NETWORK_NAME=f"{name}-net", HUB_DATA_VOLUME=f"{name}-data",
                  PIN_LOCAL_IMAGES="true", USER_STORAGE="none", MEM_LIMIT="512M",
                  ADMIN_USERS="prof", **ports())  # TLS=internal, AUTHENTICATOR=native: defaults
    output = deploy(folder, values)
    url = f"https://{HOST}:{values['PUBLIC_PORT']}"
    yield {"folder": folder, "values": values, "url": url, "output": output, "name": name,
           "ca": str(folder / INTERNAL_CA_CERT)}
    stack_cmd("remove", "--env", str(folder / ".env"), "--volumes", check=False)


class TestInternalCaAndSignUp:
    def test_the_deploy_names_the_url_and_the_ca_to_trust(self, native):
        assert f"JupyterHub: {native['url']}/" in native["output"]
        assert f"trust {native['ca']}" in native["output"]
        assert "WARNING" not in native["output"]  # a real login: no dummy warning

    def test_https_with_the_printed_ca_and_http_redirected(self, native):
        health = browser_session(native["ca"]).get(native["url"] + "/hub/health", timeout=10)
        assert health.status_code == 200
        # Not trusted without the deployment's CA; no HSTS for a certificate of its own.
        with pytest.raises(requests.exceptions.SSLError):
            browser_session(True).get(native["url"] + "/hub/health", timeout=10)
        assert "Strict-Transport-Security" not in health.headers
        http = f"http://{HOST}:{native['values']['HTTP_PORT']}/hub/login?next=%2Fhub%2F"
        response = browser_session(True).get(http, allow_redirects=False, timeout=10)
        assert response.status_code == 308
        assert response.headers["Location"] == native["url"] + "/hub/login?next=%2Fhub%2F"

    def test_sign_up_waits_for_the_admins_approval(self, native):
        url, ca = native["url"], native["ca"]
        admin, student = browser_session(ca), browser_session(ca)
        # The admin named in ADMIN_USERS signs up first and is approved at once.
        response = submit_form(admin, url + "/hub/signup", {
            "username": "prof", "signup_password": "correct-horse-42",
            "signup_password_confirmation": "correct-horse-42"})
        assert response.status_code == 200 and "alert-success" in response.text
        response = submit_form(student, url + "/hub/signup", {
            "username": "sam", "signup_password": "battery-staple-7",
            "signup_password_confirmation": "battery-staple-7"})
        assert "Your information has been sent to the admin" in response.text
        # Before approval: the login form says so, and no session.
        response = submit_form(student, url + "/hub/login", {"username": "sam",
                                                         "password": "battery-staple-7"})
        assert response.status_code != 302
        assert "has not been authorized by an administrator yet" in response.text
        # The admin logs in and approves.
        response = submit_form(admin, url + "/hub/login", {"username": "prof",
                                                       "password": "correct-horse-42"})
        assert response.status_code == 302
        page = admin.get(url + "/hub/authorize", timeout=30)
        assert page.status_code == 200 and "sam" in page.text
        assert admin.get(url + "/hub/authorize/sam", timeout=30).status_code == 200
        # Now sam logs in, starts a server and reaches it over HTTPS.
        sam = HubUser(url, "sam", "battery-staple-7", verify=ca)
        sam.start()
        assert sam.contents("GET", "").status_code == 200
        sam.stop()
        # A wrong password is the login form's normal error, and no session.
        response = submit_form(browser_session(ca), url + "/hub/login", {"username": "sam",
                                                             "password": "wrong-password"})
        assert response.status_code != 302 and "Invalid username or password" in response.text

    def test_a_restarted_edge_keeps_its_certificate_authority(self, native, docker_client):
        subprocess.run(["docker", "service", "update", "--force", "--detach",
                        f"{native['name']}_edge"], check=True, capture_output=True)
        # The same CA file still verifies the new edge's certificate.
        assert wait_for(lambda: browser_session(native["ca"]).get(
            native["url"] + "/hub/health", timeout=5).status_code == 200, timeout=90,
            ignore=(requests.RequestException,))

    def test_no_config_of_the_stack_holds_a_secret(self, native, docker_client):
        key = (native["folder"] / "secrets" / "internal-ca.key").read_text().strip()
        configs = stack_configs(docker_client, native["name"])
        assert {name.split("_")[1] for name, _ in configs} == {"env", "caddy", "profiles"}
        for name, data in configs:
            assert key.splitlines()[1] not in data, name

    def test_a_replaced_ca_signs_the_certificate_after_the_next_deploy(self, native):
        """The admin replaces the CA (its key leaked, or the deploy folder was made anew): the
        edge's volume still holds what the old CA signed, and must not serve it."""
        old_ca = Path(native["ca"]).read_bytes()
        for name in ("internal-ca.crt", "internal-ca.key"):
            (native["folder"] / "secrets" / name).unlink()
        output = deploy(native["folder"], native["values"])
        assert Path(native["ca"]).read_bytes() != old_ca
        assert f"trust {native['ca']}" in output
        assert wait_for(lambda: browser_session(native["ca"]).get(
            native["url"] + "/hub/health", timeout=5).status_code == 200, timeout=90,
            ignore=(requests.RequestException,))


# --- the admin's own certificate, an LDAP directory, and OAuth's configuration ----------------

@pytest.fixture(scope="class")
def directory(tmp_path_factory, docker_client):
    folder = tmp_path_factory.mktemp("ldap")
    name = "ssldap" + secrets.token_hex(2)
    image = ldap.build_image()
    network = docker_client.networks.create(f"{name}-net", driver="overlay", attachable=True)
    slapd = docker_client.containers.create(image, name=f"{name}-ldap")
    network.connect(slapd, aliases=["ldap"])  # the hub finds the directory as ldap
    slapd.start()
    certificate = own_certificate(folder, HOST)
    (folder / "ldap-reader").write_text(ldap.READER[1] + "\n")
    (folder / "extra.py").write_text("# a token only the hub may read: extra-config-7f3a9c\n")
    values = dict(STACK_NAME=name, NETWORK_NAME=f"{name}-net", HUB_DATA_VOLUME=f"{name}-data",
                  PIN_LOCAL_IMAGES="true", USER_STORAGE="none", MEM_LIMIT="512M", **ports(),
                  TLS="files", TLS_CERT_FILE="hub.crt", TLS_KEY_FILE="hub.key",
                  HUB_EXTRA_CONFIG="extra.py",
                  AUTHENTICATOR="ldap", LDAP_SERVER="ldap://ldap", LDAP_INSECURE="true",
                  LDAP_SEARCH_BASE=ldap.PEOPLE, LDAP_SEARCH_USER_DN=ldap.READER[0],
                  LDAP_SEARCH_PASSWORD_FILE="ldap-reader", LDAP_ALLOWED_GROUPS=ldap.STUDENTS,
                  ADMIN_USERS=ldap.CAT[0])
    deploy(folder, values)
    yield {"folder": folder, "values": values, "name": name, "certificate": certificate,
           "url": f"https://{HOST}:{values['PUBLIC_PORT']}", "ca": str(folder / "ca.crt")}
    slapd.remove(force=True)
    stack_cmd("remove", "--env", str(folder / ".env"), "--volumes", check=False)


class TestOwnCertificateAndLdap:
    def test_the_configured_certificate_is_served_with_hsts(self, directory):
        port = int(directory["values"]["PUBLIC_PORT"])
        assert served_certificate(HOST, port, directory["ca"]) == directory["certificate"]
        health = browser_session(directory["ca"]).get(directory["url"] + "/hub/health", timeout=10)
        assert health.headers["Strict-Transport-Security"] == "max-age=31536000"

    def test_a_directory_user_in_the_group_logs_in_and_spawns(self, directory):
        ann = HubUser(directory["url"], *ldap.ANN, verify=directory["ca"])
        ann.start()
        assert ann.contents("GET", "").status_code == 200
        ann.stop()

    def test_an_admin_outside_the_group_logs_in_as_admin(self, directory):
        cat = HubUser(directory["url"], *ldap.CAT, verify=directory["ca"])
        assert cat.hub_api("GET", "/user").json()["admin"] is True

    @pytest.mark.parametrize("user, password", [("ann", "not-her-password"), ldap.BOB,
                                                ("nobody", "whatever-1234")])
    def test_wrong_password_or_outside_the_group_is_the_normal_login_error(self, directory, user,
                                                                           password):
        response = submit_form(browser_session(directory["ca"]), directory["url"] + "/hub/login",
                          {"username": user, "password": password})
        assert response.status_code == 403
        assert "Invalid username or password" in response.text

    def test_no_config_of_the_stack_holds_a_secret(self, directory, docker_client):
        folder = directory["folder"]
        secret_values = [ldap.READER[1], "extra-config-7f3a9c",
                         (folder / "hub.key").read_text().splitlines()[1]]
        for name, data in stack_configs(docker_client, directory["name"]):
            for value in secret_values:
                assert value not in data, name
        # The stack file's services name no secret value in their environment either.
        for service in docker_client.services.list(
                filters={"label": f"com.docker.stack.namespace={directory['name']}"}):
            environment = " ".join(service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"].get(
                "Env", []))
            assert not any(value in environment for value in secret_values), service.name

    @pytest.mark.parametrize("kind, extra, authorize", [
        ("generic", {"OAUTH_AUTHORIZE_URL": "https://idp.example.org/auth",
                     "OAUTH_TOKEN_URL": "https://idp.example.org/token",
                     "OAUTH_USERDATA_URL": "https://idp.example.org/userinfo",
                     "OAUTH_ALLOWED_GROUPS": "students"}, "https://idp.example.org/auth"),
        ("github", {"GITHUB_ALLOWED_ORGANIZATIONS": "example-uni"},
         "https://github.com/login/oauth/authorize"),
    ])
    def test_oauth_sends_users_to_the_provider_with_the_public_callback(
            self, directory, docker_client, kind, extra, authorize):
        """No OAuth provider can be reached from here: the hub starts with the generated
        configuration and sends a user to the provider as it would."""
        folder, name = directory["folder"], directory["name"]
        (folder / "oauth-secret").write_text("client-secret-5d1e\n")
        values = {k: v for k, v in directory["values"].items() if not k.startswith("LDAP_")}
        values.update(AUTHENTICATOR=kind, OAUTH_CLIENT_ID="swarmspawner-test",
                      OAUTH_CLIENT_SECRET_FILE="oauth-secret", **extra)
        deploy(folder, values)
        s = browser_session(directory["ca"])
        response = wait_for(lambda: s.get(directory["url"] + "/hub/oauth_login", timeout=10,
                                          allow_redirects=False), timeout=60,
                            ignore=(requests.RequestException,))
        assert response.status_code == 302, response.text[:300]
        location = urlparse(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == authorize
        query = parse_qs(location.query)
        assert query["client_id"] == ["swarmspawner-test"]
        assert query["redirect_uri"] == [directory["url"] + "/hub/oauth_callback"]
        assert "client-secret-5d1e" not in str(stack_configs(docker_client, name))


# --- a real OpenID Connect provider --------------------------------------------------------------

OIDC = Path(__file__).resolve().parents[1] / "support" / "oidc"


@pytest.fixture(scope="class")
def provider_and_hub(tmp_path_factory, docker_client):
    """oidc-provider on this machine at the swarm's gateway address (which the browser here and
    the hub's container both reach), and a stack with AUTHENTICATOR=generic using it."""
    if not (OIDC / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the OpenID Connect provider is not installed: make oidc (part of make test)")
    folder = tmp_path_factory.mktemp("oidc")
    name = "ssoidc" + secrets.token_hex(2)
    values = dict(STACK_NAME=name, NETWORK_NAME=f"{name}-net", HUB_DATA_VOLUME=f"{name}-data",
                  PIN_LOCAL_IMAGES="true", USER_STORAGE="none", MEM_LIMIT="512M", **ports())
    url = f"https://{HOST}:{values['PUBLIC_PORT']}"
    gateway = docker_client.networks.get("docker_gwbridge").attrs["IPAM"]["Config"][0]["Gateway"]
    port = 21000 + secrets.randbelow(900)
    issuer = f"http://{gateway}:{port}"
    client_secret = secrets.token_hex(16)
    process = subprocess.Popen(
        ["node", str(OIDC / "provider.mjs"), issuer, gateway, str(port), "swarmspawner-test",
         client_secret, url + "/hub/oauth_callback"],
        cwd=OIDC, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: requests.get(issuer + "/.well-known/openid-configuration",
                                             timeout=2).ok, timeout=30,
                        ignore=(requests.RequestException,)), "the provider did not start"
        (folder / "oauth-secret").write_text(client_secret + "\n")
        values.update(AUTHENTICATOR="generic", OAUTH_CLIENT_ID="swarmspawner-test",
                      OAUTH_CLIENT_SECRET_FILE="oauth-secret", OAUTH_AUTHORIZE_URL=issuer + "/auth",
                      OAUTH_TOKEN_URL=issuer + "/token", OAUTH_USERDATA_URL=issuer + "/me",
                      OAUTH_ALLOWED_GROUPS="students", OAUTH_LOGIN_SERVICE="Test IdP")
        deploy(folder, values)
        yield {"url": url, "ca": str(folder / INTERNAL_CA_CERT), "folder": folder}
    finally:
        process.terminate()
        process.wait(timeout=10)
        stack_cmd("remove", "--env", str(folder / ".env"), "--volumes", check=False)


@pytest.fixture(scope="class")
def oidc_browser(provider_and_hub, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    home = home_trusting(tmp_path_factory.mktemp("browser-home"), provider_and_hub["ca"])
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright, home)
        yield browser
        browser.close()


def log_in_at_the_provider(browser, hub_url, user, next_url="/hub/home"):
    page = browser.new_context(viewport={"width": 1100, "height": 850}).new_page()
    page.set_default_timeout(60_000)
    # What went wrong in the page, for the failure's message.
    page.problems = []
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"{r.status}: {r.url}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.goto(f"{hub_url}/hub/login?next={next_url}")
    page.click("text=Sign in with Test IdP")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", "any")  # the provider's development login
    page.click("button[type=submit]")
    page.click("button[type=submit]:has-text('Continue')")  # the consent
    page.wait_for_url(re.compile(re.escape(hub_url)))
    return page


class TestOpenIdConnect:
    def test_a_user_in_the_allowed_group_logs_in_through_the_provider_and_spawns(
            self, provider_and_hub, oidc_browser):
        url = provider_and_hub["url"]
        page = log_in_at_the_provider(oidc_browser, url, "ann")
        page.wait_for_url(url + "/hub/home")
        # The server started with the browser's own login (cookie and _xsrf), as the home page's
        # button does; then JupyterLab opened (open_page says why it may take a reload).
        browser_login = browser_session(provider_and_hub["ca"])
        for cookie in page.context.cookies():
            browser_login.cookies.set(cookie["name"], cookie["value"], path=cookie["path"])
        xsrf = {"X-XSRFToken": browser_login.cookies.get("_xsrf")}
        response = browser_login.post(url + "/hub/api/users/ann/server", headers=xsrf, timeout=30)
        assert response.status_code in (201, 202), response.text
        assert wait_for(lambda: (browser_login.get(url + "/hub/api/users/ann", headers=xsrf,
                                                   timeout=10).json()["servers"]
                                 .get("", {}).get("ready")), timeout=180)
        try:
            open_page(page, url + "/user/ann/lab", ".jp-LauncherCard")
        except Exception as e:
            raise AssertionError("\n".join([str(e), *page.problems[-20:]])) from None
        finally:
            page.screenshot(path=str(ARTIFACTS / "oidc-ann-jupyterlab.png"))

    def test_a_user_outside_the_allowed_groups_is_refused(self, provider_and_hub, oidc_browser):
        page = log_in_at_the_provider(oidc_browser, provider_and_hub["url"], "bob")
        page.wait_for_selector("text=not currently authorized to use this hub")
        page.screenshot(path=str(ARTIFACTS / "oidc-bob-refused.png"))
        assert "/user/bob" not in page.url


def test_a_wrong_front_door_setting_is_named_and_nothing_deployed(tmp_path, docker_client):
    name = "ssbad" + secrets.token_hex(2)
    env = tmp_path / ".env"
    write_env(env, STACK_NAME=name, NETWORK_NAME=f"{name}-net", TLS="acme",
              AUTHENTICATOR="ldap", LDAP_SERVER="ldaps://ldap.example.org")
    result = stack_cmd("deploy", "--env", str(env), check=False)
    assert result.returncode == 1
    for expected in ("TLS=acme needs PUBLIC_HOST to be a host name in public DNS",
                     "AUTHENTICATOR=ldap needs LDAP_BIND_DN_TEMPLATE or LDAP_SEARCH_BASE",
                     "AUTHENTICATOR=ldap lets nobody in but ADMIN_USERS", "nothing was deployed"):
        assert expected in result.stderr, result.stderr
    assert not docker_client.services.list(filters={"label": f"com.docker.stack.namespace={name}"})
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(f"{name}-net")
    assert not re.search(name, " ".join(s.name for s in docker_client.secrets.list()))
