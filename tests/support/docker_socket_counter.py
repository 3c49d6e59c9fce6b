"""A proxy in front of the Docker engine's socket that counts the requests through it.

The hub under test is given this proxy's socket instead of the engine's, so a test (or
the benchmark) can see how many API requests the spawner makes, by method and path. For a hub
on another host (the benchmark on the lab), it listens on TCP instead: ``tcp://ADDRESS:PORT``
(port 0: any free one, then in ``url``).
Requests are read with their Content-Length bodies and passed on unchanged; responses
stream back unchanged.
"""

import asyncio
import collections
import contextlib
import os
import re
import threading
import time

_REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.[01]\r\n")
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+")


class DockerSocketCounter:
    def __init__(self, listen_path, engine_path="/var/run/docker.sock"):
        self.listen_path = listen_path
        self.engine_path = engine_path
        #: Where a hub reaches it: tcp://ADDRESS:PORT when it listens on TCP.
        self.url = None
        self.requests = []  # (monotonic time, method, path without query)
        self._lock = threading.Lock()
        self._loop = None
        self._server = None
        self._thread = None

    # --- counting ---------------------------------------------------------------

    def count(self, since=0.0, until=None):
        with self._lock:
            rows = list(self.requests)
        until = until or float("inf")
        return sum(1 for at, _, _ in rows if since <= at < until)

    def by_path(self, since=0.0):
        with self._lock:
            rows = [r for r in self.requests if r[0] >= since]
        return collections.Counter(f"{method} {path}" for _, method, path in rows)

    def _record(self, method, target):
        path = _VERSION_PREFIX.sub("", target.split("?", 1)[0])
        with self._lock:
            self.requests.append((time.monotonic(), method, path))

    # --- proxying ---------------------------------------------------------------

    async def _client_to_engine(self, reader, writer):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            match = _REQUEST_LINE.match(head)
            if match:
                self._record(match.group(1).decode(), match.group(2).decode())
            writer.write(head)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                writer.write(await reader.readexactly(length))
            await writer.drain()

    @staticmethod
    async def _pipe(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    async def _handle(self, client_reader, client_writer):
        engine_reader, engine_writer = await asyncio.open_unix_connection(self.engine_path)
        tasks = [
            asyncio.ensure_future(self._client_to_engine(client_reader, engine_writer)),
            asyncio.ensure_future(self._pipe(engine_reader, client_writer)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except Exception:
            pass
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_writer, engine_writer):
                # At shutdown the loop may already be closed; the sockets go with it.
                with contextlib.suppress(RuntimeError):
                    writer.close()

    def start(self):
        tcp = self.listen_path.startswith("tcp://")
        if not tcp and os.path.exists(self.listen_path):
            os.unlink(self.listen_path)
        ready = threading.Event()

        async def serve():
            self._stopping = asyncio.Event()
            if tcp:
                host, port = self.listen_path[len("tcp://"):].rsplit(":", 1)
                self._server = await asyncio.start_server(self._handle, host, int(port))
                self.url = f"tcp://{host}:{self._server.sockets[0].getsockname()[1]}"
            else:
                self._server = await asyncio.start_unix_server(self._handle, self.listen_path)
                os.chmod(self.listen_path, 0o660)
            ready.set()
            await self._stopping.wait()
            # A clean end: no connection task is left pending when the loop closes.
            self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        def run():
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(serve())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="docker-socket-counter", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self):
        if self._loop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread:
            self._thread.join(10)
