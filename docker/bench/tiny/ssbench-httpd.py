"""The benchmark's tiny HTTP server: answers 200 on every path, on port 8888.

It stands in for a notebook server where the spawner's own overhead should show: it starts
in a fraction of a second and exits at once on SIGTERM. Arguments a spawner appends
(`--port=...`, `--ip=...`) are accepted; only `--port` is used.
"""

import http.server
import signal
import sys

PORT = 8888
for arg in sys.argv[1:]:
    if arg.startswith("--port="):
        PORT = int(arg.split("=", 1)[1])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ssbench": "ok"}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


def _exit(signum, frame):
    sys.exit(0)


signal.signal(signal.SIGTERM, _exit)
signal.signal(signal.SIGINT, _exit)
server = http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
server.daemon_threads = True
try:
    server.serve_forever()
finally:
    server.server_close()
