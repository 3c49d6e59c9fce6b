"""A user of a deployed hub, through its public URL only: log in, get a token, use it."""

import json
import time

import requests


def browser_session(verify=True):
    """A requests session as a browser keeps one. verify: a CA file (the deployment's own,
    TLS=internal); the environment's CA bundle (REQUESTS_CA_BUNDLE) must not override it, as
    requests lets it."""
    session = requests.Session()
    session.verify, session.trust_env = verify, False
    return session


def submit_form(session, url, fields):
    """A hub form as a browser sends it: fetched first, its _xsrf cookie's token sent back."""
    session.get(url, timeout=30).raise_for_status()
    xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf")
    return session.post(url, data={**fields, "_xsrf": xsrf}, allow_redirects=False, timeout=30)


class HubUser:
    def __init__(self, base_url, name, password, verify=True):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.verify = verify  # a CA file, or True: see browser_session
        self.session = browser_session(verify)
        self.login(password)
        self.token = self._make_token()

    def login(self, password):
        response = submit_form(self.session, f"{self.base_url}/hub/login",
                               {"username": self.name, "password": password})
        if response.status_code != 302:
            raise AssertionError(f"login failed: {response.status_code} {response.text[:300]}")

    def _make_token(self):
        xsrf = self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies.get("_xsrf")
        response = self.session.post(
            f"{self.base_url}/hub/api/users/{self.name}/tokens",
            json={"note": "tests", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["token"]

    def request(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        headers["Authorization"] = f"token {self.token}"
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("verify", self.verify)
        return requests.request(method, self.base_url + path, headers=headers, **kwargs)

    def page(self, path):
        """A hub page as the user's browser gets it (the login cookie, not a token)."""
        response = self.session.get(self.base_url + path, timeout=30)
        response.raise_for_status()
        return response.text

    def hub_api(self, method, path, **kwargs):
        return self.request(method, "/hub/api" + path, **kwargs)

    def server_model(self):
        return self.hub_api("GET", f"/users/{self.name}").json()["servers"].get("")

    def start(self, timeout=180, user_options=None):
        response = self.hub_api("POST", f"/users/{self.name}/server", json=user_options or {})
        assert response.status_code in (201, 202), response.text
        deadline = time.monotonic() + timeout
        for event in self.progress(timeout):
            if event.get("ready"):
                return event
            if event.get("failed"):
                raise AssertionError(f"spawn failed: {event}")
            if time.monotonic() > deadline:
                break
        model = self.server_model()
        assert model and model["ready"], model
        return model

    def progress(self, timeout=180):
        """The server's progress events, as the spawn page reads them, up to ready or failed."""
        with self.hub_api("GET", f"/users/{self.name}/server/progress", stream=True,
                          timeout=timeout) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    yield event
                    if event.get("ready") or event.get("failed"):
                        return

    def stop(self, timeout=120):
        response = self.hub_api("DELETE", f"/users/{self.name}/server")
        assert response.status_code in (202, 204), response.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server_model() is None:
                return
            time.sleep(0.5)
        raise AssertionError("server did not stop")

    def contents(self, method, path, **kwargs):
        """The user's own server's Contents API, through the proxy."""
        return self.request(method, f"/user/{self.name}/api/contents/{path}", **kwargs)
