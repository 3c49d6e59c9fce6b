"""The front door on the cluster. In a browser: the lab's stack redeployed with
AUTHENTICATOR=native behind its HTTPS edge (the deployment's own CA, trusted by the browser as a
user who imported it), then a student signs up, the admin approves, the student's server starts
and a notebook cell runs over the kernel's websocket (wss). Screenshots: tests/artifacts/.
Then with AUTHENTICATOR=ldap and Debian's slapd in a container on the lab's manager."""

import re
import secrets
import subprocess

import pytest
import requests

from tests.e2e.conftest import STACK_DIR, deploy, redeployed
from tests.support import ldap
from tests.support.browser import ARTIFACTS, home_trusting, launch
from tests.support.user import HubUser, browser_session, submit_form

# A new admin each run: NativeAuthenticator keeps the accounts of earlier runs.
ADMIN = "prof" + secrets.token_hex(3)


@pytest.fixture(scope="module")
def native_login(manager, env):
    """The stack redeployed with sign-ups (AUTHENTICATOR=native, ADMIN_USERS=ADMIN); then as
    it was."""
    if env.TLS != "internal":
        pytest.skip("the browser trusts the deployment's own CA: TLS=internal")
    env_file = redeployed(manager, "native", {"AUTHENTICATOR": "native", "ADMIN_USERS": ADMIN})
    yield
    deploy(manager, ".env")
    manager.check_output(f"rm -f {STACK_DIR}/{env_file}")


@pytest.fixture(scope="module")
def browser(hub_ca, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    home = home_trusting(tmp_path_factory.mktemp("browser-home"), hub_ca)
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright, home)
        yield browser
        browser.close()


def new_page(browser):
    page = browser.new_context(viewport={"width": 1200, "height": 850}).new_page()
    page.set_default_timeout(120_000)
    return page


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"e2e-front-door-{name}.png"))


def sign_up(page, hub_url, user, password):
    page.goto(hub_url + "/hub/signup")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.fill("#password_confirmation_input", password)
    page.click("#signup_submit")
    page.wait_for_selector(".alert")


def log_in(page, hub_url, user, password):
    page.goto(hub_url + "/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")


def test_http_is_redirected_to_https(native_login, hub_url, env):
    response = requests.get(f"http://localhost:{env.HTTP_PORT}/hub/login", timeout=10,
                            allow_redirects=False)
    assert response.status_code == 308
    assert response.headers["Location"] == hub_url + "/hub/login"


def test_sign_up_approval_server_and_a_notebook_cell(native_login, browser, hub_url, env):
    student, password = "stu" + secrets.token_hex(3), secrets.token_urlsafe(12)
    admin_password = secrets.token_urlsafe(12)

    page, admin = new_page(browser), new_page(browser)
    try:
        signed_up_approved_and_ran_a_cell(page, admin, hub_url, env, student, password,
                                          admin_password)
    finally:
        # Where each page was, when it ended: the artifacts to look at if this fails.
        shot(page, "student-last")
        shot(admin, "admin-last")


def signed_up_approved_and_ran_a_cell(page, admin, hub_url, env, student, password,
                                      admin_password):
    # Typed without https, as students do: the edge sends the browser on to HTTPS.
    page.goto(f"http://{env.PUBLIC_HOST}:{env.HTTP_PORT}/hub/signup")
    assert page.url.startswith(hub_url), page.url
    sign_up(page, hub_url, student, password)
    assert "sent to the admin" in page.inner_text(".alert")
    shot(page, "1-signed-up")
    log_in(page, hub_url, student, password)
    page.wait_for_selector("text=has not been authorized by an administrator yet")
    shot(page, "2-waiting-for-approval")

    sign_up(admin, hub_url, ADMIN, admin_password)
    log_in(admin, hub_url, ADMIN, admin_password)
    admin.wait_for_url(lambda url: "/hub/login" not in url)  # logged in, sent on
    admin.goto(hub_url + "/hub/authorize")
    admin.click(f"a[href$='authorize/{student}']")
    admin.wait_for_selector(f"a[href$='authorize/{student}']:has-text('Unauthorize')")
    shot(admin, "3-admin-approved")

    log_in(page, hub_url, student, password)
    # The default URL starts the server, then JupyterLab opens.
    page.wait_for_url(re.compile(re.escape(hub_url) + rf"/user/{student}/lab"), timeout=240_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
    shot(page, "4-jupyterlab")
    page.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
    # As a user does: wait until the kernel says it is idle (connected over wss), then run.
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
    cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    cell.click()
    cell.type("print(6 * 7)")
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output").first
    output.wait_for(timeout=120_000)
    assert output.inner_text().strip() == "42"
    shot(page, "5-cell-ran")



# --- an LDAP directory on the lab -------------------------------------------------------------

@pytest.fixture(scope="module")
def directory(pytestconfig, manager, managers, env):
    """slapd in a container on the first manager, on the stack's network as `ldap`; the stack
    redeployed with AUTHENTICATOR=ldap (users' DNs by template); then as it was."""
    if not pytestconfig.option.e2e_node_loss:
        pytest.skip("the directory's container is loaded into the lab's manager (a lab only)")
    image = ldap.build_image()
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    subprocess.run(["docker", "exec", "-i", sorted(managers)[0], "docker", "load", "-q"],
                   stdin=save.stdout, check=True, capture_output=True)
    save.wait()
    manager.check_output(f"docker rm -f ssldap >/dev/null 2>&1; docker run -d --name ssldap"
                         f" --network {env.NETWORK_NAME} --network-alias ldap {image}")
    env_file = redeployed(manager, "ldap", {
        "AUTHENTICATOR": "ldap", "LDAP_SERVER": "ldap://ldap", "LDAP_INSECURE": "true",
        "LDAP_BIND_DN_TEMPLATE": f"uid={{username}},{ldap.PEOPLE}",
        "LDAP_ALLOWED_GROUPS": ldap.STUDENTS})
    yield
    deploy(manager, ".env")
    manager.check_output(f"rm -f {STACK_DIR}/{env_file}; docker rm -f ssldap")


def test_a_directory_user_in_the_group_logs_in_and_spawns(directory, hub_url, hub_ca):
    ann = HubUser(hub_url, *ldap.ANN, verify=hub_ca)
    try:
        ann.start()
        assert ann.contents("GET", "").status_code == 200
    finally:
        if ann.server_model() is not None:
            ann.stop()


@pytest.mark.parametrize("user, password", [("ann", "not-her-password"), ldap.BOB])
def test_a_wrong_password_or_outside_the_group_is_the_normal_login_error(directory, hub_url,
                                                                        hub_ca, user, password):
    response = submit_form(browser_session(hub_ca), hub_url + "/hub/login",
                           {"username": user, "password": password})
    assert response.status_code == 403 and "Invalid username or password" in response.text
