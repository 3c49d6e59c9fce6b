"""The spawn form and the progress page in headless Chromium, against a real hub on the swarm
(tests/support/browser.py; screenshots in tests/artifacts/).
"""

import re
import time

import pytest

from tests.support.browser import ARTIFACTS, launch
from tests.support.profiles import assert_medium_profile

from .conftest import service_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def log_in(page, hub, user):
    hub.ensure_user(user)
    page.goto(hub.url("/hub/login"))
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(r"/(hub|user)/"))


def progress_log(page):
    return page.eval_on_selector_all(".progress-log-event", "els => els.map(e => e.textContent)")


def test_pick_a_profile_watch_progress_and_land_in_lab(
    page, profiles_hub, docker_client, hub_id, alt_image
):
    hub, user = profiles_hub, "browser-ann"
    log_in(page, hub, user)

    page.goto(hub.url(f"/hub/spawn/{user}"))
    form = page.locator("#spawn_form")
    for name in ("Small (0.5 CPU, 256 MB)", "Medium on the manager", "GPU node (none in this lab)"):
        assert form.get_by_text(name, exact=True).is_visible()
    assert page.is_checked("#profile-small")  # the default profile
    page.check("#profile-medium")
    page.select_option("select[name='profile-option-medium--memory']", "512m")
    page.screenshot(path=str(ARTIFACTS / "spawn-form.png"), full_page=True)

    page.click("#spawn_form button[type=submit]")
    page.wait_for_url(re.compile(rf"/hub/spawn-pending/{user}"))
    # The spawner's own progress, as it happens: screenshot at the first node event.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.progress-log-event')]"
        ".some(e => /on node/.test(e.textContent))"
        " && (document.getElementById('progress-details').open = true)"
    )
    page.screenshot(path=str(ARTIFACTS / "spawn-progress.png"), full_page=True)
    events = progress_log(page)
    assert any(re.search(r"(Assigned to|Preparing on|Running on) node", e) for e in events), events

    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=120_000)
    page.wait_for_load_state("domcontentloaded")

    service = service_of(docker_client, hub_id + "-profiles", user)
    task = service.attrs["Spec"]["TaskTemplate"]
    assert_medium_profile(task, alt_image)
    hub.stop(user)
    assert service_of(docker_client, hub_id + "-profiles", user) is None


def test_a_failed_spawn_shows_the_reason(page, profiles_hub, docker_client, hub_id):
    hub, user = profiles_hub, "browser-bob"
    log_in(page, hub, user)
    page.goto(hub.url(f"/hub/spawn/{user}"))
    page.check("#profile-nowhere")
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url(re.compile(rf"/hub/spawn-pending/{user}"))
    page.wait_for_selector("#progress-bar.bg-danger")
    message = page.text_content("#progress-message")
    assert "scheduling constraints not satisfied" in message, message
    page.screenshot(path=str(ARTIFACTS / "spawn-progress-failed.png"), full_page=True)
    assert service_of(docker_client, hub_id + "-profiles", user) is None


def test_a_server_that_cannot_start_shows_its_own_error_line(page, profiles_hub, docker_client,
                                                            hub_id):
    hub, user = profiles_hub, "browser-nora"
    log_in(page, hub, user)
    page.goto(hub.url(f"/hub/spawn/{user}"))
    page.check("#profile-nocommand")
    started = time.monotonic()
    page.click("#spawn_form button[type=submit]")
    # A start that fails before JupyterHub's slow_spawn_timeout comes back on the form; a
    # slower one on the progress page.
    shown = page.wait_for_selector("#progress-bar.bg-danger, .spawn-error-msg")
    failed_after = time.monotonic() - started
    message = page.text_content("#progress-message" if "progress-bar" in (
        shown.get_attribute("id") or "") else ".spawn-error-msg")
    assert "exec /usr/local/bin/no-such-command failed: No such file or directory" in message, \
        message
    page.screenshot(path=str(ARTIFACTS / "spawn-progress-failed-command.png"), full_page=True)
    print(f"\nthe failed start showed the server's own error after {failed_after:.1f} s")
    assert service_of(docker_client, hub_id + "-profiles", user) is None


def test_a_bad_form_is_shown_again_with_the_reason(page, profiles_hub, docker_client, hub_id):
    hub, user = profiles_hub, "browser-cy"
    log_in(page, hub, user)
    page.goto(hub.url(f"/hub/spawn/{user}"))
    page.check("#profile-medium")
    page.select_option("select[name='profile-option-medium--memory']", "--unlisted-choice")
    page.fill("input[name='profile-option-medium--memory--unlisted-choice']", "64000")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#spawn_form button[type=submit]")
    assert posted.value.status == 400
    error = page.text_content(".spawn-error-msg")
    assert "memory--unlisted-choice" in error, error
    # The form comes back as the user left it.
    assert page.is_checked("#profile-medium")
    assert page.input_value("input[name='profile-option-medium--memory--unlisted-choice']") == "64000"
    page.screenshot(path=str(ARTIFACTS / "spawn-form-error.png"), full_page=True)
    time.sleep(1)
    assert service_of(docker_client, hub_id + "-profiles", user) is None
    assert hub.server(user) is None
