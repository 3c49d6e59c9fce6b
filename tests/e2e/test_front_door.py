"""The front door on the cluster, in a browser: the lab's stack redeployed with
AUTHENTICATOR=native behind its HTTPS edge (the deployment's own CA, trusted by the browser as a
user who imported it), then a student signs up, the admin approves, the student's server starts
and a notebook cell runs over the kernel's websocket (wss). Screenshots: tests/artifacts/."""

import re
import secrets

import pytest
import requests

from tests.e2e.conftest import STACK_DIR, deploy
from tests.support.browser import ARTIFACTS, home_trusting, launch

# A new admin each run: NativeAuthenticator keeps the accounts of earlier runs.
ADMIN = "prof" + secrets.token_hex(3)


@pytest.fixture(scope="module")
def native_login(manager, env):
    """The stack redeployed with sign-ups (AUTHENTICATOR=native, ADMIN_USERS=ADMIN); then as
    it was."""
    if env.TLS != "internal":
        pytest.skip("the browser trusts the deployment's own CA: TLS=internal")
    changes = {"AUTHENTICATOR": "native", "ADMIN_USERS": ADMIN}
    edits = " ".join(f"-e 's|^{k}=.*|{k}={v}|'" for k, v in changes.items())
    manager.check_output(f"cd {STACK_DIR} && sed {edits} .env > .env.native"
                         " && chmod 600 .env.native")
    deploy(manager, ".env.native")
    yield
    deploy(manager, ".env")
    manager.check_output(f"rm -f {STACK_DIR}/.env.native")


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
    page.wait_for_url(re.compile(rf"/user/{student}/lab"), timeout=240_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
    shot(page, "4-jupyterlab")
    page.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
    cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    cell.click()
    cell.type("print(6 * 7)")
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output").first
    output.wait_for(timeout=120_000)
    assert output.inner_text().strip() == "42"
    shot(page, "5-cell-ran")

