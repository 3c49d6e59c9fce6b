"""The images' health check (docker/healthcheck.py), run as Docker runs it: the system python3
on the script, against real HTTP servers on loopback addresses."""

import http.server
import subprocess
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "docker" / "healthcheck.py"


def check(url):
    return subprocess.run(["/usr/bin/python3", str(SCRIPT), url], capture_output=True, text=True,
                          timeout=30)


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.3 only (as the hub listens on one private address), which
    answers each path's status: /403 with 403, and so on."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(int(self.path.strip("/") or 200))
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.3", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_star_finds_the_one_address_the_server_listens_on(server):
    assert check(f"http://*:{server}/200").returncode == 0
    # Where localhost is not served, a check of localhost could never pass.
    assert check(f"http://localhost:{server}/200").returncode == 1


@pytest.mark.parametrize("status, healthy", [(200, True), (403, True), (404, True),
                                             (500, False), (503, False)])
def test_any_answer_below_500_is_healthy(server, status, healthy):
    assert (check(f"http://127.0.0.3:{server}/{status}").returncode == 0) is healthy


def test_nothing_listening_is_unhealthy_and_says_so(server):
    result = check(f"http://*:{server + 1 if server < 65535 else 1}/")
    assert result.returncode == 1
    assert "nothing listens on port" in result.stderr


def test_a_url_it_cannot_check_is_unhealthy_and_says_so():
    result = check("https://localhost:1/")
    assert result.returncode == 1
    assert "not an http:// URL" in result.stderr
